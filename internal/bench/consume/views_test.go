package consume

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/results"
)

// sample builds a result the way Run does: measurements judged by newIO
// and newCPU.
func sample() Result {
	c := DefaultConfig()
	io := Measurement{Records: 200000, Seconds: 2.5, RecordsPerS: 80000, CPUSeconds: 0.5, MeanHandler: 5.7, FirstS: 0.05, SteadyPerS: 82000}
	return Result{
		Header:  results.Header{Schema: Schema, Version: Version, Started: time.Unix(0, 0).UTC()},
		Brokers: []string{"b:1"}, CPUs: 2, Note: "n",
		IO: newIO(c, io, 2),
		CPU: newCPU(c,
			Measurement{Name: "parallel", Records: 1000000, Seconds: 0.4, RecordsPerS: 2500000, CPUSeconds: 0.45},
			Measurement{Name: "plain franz-go", Records: 1000000, Seconds: 0.3, RecordsPerS: 3333333, CPUSeconds: 0.36},
			Measurement{Name: "plain franz-go, FetchMaxBytes 1048576", Records: 1000000, Seconds: 0.35, RecordsPerS: 2857143, CPUSeconds: 0.4}),
		RSS: &RSS{Records: 2000000, MaxBuffered: 10000, PerPart: 2000, PeakRSSKiB: 150 * 1024, Seconds: 0.6},
	}
}

func TestJudgementsAreComputedFromTheMeasurements(t *testing.T) {
	r := sample()
	if r.IO.IdealPerS != 100000 || r.IO.SteadyEfficiency != 0.82 || r.IO.MeetsTarget || r.IO.Target != IOTarget {
		t.Fatalf("io: ideal %v steady efficiency %v meets %v target %v, want 500 lanes / 5 ms = 100000, 0.82, false, %v",
			r.IO.IdealPerS, r.IO.SteadyEfficiency, r.IO.MeetsTarget, r.IO.Target, IOTarget)
	}
	if !strings.HasPrefix(r.IO.BoundBy, "handler latency: sleep(5ms) takes 5.70 ms") {
		t.Fatalf("io bound by %q, want handler latency (steady rate within 90%% of the ideal at the measured latency)", r.IO.BoundBy)
	}
	if r.CPU.Plain.Name != "plain franz-go" || math.Abs(r.CPU.Ratio-0.75) > 1e-6 || !r.CPU.MeetsTarget {
		t.Fatalf("cpu: reference %q ratio %v meets %v, want the faster plain loop, 0.75, true", r.CPU.Plain.Name, r.CPU.Ratio, r.CPU.MeetsTarget)
	}
	// Keys bound the lanes under key order; partitions under partition order.
	c := DefaultConfig()
	c.Keys = 10
	if io := newIO(c, Measurement{SteadyPerS: 2000, Seconds: 1}, 2); io.IdealPerS != 2000 || !io.MeetsTarget || !strings.HasPrefix(io.BoundBy, "keys") {
		t.Fatalf("10 keys: ideal %v meets %v bound by %q", io.IdealPerS, io.MeetsTarget, io.BoundBy)
	}
	c.Order.UnmarshalText([]byte("partition"))
	if io := newIO(c, Measurement{SteadyPerS: 100, Seconds: 1, CPUSeconds: 1.9}, 2); io.IdealPerS != 2400 || io.MeetsTarget || !strings.HasPrefix(io.BoundBy, "CPU (1.90 of 2") {
		t.Fatalf("12 partitions, CPU busy: ideal %v meets %v bound by %q", io.IdealPerS, io.MeetsTarget, io.BoundBy)
	}
}

func TestMarkdownSentencesFollowTheData(t *testing.T) {
	rep := sample()
	md := Markdown(rep)
	for _, want := range []string{
		"**82000 records/s** from the first record", "82.0% of the ideal 100000 records/s, which misses the 90% target",
		"the whole 2.50 s run averaged 80000 records/s (80.0%)", "of which the steady rate reached 93.5%", "**75.0%** of the plain loop, which meets the 70% target",
		"450 ns of CPU against 360 ns", "**peak RSS 150.0 MiB**", "the library's default FetchMaxBytes and default GOGC",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}
	c := DefaultConfig()
	m := rep.IO.Result
	m.SteadyPerS = 95000
	rep.IO = newIO(c, m, 2)
	par := rep.CPU.Parallel
	par.RecordsPerS = 1666666
	rep.CPU = newCPU(c, par, rep.CPU.PlainDefault, rep.CPU.PlainSameFetch)
	md = Markdown(rep)
	if !strings.Contains(md, "which misses the 70% target") || !strings.Contains(md, "which meets the 90% target") {
		t.Errorf("verdicts did not follow the data:\n%s", md)
	}
	txt := Text(rep)
	if !strings.Contains(txt, "target 90%: meets") || !strings.Contains(txt, "target 70%: misses") || !strings.Contains(txt, "bound by: concurrency / handler latency (the ideal)") {
		t.Errorf("text does not carry the verdicts:\n%s", txt)
	}
}

func TestWriteStoresDataAndMarkdownAndNoTemporaries(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	rep := sample()
	if _, err := results.Write(dir, DataFile, rep, Views(rep)...); err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := results.Read(filepath.Join(dir, DataFile), Schema, Version, &back); err != nil {
		t.Fatal(err)
	}
	if back.CPU.Ratio != rep.CPU.Ratio || back.RSS.PeakRSSKiB != rep.RSS.PeakRSSKiB || back.IO.BoundBy != rep.IO.BoundBy || back.IO.MeetsTarget != rep.IO.MeetsTarget {
		t.Fatalf("%s round trip: %+v", DataFile, back)
	}
	if _, err := os.Stat(filepath.Join(dir, "consume.md")); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("files in --out: %v, want consume.json and consume.md only", names)
	}
}

func TestWriteFailsOnAnUnwritableDirectory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := results.Write(filepath.Join(file, "sub"), DataFile, sample(), Views(sample())...); err == nil {
		t.Fatal("writing under a regular file succeeded")
	}
}
