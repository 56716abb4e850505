package soak

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kpar/kpar/internal/doc"
	"github.com/kpar/kpar/internal/lab/checker"
	"github.com/kpar/kpar/internal/render"
	"github.com/kpar/kpar/internal/results"
	"github.com/kpar/kpar/internal/testkit"
)

// small is a 60 s soak of two strategies: lib-key lost nothing and came
// back within 30 s of both broker kills; eos lost 3 records, duplicated 2
// entries and did not come back before the next fault once.
func small() Result {
	r := Result{Header: Kind.Header([]string{"kpar", "lab", "soak", "--seed=5"}), Seed: 5,
		DurationSeconds: 60, Strategies: []string{"lib-key", "eos"}, Members: 2, Workers: 8, Wiring: "clients reach the brokers through the soak's proxies"}
	for s := 0.0; s <= 60; s++ {
		n := int64(s * 100)
		r.Timeline = append(r.Timeline, Sample{Sec: s, Input: n, Entries: map[string]int64{"lib-key": n, "eos": n - int64(s)}})
	}
	r.Faults = []Fault{
		{Planned: Planned{Kind: BrokerKill, Node: 2}, StartSec: 15, HealedSec: 23, Note: "node 2 SIGKILLed",
			Effects: []Effect{{Strategy: "lib-key", RecoverySec: 12.5, ObservedSec: 15}, {Strategy: "eos", RecoverySec: -1, ObservedSec: 15}}},
		{Planned: Planned{Kind: ConsumerKill, Strategy: "eos"}, StartSec: 30, HealedSec: 31, Note: "eos m1 SIGKILLed",
			Effects: []Effect{{Strategy: "lib-key", RecoverySec: 2}, {Strategy: "eos", RecoverySec: 4, Duplicates: 2, InFlight: 16}}},
		{Planned: Planned{Kind: BrokerKill, Node: 1}, StartSec: 45, HealedSec: 53,
			Effects: []Effect{{Strategy: "lib-key", RecoverySec: 20, ObservedSec: 15}, {Strategy: "eos", RecoverySec: 11, ObservedSec: 15}}},
	}
	r.Checks = []StrategyOutcome{
		{Strategy: "lib-key", Check: checker.Result{Input: 6000}, Drained: true},
		{Strategy: "eos", Check: checker.Result{Input: 6000, Lost: 3, Duplicated: 2, DuplicatedRecords: 2}, Drained: true},
	}
	return r
}

func TestDocJudgesLossesDuplicatesOrderAndRecovery(t *testing.T) {
	d := Doc(small())
	var got []string
	for _, f := range d.Answer {
		got = append(got, render.Finding(f))
	}
	want := []string{
		"Records lost by kpar's strategies: lib-key 0 and eos 3 (target 0 lost: mixed (1 of 2))",
		"lib-key reordered 0 records within a key (target 0 reordered: met)",
		"eos duplicated 2 entries (target 0 duplicated: missed)",
		"After 2 broker kills (each observed for at least 15 s without another fault), the rate was back to 90% of before in (min / median / max): lib-key 12.5 / 16.2 / 20.0 s and eos 11.0 / 11.0 / 11.0 s, 1 of 2 not back within the 15 s observed (target back within 30 s: mixed (1 of 2))",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("answer:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	all := render.Markdown(d)
	for _, s := range []string{"60 s of faults on 3 nodes: 1 consumer kills, 0 joins, 0 leaves, 2 broker kills",
		"| eos | 6,000 | 3 | 2 (2) | 2 (16) | 0 | 0 | yes | 11.0 / 11.0 / 11.0 s, 1 of 2 not back within the 15 s observed |",
		"| lib-key | 6,000 | 0 | 0 (0) | 0 (0) | 0 | 0 | yes | 12.5 / 16.2 / 20.0 s |",
		"| 15.0 | broker-kill | node 2 SIGKILLed | 12.5 | not within 15 |", "![Chaos soak: faults and throughput (seed 5)](timeline.svg)"} {
		if !strings.Contains(all, s) {
			t.Errorf("soak.md lacks %q:\n%s", s, all)
		}
	}
	// The chart: a mark per fault, a lane per thing hit, the input's and
	// each strategy's rate a second.
	ch := d.Body[0].Chart
	if ch.Kind != doc.Timeline || len(ch.Marks) != 3 || len(ch.Lanes) != 3 || len(ch.Series) != 3 || ch.Series[1].Y[0] != 100 || ch.Series[2].Y[0] != 99 {
		t.Fatalf("timeline chart: %+v", ch)
	}
	// A strategy the checker could not read is a missed target, never a
	// silent zero.
	r := small()
	r.Checks[0].Error = "read: timeout"
	if a := render.Finding(Doc(r).Answer[0]); a != "lib-key: not checked: read: timeout (target checked: missed)" {
		t.Fatalf("unchecked strategy: %s", a)
	}
}

func TestViewsWriteTheDocumentTheChartAndTheCSV(t *testing.T) {
	dir := t.TempDir()
	if _, err := results.Write(dir, "soak.json", small(), Views(small())...); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"soak.md", "timeline.csv", "timeline.svg", "timeline.png"} {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Size() == 0 {
			t.Fatalf("view %s: %v", name, err)
		}
	}
	csv, _ := os.ReadFile(filepath.Join(dir, "timeline.csv"))
	if !strings.HasPrefix(string(csv), "sec,input_per_sec,lib-key_per_sec,eos_per_sec,fault\n1.0,100,100,99,\n") ||
		!strings.Contains(string(csv), "\n15.0,100,100,99,broker-kill\n") {
		t.Fatalf("timeline.csv:\n%s", csv)
	}
	// No fault at all: the throughput alone, still drawn.
	r := small()
	r.Faults = nil
	if c := Doc(r).Body[0].Chart; c.Kind != doc.Line {
		t.Fatalf("a soak without faults: %+v", c)
	} else if _, err := render.PNG(c); err != nil {
		t.Fatal(err)
	}
}

// Members that ended on their own are counted per strategy in the answer,
// with the first one's reason; a run without any says nothing of them.
func TestTheAnswerCountsMembersThatEndedOnTheirOwn(t *testing.T) {
	r := Result{MemberExits: []MemberExit{
		{Sec: 231, Strategy: "eos", Slot: "w0", Code: 1, Reason: "run: parallel: transaction end not confirmed", Restarted: true},
		{Sec: 300, Strategy: "eos", Slot: "w1", Code: 1, Reason: "run: x", Restarted: true},
		{Sec: 310, Strategy: "lib-key", Slot: "x0", Code: 2, Reason: "y"},
	}}
	md := render.Markdown(Doc(r))
	testkit.Contains(t, "soak.md", md, "Members that ended on their own (static ones restarted, as an application would): eos 2 and lib-key 1",
		"the first, eos w0 at 231 s: run: parallel: transaction end not confirmed")
	if _, ok := exitFinding(nil); ok {
		t.Error("a run without member exits got a finding")
	}
}

// A fault healed less than a rate window before the next one started could
// not show a recovery: the table says so instead of "not within".
func TestTheFaultTableTellsAFaultCutShortFromOneNotBack(t *testing.T) {
	r := small()
	r.Faults[1].HealedSec = 44
	r.Faults[1].Effects[0] = Effect{Strategy: "lib-key", RecoverySec: -1, ObservedSec: 15}
	testkit.Contains(t, "soak.md", render.Markdown(Doc(r)), "| 30.0 | consumer-kill | eos m1 SIGKILLed | next fault first | 4.0 |",
		"| 15.0 | broker-kill | node 2 SIGKILLed | 12.5 | not within 15 |")
}

// The result names the cluster's home under KPAR_HOME by the variable, not
// by the directory of the machine that ran it.
func TestWiringNamesTheHomeUnderKPARHOMEByTheVariable(t *testing.T) {
	t.Setenv("KPAR_HOME", "/somewhere/kpar")
	for home, want := range map[string]string{
		"/somewhere/kpar/lab-soak": "$KPAR_HOME/lab-soak",
		"/elsewhere/lab-soak":      "/elsewhere/lab-soak",
		"/somewhere/kpar-other":    "/somewhere/kpar-other",
	} {
		if got := homeLabel(home); got != want {
			t.Errorf("homeLabel(%q) = %q, want %q", home, got, want)
		}
	}
}
