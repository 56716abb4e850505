package group

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/doc"
	"github.com/kpar/kpar/internal/lab/labrun"
	"github.com/kpar/kpar/internal/render"
	"github.com/kpar/kpar/internal/testkit"
)

func TestValidateNamesTheFlagAndTheValidNames(t *testing.T) {
	// The table cannot pass by refusing everything: the defaults and the
	// full matrix pass.
	testkit.ValidateRefuses(t, DefaultConfig, map[string]func(*Config){
		`--events: unknown event "meteor" (valid: join, leave, kill, restart-static, restart-dynamic)`:                                    func(c *Config) { c.Events = []string{"join", "meteor"} },
		`--assignors: unknown assignor "sticky-ish" (valid: range, roundrobin, sticky, cooperative-sticky, kip848-uniform, kip848-range)`: func(c *Config) { c.Assignors = []string{"sticky-ish"} },
		`--parallel: unknown assignor "kip848"`:       func(c *Config) { c.ParallelAssignors = []string{"kip848"} },
		"--events: kill is named twice":               func(c *Config) { c.Events = []string{"kill", "kill"} },
		"no cell to run":                              func(c *Config) { c.Events = nil },
		`--cell "join": want event/assignor`:          func(c *Config) { c.Cell = "join" },
		`--cell "join/range/java"`:                    func(c *Config) { c.Cell = "join/range/java" },
		`--cell: unknown assignor "kip999"`:           func(c *Config) { c.Cell = "join/kip999" },
		"--seed -1: must be at least 0":               func(c *Config) { c.Seed = -1 },
		"--orders 0":                                  func(c *Config) { c.Orders = 0 },
		"--rate 0":                                    func(c *Config) { c.Rate = 0 },
		"--event-at 12s: must fall inside the stream": func(c *Config) { c.EventAt = c.Duration },
		"--session-timeout 1s: must be at least 6s":   func(c *Config) { c.SessionTimeout = time.Second },
		"--work -1ms":                                 func(c *Config) { c.Work = -time.Millisecond },
	}, func(c *Config) { *c = c.Full() })
	cfg := DefaultConfig()
	cfg.Cell = "restart-static/kip848-range/parallel"
	if err := cfg.Validate(); err != nil || !slices.Equal(cfg.Cells(), []string{cfg.Cell}) {
		t.Fatalf("one cell: %v %v", err, cfg.Cells())
	}
}

func TestDefaultSelectionHasAParallelCellPerEvent(t *testing.T) {
	cells := DefaultConfig().Cells()
	for _, ev := range DefaultConfig().Events {
		if !slices.ContainsFunc(cells, func(c string) bool { return strings.HasPrefix(c, ev+"/") && strings.HasSuffix(c, "/parallel") }) {
			t.Errorf("no parallel cell for %s in %v", ev, cells)
		}
	}
	if n := len(DefaultConfig().Full().Cells()); n != len(Events)*len(Assignors)*2 {
		t.Errorf("full matrix %d cells", n)
	}
}

func TestVictimRepeatsForTheSameSeedAndCell(t *testing.T) {
	// Recorded once: a change to the draw changes every published cell's victim.
	for _, c := range []struct {
		seed int64
		cell string
		want string
	}{{7, "kill/range", "m0"}, {7, "kill/sticky", "m2"}, {9, "kill/range", "m2"}} {
		if got := victim(c.seed, c.cell); got != c.want {
			t.Errorf("victim(%d, %s) = %s, want %s", c.seed, c.cell, got, c.want)
		}
	}
	seen := map[string]bool{}
	for seed := int64(1); seed < 50; seed++ {
		seen[victim(seed, "kill/range")] = true
	}
	if len(seen) != 3 {
		t.Fatalf("victims over 50 seeds: %v, want all of m0, m1, m2", seen)
	}
	r1, r2 := streamRecord(3, 10, []TopicSpec{{"o", 6}, {"p", 12}}), streamRecord(3, 10, []TopicSpec{{"o", 6}, {"p", 12}})
	if r1.Topic != r2.Topic || string(r1.Key) != string(r2.Key) || string(r1.Value) != string(r2.Value) || seqOf(r1.Value) != 10 {
		t.Fatalf("stream record 10 not repeatable: %v %v", r1, r2)
	}
}

func sampleResult() Result {
	cell := func(event, assignor, member string, pause, base float64, lost int) Cell {
		c := Cell{Event: event, Assignor: assignor, Protocol: Protocol(assignor), GroupType: Protocol(assignor), Member: member,
			Seed: 7, Rate: 300, Produced: 3600, WorkMs: 2, EventAtSec: 4,
			Topics: []TopicSpec{{"t-orders", 6}, {"t-payments", 12}},
			Metrics: Metrics{GroupMaxGapMs: pause, BaselineGapMs: base, Lost: lost, Processed: 3600 - lost, OwnedAgainMs: 1000,
				LongestUnownedMs: 20, Revoked: 18, MemberGaps: []MemberGap{{"m0", pause + 10}}},
			Timeline: Timeline{Members: []string{"m0", "m1"}, Partitions: []string{"t-orders-0", "t-orders-1"}, StartSec: 0, RateBucketSec: 0.1,
				Rate:      []float64{300, 0, 300, 300},
				Ownership: []Interval{{"m0", 0, 0, 0.2}, {"m1", 1, 0, 0.4}, {"m1", 0, 0.25, 0.4}},
				Marks:     []Mark{{0.1, "m3 joins"}}},
		}
		c.Repeats = repeats
		c.Rerun = DefaultConfig().Rerun(c.Name())
		return c
	}
	return Result{Run: labrun.Run{Seed: 7, Brokers: []string{"b:1"}}, SessionTimeoutMs: 10000, ConsumerSessionTimeoutMs: 45000,
		Cells: []Cell{cell("join", "range", "plain", 2000, 60, 0), cell("join", "cooperative-sticky", "plain", 50, 60, 0),
			cell("join", "kip848-uniform", "plain", 40, 60, 0), cell("kill", "cooperative-sticky", "parallel", 30, 60, 0)}}
}

// The answer on a small Result: the join target judged per protocol, then
// what kpar's member lost, each computed from the data.
func TestDocAnswersWithTheJoinTargetAndTheLosses(t *testing.T) {
	d := Doc(sampleResult())
	if len(d.Answer) != 2 {
		t.Fatalf("answer: %d findings, want the join target and the parallel member's losses: %+v", len(d.Answer), d.Answer)
	}
	join := d.Answer[0]
	if join.Target == "" || join.Verdict != "met" || !strings.Contains(join.Text, "eager range stopped the whole group for 2,000 ms") ||
		strings.Contains(join.Text, "met") {
		t.Errorf("join finding: %+v", join)
	}
	if f := d.Answer[1]; f.Target != "" || !strings.Contains(f.Text, "lost nothing in any of its 1 cell") {
		t.Errorf("loss finding: %+v", f)
	}
	// One protocol past 5x, one short of it: mixed.
	r := sampleResult()
	r.Cells[2].Metrics.GroupMaxGapMs = 1000
	if v := Doc(r).Answer[0].Verdict; v != "mixed (1 of 2)" {
		t.Errorf("one of two protocols under 5x: verdict %q", v)
	}
	// No comparison to make: the answer sums the cells up.
	r.Cells = r.Cells[:1]
	if a := Doc(r).Answer; len(a) != 1 || !strings.Contains(a[0].Text, "the longest whole-group pause was 2,000 ms in join/range") {
		t.Errorf("one cell: answer %+v", a)
	}
}

// The findings are computed from the data: change the data and they
// change.
func TestFindingsFollowTheData(t *testing.T) {
	r := sampleResult()
	all := testkit.Findings(Doc(r))
	for _, want := range []string{"eager range stopped the whole group for 2,000 ms", "cooperative-sticky 50 ms (40.0x shorter)",
		"(target each incremental protocol pauses the whole group on a join 5x shorter than eager range: met)", "kpar's parallel member lost nothing in any of its 1 cell",
		"kill/cooperative-sticky/parallel after 1.0 s (classic, session timeout 10 s"} {
		if !strings.Contains(all, want) {
			t.Errorf("findings lack %q:\n%s", want, all)
		}
	}
	// Range no slower than the ordinary gaps: the target is missed and why.
	r.Cells[0].Metrics.GroupMaxGapMs = 100
	r.Cells[1].Metrics.GroupMaxGapMs = 200
	r.Cells[3].Metrics.Lost = 4
	all = testkit.Findings(Doc(r))
	for _, want := range []string{"Not 5x shorter: cooperative-sticky and kip848-uniform. This run cannot show the target: range's 100 ms is less than 5x the ordinary gaps",
		"shorter than eager range: missed)", "cooperative-sticky 200 ms (2.0x longer)", "kpar's parallel member **lost** records in kill/cooperative-sticky/parallel (4)"} {
		if !strings.Contains(all, want) {
			t.Errorf("changed data: findings lack %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, ": met)") {
		t.Errorf("the target still reads as met:\n%s", all)
	}
	// A kill after which some partition never had an owner again is not
	// among the ones "owned again".
	r.Cells[3].Metrics.OwnedAgainMs = -1
	all = testkit.Findings(Doc(r))
	if strings.Contains(all, "every partition was owned again") || !strings.Contains(all, "had no live owner until the cell ended: kill/cooperative-sticky/parallel") {
		t.Errorf("a kill cell never owned again:\n%s", all)
	}
	r.Cells[1].Error = "member m3 did not come up"
	if md := render.Markdown(Doc(r)); !strings.Contains(md, "**failed**: member m3 did not come up") || !strings.Contains(md, "1 of 4 cells failed") {
		t.Errorf("a failed cell is not in the Markdown:\n%s", md)
	}
}

func TestViewsWriteTheMarkdownAndEveryTimelineInBothFormats(t *testing.T) {
	r := sampleResult()
	names := testkit.WriteViews(t, render.Views(Doc(r))...)
	// The Markdown, the pauses chart and a timeline per cell, each twice.
	if len(names) != 1+2*(1+len(r.Cells)) || !slices.Contains(names, "lab-group-join-kip848-uniform.png") ||
		!slices.Contains(names, "lab-group-kill-cooperative-sticky-parallel.svg") || !slices.Contains(names, "lab-group-pauses.svg") {
		t.Fatalf("views %v", names)
	}
	md := render.Markdown(Doc(r))
	testkit.Contains(t, "Markdown", md, "| join/range | classic | 2,000 | 60 |", "lab-group-join-range.svg", "--cell join/range --seed")
}

// A timeline has a lane per partition, a span per ownership interval
// labelled with its member, the group's rate and the marks.
func TestTimelineChartCarriesOwnershipRateAndMarks(t *testing.T) {
	c := timelineChart(sampleResult().Cells[0])
	if c.Kind != doc.Timeline || len(c.Lanes) != 2 || c.Lanes[0].Name != "orders-0" || len(c.Lanes[0].Spans) != 2 ||
		c.Lanes[1].Spans[0] != (doc.Span{From: 0, To: 0.4, Label: "m1"}) {
		t.Fatalf("lanes %+v", c.Lanes)
	}
	if len(c.Series) != 1 || len(c.Series[0].Y) != 4 || c.Series[0].X[0] != 0.05 || len(c.Marks) != 1 || c.Marks[0].Label != "m3 joins" {
		t.Fatalf("series %+v marks %+v", c.Series, c.Marks)
	}
}
