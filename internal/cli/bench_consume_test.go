package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/consumebench"
)

func sampleConsumeReport() *benchConsumeReport {
	return &benchConsumeReport{
		Schema: "kpar.bench.consume/v3", Brokers: []string{"b:1"}, Started: time.Unix(0, 0).UTC(), CPUs: 2, Note: "n",
		IO: &ioReport{Partitions: 12, Keys: 1000, Concurrency: 500, SleepMs: 5, Order: "key",
			Result:    consumebench.Result{Records: 200000, Seconds: 2.5, RecordsPerS: 80000, MeanHandler: 5.7, FirstS: 0.05, SteadyPerS: 82000},
			IdealPerS: 100000, IdealMeasPS: 87719, Efficiency: 0.8, SteadyEfficiency: 0.82, CPUCores: 0.2, BoundBy: "handler latency"},
		CPU: &cpuReport{
			Plain:          consumebench.Result{Name: "plain franz-go", Records: 1000000, Seconds: 0.3, RecordsPerS: 3333333, CPUSeconds: 0.36},
			PlainDefault:   consumebench.Result{Records: 1000000, Seconds: 0.3, RecordsPerS: 3333333, CPUSeconds: 0.36},
			PlainSameFetch: consumebench.Result{Records: 1000000, Seconds: 0.35, RecordsPerS: 2857143, CPUSeconds: 0.4},
			Parallel:       consumebench.Result{Records: 1000000, Seconds: 0.4, RecordsPerS: 2500000, CPUSeconds: 0.45},
			Ratio:          0.75},
		RSS: &consumebench.RSSResult{Records: 2000000, MaxBuffered: 10000, PerPart: 2000, PeakRSSKiB: 150 * 1024, Seconds: 0.6},
	}
}

func TestConsumeMarkdownSentencesFollowTheData(t *testing.T) {
	rep := sampleConsumeReport()
	md := consumeMarkdown(rep)
	for _, want := range []string{
		"**82000 records/s** from the first record", "82.0% of the ideal 100000 records/s, which misses the 90% target",
		"the whole 2.50 s run averaged 80000 records/s (80.0%)", "of which the steady rate reached 93.5%", "**75.0%** of the plain loop, which meets the 70% target",
		"450 ns of CPU against 360 ns", "**peak RSS 150.0 MiB**", "the library's default FetchMaxBytes and default GOGC",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}
	rep.CPU.Ratio, rep.IO.SteadyEfficiency = 0.5, 0.95
	md = consumeMarkdown(rep)
	if !strings.Contains(md, "which misses the 70% target") || !strings.Contains(md, "which meets the 90% target") {
		t.Errorf("verdicts did not follow the data:\n%s", md)
	}
}

func TestWriteConsumeOutWritesBothFilesAndNoTemporaries(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	rep := sampleConsumeReport()
	if err := writeConsumeOut(dir, rep); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "consume.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back benchConsumeReport
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Schema != rep.Schema || back.CPU.Ratio != rep.CPU.Ratio || back.RSS.PeakRSSKiB != rep.RSS.PeakRSSKiB {
		t.Fatalf("consume.json round trip: %+v", back)
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

func TestWriteConsumeOutFailsOnAnUnwritableDirectory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeConsumeOut(filepath.Join(file, "sub"), sampleConsumeReport()); err == nil {
		t.Fatal("writeConsumeOut under a regular file succeeded")
	}
}
