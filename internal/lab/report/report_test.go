package report

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/lab/checker"
)

func sample() Results {
	return Results{Schema: SchemaVersion, Kind: "kpar.lab.consumer", Started: time.Unix(0, 0), Seed: 9, Brokers: []string{"b:1"},
		Cells: []Cell{
			{Strategy: "commit-before", Scenario: "ooo+crash", Seed: 9, CrashPoints: []int{5}, Crashes: 1,
				Exact: []string{"lost", "duplicated", "dead_lettered"}, TimingDependent: []string{"reordered", "records_per_sec"},
				Why:   "reordered: near-ties go either way",
				Check: checker.Result{Lost: 37, Duplicated: 2, RecordsPerSec: 1234}, Rerun: "kpar lab consumer --cell commit-before/ooo+crash --seed 9"},
			{Strategy: "commit-after-batch", Scenario: "ooo+crash", Seed: 9, Stalled: true},
		}}
}

func TestResultsRoundTripThroughJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.json")
	if err := Write(path, sample()); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Cells[0].Check.Lost != 37 || got.Cells[1].Stalled != true {
		t.Fatalf("round trip changed the data: %+v", got)
	}
	b, _ := os.ReadFile(path)
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), `"schema": `+strconv.Itoa(SchemaVersion), `"schema": 99`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(path); err == nil {
		t.Fatal("a file of another schema version must be refused")
	}
}

func TestMarkdownShowsCountsStallsAndRerunCommands(t *testing.T) {
	var b strings.Builder
	if err := Markdown(&b, sample()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"| commit-before | ooo+crash | 37 | 2 | 0* | 0 | 1234 | 1/1 | 0 | 0 | 0 | 9 |", "stalled",
		"- reordered: near-ties go either way", "--cell commit-before/ooo+crash --seed 9"} {
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
