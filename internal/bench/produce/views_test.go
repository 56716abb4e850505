package produce

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/javaperf"
	"github.com/kpar/kpar/internal/results"
)

func sample() Result {
	f := func(v float64) *float64 { return &v }
	st := func(n int, rps, broker float64) Step {
		return Step{Producers: n, Mode: "in-process", Records: 1000, Acked: 1000, ReachedTopic: 1000,
			ElapsedSeconds: 1000 / rps, RecordsPerSec: rps, MBPerSec: rps * 150 / 1e6, LatencyP50Ms: 2, LatencyP99Ms: 9, LatencyP999Ms: 20,
			BenchCPUSeconds: 0.5, BrokerCPUSeconds: f(broker)}
	}
	steps := []Step{st(1, 100000, 0.3), st(2, 180000, 0.5), st(4, 190000, 0.55)}
	sat := FindSaturation(steps)
	r := Result{Header: results.Header{Schema: Schema, Version: Version, Started: time.Unix(0, 0)}, Host: Host{Cores: 2},
		Broker: Broker{Seeds: []string{"127.0.0.1:29092"}, Local: true, PIDs: []int{42}, CPU: "proc"},
		Input:  Input{File: "e.csv", Records: 1000, PayloadBytes: 150000, KeyColumn: "customer_id", Value: "raw", LoadSeconds: 0.001, LoadRecordsSec: 1e6},
		Repeat: 1, Sweeps: []Sweep{{Label: "acks=all", Mode: "in-process", Settings: Settings{Acks: "all"}, Steps: steps,
			Saturation: sat, Bottleneck: FindBottleneck(steps, sat, 2, 12)}}}
	j := &JavaComparison{Records: 1000, Java: javaperf.Result{Records: 1000, RecordsPerSec: 80000, CPUSeconds: 4},
		Go: Anchor{Sample: Sample{Acked: 1000, ElapsedNs: int64(10 * time.Millisecond)}, ProcessCPUSeconds: 0.2}}
	j.Compute()
	r.Java = j
	return r
}

func TestSummarySentencesFollowTheData(t *testing.T) {
	md := Summary(sample())
	for _, want := range []string{
		"1 producer(s): 100.0k records/s", "4 producers: 190.0k records/s (28.5 MB/s), 1.90x the first step",
		"Saturation at 2 producer(s): going to 4 added +5.6%",
		"reading ran at 5.3x the best producer rate",
		"Every acked record is on the topic",
		"Go/Java ratio: 1.25x the records/s, 0.05x the CPU-s per million records. One kpar producer met the goal",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}
}

func TestJavaRatiosAreGoOverJava(t *testing.T) {
	j := sample().Java
	if j.GoRecordsPerSec != 100000 || j.RecordsPerSecRatio != 1.25 {
		t.Fatalf("go %v records/s, ratio %v", j.GoRecordsPerSec, j.RecordsPerSecRatio)
	}
	if j.GoCPUPerMillion != 200 || j.JavaCPUPerMillion != 4000 || j.CPUPerMillionRatio != 0.05 {
		t.Fatalf("cpu/M go %v java %v ratio %v", j.GoCPUPerMillion, j.JavaCPUPerMillion, j.CPUPerMillionRatio)
	}
}

func TestWriteProducesEveryFileAndNoTemporaries(t *testing.T) {
	dir := t.TempDir()
	if _, err := results.Write(dir, DataFile, sample(), Views(sample())...); err != nil {
		t.Fatal(err)
	}
	for _, f := range Files {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != len(Files) {
		t.Errorf("dir has %d entries, want exactly %d (temporaries left behind?)", len(ents), len(Files))
	}
	var back Result
	if err := results.Read(filepath.Join(dir, DataFile), Schema, Version, &back); err != nil || len(back.Sweeps[0].Steps) != 3 {
		t.Fatalf("%s does not round-trip: %v %+v", DataFile, err, back)
	}
	csv, _ := os.ReadFile(filepath.Join(dir, "steps.csv"))
	if lines := strings.Count(string(csv), "\n"); lines != 4 {
		t.Errorf("steps.csv has %d lines, want header + 3", lines)
	}
}

// sampleV3 is a pinned run over two partition counts and both acks, with
// the kcat and Java anchors.
func sampleV3() Result {
	r := sample()
	lo := int64(30_000_000)
	pin := Pin{Broker: []int{0}, Bench: []int{1}}
	var sweeps []Sweep
	for _, acks := range []string{"1", "all"} {
		for _, parts := range []int{1, 12} {
			sw := sweepAt(acks, parts, 0, float64(100_000*parts), float64(150_000*parts))
			for i := range sw.Steps {
				st := &sw.Steps[i]
				st.BrokerCPUSeconds, st.BenchCPUSeconds, st.LoopbackRxBytes = fp(0.9), 0.4, &lo
				st.WireOutBytes, st.WireInBytes = 10_000_000, 5_000_000
				st.CoreBusySeconds = []float64{0.95, 0.5}
			}
			sw.Cores = FindCores(sw.Steps, pin)
			sweeps = append(sweeps, sw)
		}
	}
	r.Sweeps = sweeps
	r.Broker.Nodes, r.ReplicationFactor = 3, 3
	r.Ceilings = FindCeilings(sweeps)
	r.AcksCosts = FindAcksCosts(sweeps, 3)
	r.Pinned = &PinInfo{Pin: pin, BrokerPIDs: []int{42}, BenchPID: 7, Before: map[int]string{42: "0-1", 7: "0-1"}, Restored: true}
	k := &KcatComparison{Topic: "t", Records: 1000, Settings: defaults("t"), Go: r.Java.Go, Kcat: KcatResult{Records: 1000, CPUSeconds: 0.5, WallSeconds: 0.02}}
	k.Go.WallSeconds = 0.01
	k.JavaRecordsPerSec, k.JavaCPUPerMillion = 200, 4000
	k.Compute()
	r.Kcat = k
	return r
}

func TestSummaryV3SectionsFollowTheData(t *testing.T) {
	r := sampleV3()
	md := Summary(r)
	for _, want := range []string{
		"The cluster has 3 broker(s); topics were created with replication factor 3.",
		"**Pinned:** the broker JVM(s) (pids [42]) ran on CPU 0 and the bench (pid 7, with every process it started) on CPU 1",
		"were restored afterwards",
		"over 4 sweep(s): the broker's in 4, the client's in 0",
		"- Pinned cores: the broker's CPU 0 filled first: 0.90 of it at 1 producer",
		"- Broker CPU: 9.00 CPU-s per million records at 1 producer(s), 6.00 at 2",
		"the loopback interface carried 30.0 MB/s, the clients' own bytes on the wire (both directions) 15.0 MB/s, 2.00x; the other 15.0 MB/s is replication between the 3 local brokers and any other local traffic, not measured apart.",
		"## Where the ceiling is: partitions",
		"from 150.0k records/s at 1 partition to 1.80M at 12 partitions (12.00x)",
		"## What acks=all costs against acks=1",
		"At RF 3, acks=all (which waits for every in-sync replica) ran at 1.00x to 1.00x",
		"## Against kcat (librdkafka, C)",
		"| kpar (Go, 1 producer) | 100.0k | 200.00 | 0.01 | 0.20 |",
		"| kcat (librdkafka) | 50.0k | 500.00 | 0.02 | 0.50 |",
		"| ProducerPerformance (Java) | 200 | 4000.00 |",
		"one kpar producer ran at 2.00x kcat's records/s with 0.40x its CPU-s per million records (whole process, same rows); the rate was past 1.0x in 1 of 1 repeats and the CPU within 1.0x in 1 of 1: the target is met (1 of 1)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	if strings.Contains(md, "repeats by the rate ratio") {
		t.Error("one run reported as repeats")
	}
	r.Kcat.judge([]KcatRepeat{{GoRecordsPerSec: 2, KcatRecordsPerSec: 1, GoCPUPerMillion: 1, KcatCPUPerMillion: 2},
		{GoRecordsPerSec: 1, KcatRecordsPerSec: 2, GoCPUPerMillion: 1, KcatCPUPerMillion: 2}})
	if md := Summary(r); !strings.Contains(md, "The table is the median of 2 repeats by the rate ratio (rate/CPU ratios per repeat: 2.00x/0.50x, 0.50x/0.50x).") ||
		!strings.Contains(md, "the target is mixed (1 of 2)") {
		t.Errorf("summary lacks the repeats:\n%s", md)
	}
	r.Kcat.Repeats = nil
	// Changed data changes the sentences.
	r.Kcat.Go.WallSeconds = 0.05
	r.Kcat.Compute()
	r.Pinned.Restored = false
	md = Summary(r)
	for _, want := range []string{"0.40x kcat's records/s", "the rate was past 1.0x in 0 of 1 repeats and the CPU within 1.0x in 1 of 1: the target is missed (0 of 1)", "were NOT restored afterwards"} {
		if !strings.Contains(md, want) {
			t.Errorf("changed summary lacks %q", want)
		}
	}
}

func TestStepsCSVCarriesTheV3Columns(t *testing.T) {
	out := StepsCSV(sampleV3())
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1+4*2 {
		t.Fatalf("%d lines", len(lines))
	}
	head := strings.Split(lines[0], ",")
	row := strings.Split(lines[len(lines)-1], ",")
	if len(head) != len(row) {
		t.Fatalf("header %d columns, row %d", len(head), len(row))
	}
	col := func(name string) string {
		for i, h := range head {
			if h == name {
				return row[i]
			}
		}
		t.Fatalf("no column %s", name)
		return ""
	}
	if col("partitions") != "12" || col("record_size") != "0" || col("broker_cpu_s_per_million") != "0.5" ||
		col("loopback_rx_bytes") != "30000000" || col("core_busy_cpu_s") != "0.95 0.50" || col("broker_share_of_pinned_cpus") != "0.9" {
		t.Fatalf("row %v", row)
	}
}

func TestV3ViewsWriteEveryChart(t *testing.T) {
	dir := t.TempDir()
	if _, err := results.Write(dir, DataFile, sampleV3(), Views(sampleV3())...); err != nil {
		t.Fatal(err)
	}
	for _, f := range Files {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	var back Result
	if err := results.Read(filepath.Join(dir, DataFile), Schema, Version, &back); err != nil || back.Kcat == nil || len(back.Ceilings) != 2 || back.Pinned == nil || !back.Pinned.Restored {
		t.Fatalf("round trip: %v %+v", err, back.Pinned)
	}
}

func TestLegendNamesKeepOnlyWhatVaries(t *testing.T) {
	var sweeps []Sweep
	for _, size := range []int{0, 100} {
		for _, parts := range []int{1, 12} {
			sweeps = append(sweeps, sweepAt("all", parts, size, 1))
		}
	}
	got := strings.Join(legendNames(sweeps, true), "|")
	if got != "rows as is 1 partition|rows as is 12 partitions|value=100B 1 partition|value=100B 12 partitions" {
		t.Fatalf("names %q", got)
	}
	if got := strings.Join(legendNames(sweeps, false), "|"); got != "rows as is|rows as is|value=100B|value=100B" {
		t.Fatalf("ceiling names %q", got)
	}
	if got := legendNames(sweeps[:1], true)[0]; !strings.HasPrefix(got, "in-process acks=all idem") {
		t.Fatalf("one sweep keeps its full label: %q", got)
	}
}
