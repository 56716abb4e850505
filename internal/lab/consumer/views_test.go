package consumer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/doc"
	"github.com/kpar/kpar/internal/lab/checker"
	"github.com/kpar/kpar/internal/lab/labrun"
	"github.com/kpar/kpar/internal/render"
	"github.com/kpar/kpar/internal/results"
)

func sample() Result {
	h := Kind.Header([]string{"kpar", "lab", "consumer", "--seed", "9"})
	h.Started = time.Unix(0, 0).UTC()
	cells := []Cell{
		{Strategy: "commit-before", Scenario: "ooo+crash", Seed: 9, CrashPoints: []int{5}, Crashes: 1,
			Repeats: labrun.Repeats{Exact: []string{"lost", "duplicated", "dead_lettered"}, TimingDependent: []string{"reordered", "records_per_sec"},
				Why: "reordered: near-ties go either way"},
			Check: checker.Result{Lost: 37, Duplicated: 2, RecordsPerSec: 1234}, Rerun: "kpar lab consumer --cell commit-before/ooo+crash --seed 9"},
		{Strategy: "commit-after-batch", Scenario: "ooo+crash", Seed: 9, Stalled: true},
		{Strategy: "lib-key", Scenario: "ooo+crash", Seed: 9, Check: checker.Result{RecordsPerSec: 2468}},
	}
	return Result{Run: labrun.Run{Header: h, Seed: 9, Brokers: []string{"b:1"}}, Cells: cells, Speed: compareSpeed(cells)}
}

func TestResultRoundTripsThroughTheSharedWriter(t *testing.T) {
	dir := t.TempDir()
	if _, err := results.Write(dir, "lab-consumer.json", sample(), render.Views(Doc(sample()))...); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"lab-consumer.md", "lab-consumer-lost.svg", "lab-consumer-lost.png",
		"lab-consumer-duplicated.svg", "lab-consumer-reordered.svg", "lab-consumer-records_per_sec.png"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Fatalf("view %s not written: %v", name, err)
		}
	}
	path := filepath.Join(dir, "lab-consumer.json")
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Schema != Kind.Schema || got.Version != Kind.Version || got.Cells[0].Check.Lost != 37 || !got.Cells[1].Stalled ||
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
	lines := texts(speedFindings(Result{Speed: got}))
	if len(lines) != 1 || lines[0] != "ooo: against lib-key's 1000 records/s, commit-after-batch 0.50x (500 records/s), commit-before 1.50x (1500 records/s)." {
		t.Fatalf("speed sentences: %q", lines)
	}
}

func TestMarkdownShowsCountsStallsSpeedAndRerunCommands(t *testing.T) {
	out := render.Markdown(Doc(sample()))
	for _, want := range []string{"| commit-before | ooo+crash | 37 | 2 | 0* | 0 | - | 1,234 | 1/1 | 0 | 0 | 0 | 9 |", "stalled",
		"- reordered: near-ties go either way", "--cell commit-before/ooo+crash --seed 9",
		"- ooo+crash: against lib-key's 2468 records/s, commit-before 0.50x (1234 records/s).",
		"`kpar lab consumer --seed 9`", "![kpar lab consumer: lost (seed 9)](lab-consumer-lost.svg)"} {
		if !strings.Contains(out, want) {
			t.Fatalf("markdown lacks %q:\n%s", want, out)
		}
	}
}

// The answer names who lost records, with how many and under which
// fault, who only replayed, and the cells that failed; the compact table
// says each cell's outcome in a few words.
func TestDocAnswersWhoLostReplayedOrReordered(t *testing.T) {
	cell := func(st string, lost, dup, reord int) Cell {
		return Cell{Strategy: st, Scenario: "ooo+crash", Records: 400, Check: checker.Result{Input: 400, Lost: lost, Duplicated: dup, Reordered: reord}}
	}
	r := Result{Cells: []Cell{cell("commit-before", 138, 0, 19), cell("lib-key", 0, 0, 0)}}
	answer := func(d doc.Doc) string {
		var s []string
		for _, f := range d.Answer {
			if f.Target != "" {
				t.Errorf("the lab has no target, yet %q carries one", f.Text)
			}
			s = append(s, render.Finding(f))
		}
		return strings.Join(s, " ")
	}
	d := Doc(r)
	if a := answer(d); !strings.Contains(a, "Of 2 strategies under ooo+crash, 1 lost records: **commit-before** (138 under ooo+crash); lib-key lost none.") ||
		!strings.Contains(a, "Strategies that broke key order: commit-before.") {
		t.Errorf("answer: %s", a)
	}
	if row := d.Body[1].Table.Rows[0]; row[1] != "**lost 138**, 19 reord" {
		t.Errorf("commit-before's outcome: %q", row[1])
	}
	if d.Body[0].Chart == nil || d.Body[0].Chart.Name != "lab-consumer-lost" || d.Body[0].Chart.Series[0].Y[0] != 138 {
		t.Errorf("the body opens with the lost chart: %+v", d.Body[0])
	}
	// The library losing records must be said, with the number, and no
	// longer called lossless.
	r.Cells[1].Check.Lost = 7
	r.Cells[1].Error = ""
	if a := answer(Doc(r)); !strings.Contains(a, "**lib-key** (7 under ooo+crash)") || strings.Contains(a, "lost none") {
		t.Errorf("answer after lib-key lost 7: %s", a)
	}
	if o := outcome(r.Cells[1]); o != "**lost 7**" {
		t.Errorf("outcome of a losing lib-key cell: %s", o)
	}
	r.Cells[1].Check = checker.Result{Input: 400, Duplicated: 12}
	if o := outcome(r.Cells[1]); o != "12 dup" {
		t.Errorf("outcome of a replaying cell: %s", o)
	}
	r.Cells[1].Check, r.Cells[1].Error = checker.Result{Input: 400}, "worker exited"
	if a, o := answer(Doc(r)), outcome(r.Cells[1]); !strings.Contains(a, "1 cell failed (lib-key/ooo+crash).") || o != "**failed**" {
		t.Errorf("a failed cell: answer %s, outcome %s", a, o)
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
	got := texts(permanentFindings(r))
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
	if md := render.Markdown(Doc(r)); !strings.Contains(md, want[1]) {
		t.Fatalf("the Markdown must carry the sentence:\n%s", md)
	}
	// The reason is stated only where the counts show it: a pc cell that
	// did not stall says nothing about retrying without limit.
	r.Cells[1].Stalled = false
	if got := texts(permanentFindings(r)); strings.Contains(got[1], "without limit") {
		t.Errorf("a pc cell that finished still gets the stall's reason: %q", got[1])
	}
}

// texts are the findings' sentences.
func texts(fs []doc.Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Text
	}
	return out
}
