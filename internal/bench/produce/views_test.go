package produce

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/doc"
	"github.com/kpar/kpar/internal/producerperf"
	"github.com/kpar/kpar/internal/render"
	"github.com/kpar/kpar/internal/results"
	"github.com/kpar/kpar/internal/testkit"
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
	r := Result{Header: results.Header{Schema: Kind.Schema, Version: Kind.Version, Started: time.Unix(0, 0)}, Host: Host{Cores: 2},
		Broker: Broker{Seeds: []string{"127.0.0.1:29092"}, Local: true, PIDs: []int{42}, CPU: "proc"},
		Input:  Input{File: "e.csv", Records: 1000, PayloadBytes: 150000, KeyColumn: "customer_id", Value: "raw", LoadSeconds: 0.001, LoadRecordsSec: 1e6},
		Repeat: 1, Sweeps: []Sweep{{Label: "acks=all", Mode: "in-process", Settings: Settings{Acks: "all"}, Steps: steps,
			Saturation: sat, Bottleneck: FindBottleneck(steps, sat, 2, 12)}}}
	j := &JavaComparison{Records: 1000, Java: producerperf.Result{Records: 1000, RecordsPerSec: 80000, CPUSeconds: 4},
		Versus: Versus{Go: Anchor{Sample: Sample{Acked: 1000, ElapsedNs: int64(10 * time.Millisecond)}, ProcessCPUSeconds: 0.2}}}
	j.Compute()
	r.Java = j
	return r
}

func TestDocSentencesFollowTheData(t *testing.T) {
	d := Doc(sample())
	md := render.Markdown(d)
	testkit.Contains(t, "summary", md,
		"1 producer sent 100,000 records/s (15.0 MB/s) and 4 sent 190,000 (28.5 MB/s), 1.90x as much",
		"adding producers stopped paying after 2: going to 4 added +5.6%, under the 10% bar",
		"reading ran at 5.3x the best producer rate",
		"Every acked record is on the topic in 1 sweep",
		"One kpar producer ran at 1.25x Apache Kafka's ProducerPerformance (Java) records/s with 0.05x its CPU-s per million records",
	)
	if java := d.Answer[len(d.Answer)-1]; java.Verdict != "met" || java.Target == "" {
		t.Errorf("java finding %+v", java)
	}
	// One sweep: its steps are the body's table, and no chart of partitions.
	if len(d.Body) < 2 || d.Body[1].Table == nil || len(d.Body[1].Table.Rows) != 3 {
		t.Errorf("body %+v", d.Body)
	}
	for _, c := range d.Charts() {
		if c.Name == "ceiling" {
			t.Error("a ceiling chart from one partition count")
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
	if _, err := results.Write(dir, Kind.File, sample(), Views(sample())...); err != nil {
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
	if err := Kind.Read(filepath.Join(dir, Kind.File), &back); err != nil || len(back.Sweeps[0].Steps) != 3 {
		t.Fatalf("%s does not round-trip: %v %+v", Kind.File, err, back)
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
	k := &KcatComparison{Versus: Versus{Topic: "t", Settings: defaults("t"), Go: r.Java.Go}, Records: 1000, Kcat: KcatResult{Records: 1000, CPUSeconds: 0.5, WallSeconds: 0.02}}
	k.Go.WallSeconds = 0.01
	k.JavaRecordsPerSec, k.JavaCPUPerMillion = 200, 4000
	k.Compute()
	r.Kcat = k
	return r
}

func TestDocV3SectionsFollowTheData(t *testing.T) {
	r := sampleV3()
	md := render.Markdown(Doc(r))
	testkit.Contains(t, "summary", md,
		"The cluster has 3 brokers; topics were created with replication factor 3.",
		"**Pinned:** the broker JVM(s) (pids [42]) ran on CPU 0 and the bench (pid 7, with every process it started) on CPU 1",
		"were restored afterwards",
		"over 4 sweeps: the broker's in 4, the client's in 0",
		"| the broker's CPU 0 filled first: 0.90 of it at 1 producer",
		"| 1 | 100,000 | 0.0 | 1.00x | 0.0 | 1.0 | 0.0 | 4.00 | 9.00 |",
		"| 2 | 150,000 | 0.0 | 1.50x | 0.0 | 2.0 | 0.0 | 2.67 | 6.00 |",
		"the loopback interface carried 30.0 MB/s, the clients' own bytes on the wire (both directions) 15.0 MB/s, 2.00x; the other 15.0 MB/s is replication between the 3 local brokers and any other local traffic, not measured apart.",
		"### The partition ceiling",
		"from 150.0k records/s at 1 partition to 1.80M at 12 partitions (12.00x)",
		"### What acks=all costs against acks=1",
		"At RF 3, acks=all (which waits for every in-sync replica) ran at 1.00x to 1.00x",
		"### Against kcat (librdkafka, C)",
		"| kpar (Go, 1 producer) | 100,000 | 200.00 | 0.01 | 0.20 |",
		"| kcat (librdkafka) | 50,000 | 500.00 | 0.02 | 0.50 |",
		"| ProducerPerformance (Java) | 200 | 4000.00 |",
		"kcat read the payload file ProducerPerformance reads (one value per line), kpar the CSV rows they came from.",
		"One kpar producer ran at 2.00x kcat's (librdkafka) records/s with 0.40x its CPU-s per million records (whole process, same rows); the rate was past 1.0x in 1 of 1 repeats and the CPU within 1.0x in 1 of 1 (target "+kcatTarget+": met (1 of 1))",
	)
	if strings.Contains(md, "repeats by the rate ratio") {
		t.Error("one run reported as repeats")
	}
	r.Kcat.judge([]KcatRepeat{{GoRecordsPerSec: 2, KcatRecordsPerSec: 1, GoCPUPerMillion: 1, KcatCPUPerMillion: 2},
		{GoRecordsPerSec: 1, KcatRecordsPerSec: 2, GoCPUPerMillion: 1, KcatCPUPerMillion: 2}})
	if md := render.Markdown(Doc(r)); !strings.Contains(md, "The table is the median of 2 repeats by the rate ratio (rate/CPU ratios per repeat: 2.00x/0.50x, 0.50x/0.50x).") ||
		kcatOf(Doc(r)).Verdict != "mixed (1 of 2)" {
		t.Errorf("summary lacks the repeats:\n%s", md)
	}
	// Judged again from a file, the verdict stays over every repeat.
	if v := kcatOf(Doc(Rederive(r))).Verdict; v != "mixed (1 of 2)" {
		t.Errorf("re-derived kcat verdict %q", v)
	}
	r.Kcat.Repeats = nil
	// Changed data changes the sentences.
	r.Kcat.Go.WallSeconds = 0.05
	r.Kcat.Go.PayloadFile, r.Kcat.MaxBufferedRecords = true, 50_000
	r.Kcat.Compute()
	r.Pinned.Restored = false
	md = render.Markdown(Doc(r))
	testkit.Contains(t, "changed summary", md, "0.40x kcat's (librdkafka) records/s", "the rate was past 1.0x in 0 of 1 repeats and the CPU within 1.0x in 1 of 1", "were NOT restored afterwards",
		"kcat and kpar read the payload file ProducerPerformance reads (one value per line), each while it sends.",
		"Both held at most 50,000 records unacknowledged (franz-go's MaxBufferedRecords, librdkafka's queue.buffering.max.messages).")
	if strings.Contains(render.Markdown(Doc(sampleV3())), "unacknowledged") {
		t.Error("a result without the buffer bound names one")
	}
	if v := kcatOf(Doc(r)).Verdict; v != "missed (0 of 1)" {
		t.Errorf("kcat verdict %q", v)
	}
}

func kcatOf(d doc.Doc) doc.Finding {
	for _, f := range d.Answer {
		if f.Target == kcatTarget {
			return f
		}
	}
	return doc.Finding{}
}

// The answer: the first sweep's scaling, the ceiling, then the anchors,
// each anchor with its target and verdict.
func TestDocAnswerHasTheHeadlinesWithTheirVerdicts(t *testing.T) {
	d := Doc(sampleV3())
	if len(d.Answer) != 4 {
		t.Fatalf("answer %+v", d.Answer)
	}
	if a := d.Answer[0]; a.Target != "" || !strings.Contains(a.Text, "In the first sweep (") || !strings.Contains(a.Text, "1 producer sent 100,000 records/s") {
		t.Errorf("scaling %+v", a)
	}
	if c := d.Answer[1]; !strings.Contains(c.Text, "acks=1 noidem still moving at 12 (+1100.0% over the count before)") {
		t.Errorf("ceiling %+v", c)
	}
	if k := d.Answer[2]; k.Target != kcatTarget || k.Verdict != "met (1 of 1)" || strings.Contains(k.Text, "target") {
		t.Errorf("kcat %+v", k)
	}
	if j := d.Answer[3]; j.Verdict != "met" || strings.Contains(j.Text, "goal") {
		t.Errorf("java %+v", j)
	}
	if len(Doc(Result{}).Answer) != 1 || Doc(Result{}).Answer[0].Text != "This run measured no sweep." {
		t.Error("an empty result")
	}
}

// Twelve sweeps (4 partition counts x 3 record sizes) make small multiples
// of at most six series, one compact table of twelve rows in the body, and
// one table of what limited each sweep in the details instead of a list per
// sweep.
func TestManySweepsMakeSmallMultiplesAndOneTable(t *testing.T) {
	r := sampleV3()
	r.Sweeps = nil
	for _, size := range []int{0, 1000, 10000} {
		for _, parts := range []int{1, 3, 12, 48} {
			r.Sweeps = append(r.Sweeps, sweepAt("all", parts, size, float64(1000*parts), float64(1500*parts)))
		}
	}
	r.Ceilings = FindCeilings(r.Sweeps)
	d := Doc(r)
	for _, c := range d.Charts() {
		if len(c.Series) > maxSeries {
			t.Errorf("%s: %d series in one chart", c.Name, len(c.Series))
		}
		for _, p := range c.Panels {
			if len(p.Series) > maxSeries {
				t.Errorf("%s, panel %s: %d series", c.Name, p.Title, len(p.Series))
			}
		}
	}
	tp := d.Body[0].Chart
	if tp.Name != "throughput" || len(tp.Panels) != 3 || tp.Panels[1].Title != "value=1000B" || tp.Panels[1].Series[3].Name != "48 partitions" {
		t.Fatalf("throughput panels %+v", tp.Panels)
	}
	if lat := d.Charts()[4]; lat.Name != "latency" || len(lat.Panels) != 6 || lat.Panels[0].Title != "rows as is: p50" || lat.Panels[3].Title != "rows as is: p99" {
		t.Errorf("latency panels %+v", lat.Panels)
	}
	tables := 0
	for _, b := range d.Body {
		if b.Table != nil {
			tables++
			if len(b.Table.Rows) != 12 {
				t.Errorf("body table: %d rows", len(b.Table.Rows))
			}
		}
	}
	if tables != 1 {
		t.Errorf("%d tables in the body", tables)
	}
	limits := 0
	for _, b := range d.Details {
		if b.Title == "What limited each sweep" && len(b.Table.Rows) == 12 {
			limits++
		}
		if len(b.Findings) > 0 && strings.Contains(b.Findings[0].Text, "Pinned cores") {
			t.Error("a per-sweep bullet in the details")
		}
	}
	if limits != 1 {
		t.Error("no table of what limited each sweep")
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
	if _, err := results.Write(dir, Kind.File, sampleV3(), Views(sampleV3())...); err != nil {
		t.Fatal(err)
	}
	for _, f := range append(Files, "ceiling.svg", "ceiling.png") {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	var back Result
	if err := Kind.Read(filepath.Join(dir, Kind.File), &back); err != nil || back.Kcat == nil || len(back.Ceilings) != 2 || back.Pinned == nil || !back.Pinned.Restored {
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
	if got := legendNames(sweeps[:1], true)[0]; got != "in-process" {
		t.Fatalf("one sweep is named by its mode: %q", got)
	}
}
