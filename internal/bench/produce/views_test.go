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
