package consumer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/lab/checker"
	"github.com/kpar/kpar/internal/results"
)

func sample() Result {
	h := results.NewHeader(Schema, SchemaVersion, []string{"kpar", "lab", "consumer", "--seed", "9"})
	h.Started = time.Unix(0, 0).UTC()
	cells := []Cell{
		{Strategy: "commit-before", Scenario: "ooo+crash", Seed: 9, CrashPoints: []int{5}, Crashes: 1,
			Exact: []string{"lost", "duplicated", "dead_lettered"}, TimingDependent: []string{"reordered", "records_per_sec"},
			Why:   "reordered: near-ties go either way",
			Check: checker.Result{Lost: 37, Duplicated: 2, RecordsPerSec: 1234}, Rerun: "kpar lab consumer --cell commit-before/ooo+crash --seed 9"},
		{Strategy: "commit-after-batch", Scenario: "ooo+crash", Seed: 9, Stalled: true},
		{Strategy: "lib-key", Scenario: "ooo+crash", Seed: 9, Check: checker.Result{RecordsPerSec: 2468}},
	}
	return Result{Header: h, Seed: 9, Brokers: []string{"b:1"}, Cells: cells, Speed: compareSpeed(cells)}
}

func TestResultRoundTripsThroughTheSharedWriter(t *testing.T) {
	dir := t.TempDir()
	views, err := Views(sample())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := results.Write(dir, "lab-consumer.json", sample(), views...); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"lab-consumer.md", "lab-consumer-lost.svg", "lab-consumer-lost.png",
		"lab-consumer-duplicated.svg", "lab-consumer-records_per_sec.png"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Fatalf("view %s not written: %v", name, err)
		}
	}
	path := filepath.Join(dir, "lab-consumer.json")
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Schema != Schema || got.Version != SchemaVersion || got.Cells[0].Check.Lost != 37 || !got.Cells[1].Stalled ||
		len(got.Speed) != 1 {
		t.Fatalf("round trip changed the data: %+v", got)
	}
	b, _ := os.ReadFile(path)
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), `"version": 4`, `"version": 99`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(path); !errors.Is(err, results.ErrSchema) {
		t.Fatalf("a file of another schema version must be refused, got %v", err)
	}
}

// The speed lesson is data: each strategy against lib-key in the same
// scenario, cells that stalled or failed left out, and no comparison where
// lib-key did not run cleanly.
func TestSpeedComparesEachCleanCellWithTheLibraryInTheSameScenario(t *testing.T) {
	cells := []Cell{
		{Strategy: "commit-after-batch", Scenario: "ooo", Check: checker.Result{RecordsPerSec: 500}},
		{Strategy: "lib-key", Scenario: "ooo", Check: checker.Result{RecordsPerSec: 1000}},
		{Strategy: "commit-before", Scenario: "ooo", Check: checker.Result{RecordsPerSec: 1500}},
		{Strategy: "auto-commit", Scenario: "ooo", Stalled: true, Check: checker.Result{RecordsPerSec: 10}},
		{Strategy: "commit-before", Scenario: "ooo+crash", Check: checker.Result{RecordsPerSec: 900}},
		{Strategy: "lib-key", Scenario: "ooo+crash", Error: "worker exited", Check: checker.Result{RecordsPerSec: 800}},
		{Strategy: "commit-before", Scenario: "ooo+kill", Check: checker.Result{RecordsPerSec: 900}},
	}
	got := compareSpeed(cells)
	want := []Speed{
		{Scenario: "ooo", Strategy: "commit-after-batch", RecordsPerSec: 500, BaselineRecordsPerSec: 1000, Ratio: 0.5},
		{Scenario: "ooo", Strategy: "commit-before", RecordsPerSec: 1500, BaselineRecordsPerSec: 1000, Ratio: 1.5},
	}
	if len(got) != len(want) {
		t.Fatalf("speed: got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("speed[%d]: got %+v, want %+v", i, got[i], want[i])
		}
	}
	lines := SpeedSentences(Result{Speed: got})
	if len(lines) != 1 || lines[0] != "ooo: against lib-key's 1000 records/s, commit-after-batch 0.50x (500 records/s), commit-before 1.50x (1500 records/s)." {
		t.Fatalf("speed sentences: %q", lines)
	}
}

func TestMarkdownShowsCountsStallsSpeedAndRerunCommands(t *testing.T) {
	var b strings.Builder
	if err := Markdown(&b, sample()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"| commit-before | ooo+crash | 37 | 2 | 0* | 0 | - | 1234 | 1/1 | 0 | 0 | 0 | 9 |", "stalled",
		"- reordered: near-ties go either way", "--cell commit-before/ooo+crash --seed 9",
		"- ooo+crash: against lib-key's 2468 records/s, commit-before 0.50x (1234 records/s).",
		"Re-run the whole run: `kpar lab consumer --seed 9`"} {
		if !strings.Contains(out, want) {
			t.Fatalf("markdown lacks %q:\n%s", want, out)
		}
	}
}

func TestChartWritesSVG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lost.svg")
	if err := Chart(path, sample(), "lost"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(b), "<svg") {
		t.Fatalf("no SVG written: %v", err)
	}
	if err := Chart(path, sample(), "nonsense"); err == nil {
		t.Fatal("an unknown metric must be an error")
	}
}

func TestPermanentSentencesSayWhatHappenedToRecordsThatAlwaysFail(t *testing.T) {
	r := Result{Cells: []Cell{
		{Strategy: "lib-key", Scenario: "ooo+failures", PermanentRecords: 8, PermanentAttempts: 40, PermanentMaxAttempts: 5,
			Check: checker.Result{DeadLettered: 8}},
		{Strategy: "pc-key", Scenario: "ooo+failures", PermanentRecords: 8, PermanentAttempts: 106, PermanentMaxAttempts: 14,
			Stalled: true, StallTimeoutSeconds: 10, Check: checker.Result{Lost: 48}},
		{Strategy: "pc-key", Scenario: "ooo"},
	}}
	got := PermanentSentences(r)
	want := []string{
		"lib-key/ooo+failures: the 8 records whose handler always fails got 40 handler attempts (at most 5 for one record); " +
			"8 records were dead-lettered and 0 lost.",
		"pc-key/ooo+failures: the 8 records whose handler always fails got 106 handler attempts (at most 14 for one record) " +
			"before the cell stalled (no progress for 10s); 0 records were dead-lettered and 48 lost, at least 40 of them records that " +
			"never fail for good but were never processed. Parallel Consumer retries a failed record without limit and has no " +
			"dead-letter topic: here it retried, dead-lettered nothing and stalled.",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d sentences, want %d: %q", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("sentence %d:\n got %q\nwant %q", i, got[i], want[i])
		}
	}
	var md strings.Builder
	if err := Markdown(&md, r); err != nil || !strings.Contains(md.String(), want[1]) {
		t.Fatalf("the Markdown must carry the sentence (err %v):\n%s", err, md.String())
	}
	// The reason is stated only where the counts show it: a pc cell that
	// did not stall says nothing about retrying without limit.
	r.Cells[1].Stalled = false
	if got := PermanentSentences(r); strings.Contains(got[1], "without limit") {
		t.Errorf("a pc cell that finished still gets the stall's reason: %q", got[1])
	}
}
