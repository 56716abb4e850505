package soak

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kpar/kpar/internal/clock"
	"github.com/kpar/kpar/internal/doc"
)

// Doc is everything the soak says about r: the guarantees kpar's strategies
// must keep, judged; the faults against each strategy's throughput and the
// checker's counts; every fault with its recovery times.
func Doc(r Result) doc.Doc {
	d := doc.Doc{Name: "soak", Title: "Chaos soak", Command: r.Command, Answer: answer(r)}
	d.Body = []doc.Block{
		{Title: "Faults against each strategy's throughput", Text: []string{faultCount(r)}, Chart: timeline(r)},
		{Title: "Per strategy", Table: checks(r)},
	}
	var skipped []string
	for _, s := range r.Skipped {
		skipped = append(skipped, "not run: "+s)
	}
	d.Details = []doc.Block{{Text: []string{r.Wiring + "."}, List: skipped}, faultTable(r)}
	return d
}

// kparMode reports whether strategy is kpar's own library (must lose nothing).
func kparMode(s string) bool {
	return strings.HasPrefix(s, "lib-") || s == "eos" || s == "kpar-share"
}

func verdict(pass ...bool) string { return clock.Judge(pass).Word }

// answer: what kpar's strategies lost, eos duplicated and lib-key reordered,
// against their targets, and how fast each recovered from the broker kills.
func answer(r Result) []doc.Finding {
	var out, exact []doc.Finding
	var lost []string
	var zero []bool
	for _, c := range r.Checks {
		ch := c.Check
		switch {
		case c.Error != "":
			out = append(out, doc.Judged("checked", "missed", "%s: not checked: %s", c.Strategy, c.Error))
			continue
		case c.Strategy == "eos":
			exact = append(exact, doc.Judged("0 duplicated", verdict(ch.Duplicated == 0), "eos duplicated %s entries", doc.Int(ch.Duplicated)))
		case c.Strategy == "lib-key":
			exact = append(exact, doc.Judged("0 reordered", verdict(ch.Reordered == 0), "lib-key reordered %s records within a key", doc.Int(ch.Reordered)))
		}
		if kparMode(c.Strategy) {
			lost = append(lost, fmt.Sprintf("%s %s", c.Strategy, doc.Int(ch.Lost)))
			zero = append(zero, ch.Lost == 0)
		}
	}
	if len(lost) > 0 {
		out = append(out, doc.Judged("0 lost", verdict(zero...), "Records lost by kpar's strategies: %s", doc.Listing(lost)))
	}
	out = append(out, exact...)
	var parts []string
	var back []bool
	kills, observed := 0, 0.0
	for _, s := range r.Strategies {
		rc, ok := brokerKillRecovery(r, s)
		if !ok {
			continue
		}
		kills, observed = len(rc.secs)+rc.missed, rc.window
		parts = append(parts, s+" "+rc.String())
		back = append(back, rc.met())
	}
	if len(parts) > 0 {
		out = append(out, doc.Judged("back within 30 s", verdict(back...),
			"After %s (each observed for at least %.0f s without another fault), the rate was back to 90%% of before in (min / median / max): %s",
			doc.Plural(kills, "broker kill", "broker kills"), observed, doc.Listing(parts)))
	}
	if f, ok := exitFinding(r.MemberExits); ok {
		out = append(out, f)
	}
	return out
}

// exitFinding counts the members that ended on their own, per strategy,
// with the first one's reason.
func exitFinding(exits []MemberExit) (doc.Finding, bool) {
	if len(exits) == 0 {
		return doc.Finding{}, false
	}
	per := map[string]int{}
	var order []string
	for _, e := range exits {
		if per[e.Strategy] == 0 {
			order = append(order, e.Strategy)
		}
		per[e.Strategy]++
	}
	var parts []string
	for _, s := range order {
		parts = append(parts, fmt.Sprintf("%s %d", s, per[s]))
	}
	e := exits[0]
	return doc.Finding{Text: fmt.Sprintf("Members that ended on their own (static ones restarted, as an application would): %s; the first, %s %s at %.0f s: %s",
		doc.Listing(parts), e.Strategy, e.Slot, e.Sec, e.Reason)}, true
}

// recovery is one strategy's recovery times after the broker kills.
type recovery struct {
	secs     []float64
	missed   int     // not back while observed
	observed float64 // the shortest span a missed one was observed for
	window   float64 // the shortest span any kill was observed for
}

func (rc recovery) met() bool {
	return rc.missed == 0 && len(rc.secs) > 0 && slices.Max(rc.secs) <= 30
}

// String is min / median / max, and how many were not back.
func (rc recovery) String() string {
	s := "none back"
	if sp := clock.SpreadOf(rc.secs); len(rc.secs) > 0 {
		s = fmt.Sprintf("%.1f / %.1f / %.1f s", sp.Min, sp.Median, sp.Max)
	}
	if rc.missed > 0 {
		s += fmt.Sprintf(", %d of %d not back within the %.0f s observed", rc.missed, rc.missed+len(rc.secs), rc.observed)
	}
	return s
}

func brokerKillRecovery(r Result, s string) (recovery, bool) {
	var rc recovery
	for _, f := range r.Faults {
		if f.Kind != BrokerKill || f.Error != "" {
			continue
		}
		for _, e := range f.Effects {
			if e.Strategy != s {
				continue
			}
			if rc.missed+len(rc.secs) == 0 || e.ObservedSec < rc.window {
				rc.window = e.ObservedSec
			}
			if e.RecoverySec < 0 {
				if rc.missed == 0 || e.ObservedSec < rc.observed {
					rc.observed = e.ObservedSec
				}
				rc.missed++
			} else {
				rc.secs = append(rc.secs, e.RecoverySec)
			}
		}
	}
	return rc, len(rc.secs)+rc.missed > 0
}

// faultCount is what the soak did, by kind.
func faultCount(r Result) string {
	count := map[string]int{}
	for _, f := range r.Faults {
		if f.Error == "" {
			count[f.Kind]++
		}
	}
	return fmt.Sprintf("%.0f s of faults on 3 nodes: %d consumer kills, %d joins, %d leaves, %d broker kills, %d broker freezes, %d leader moves, %d network faults (%d delay, %d reset, %d blackhole).",
		r.DurationSeconds, count[ConsumerKill], count[Join], count[Leave], count[BrokerKill], count[BrokerFreeze], count[LeaderMove],
		count[NetDelay]+count[NetDrop]+count[NetPartition], count[NetDelay], count[NetDrop], count[NetPartition])
}

// checks is the checker's counts, one row per strategy, with the most
// duplicates one fault left and the recovery after the broker kills.
func checks(r Result) *doc.Table {
	t := &doc.Table{Head: []string{"strategy", "input", "lost", "duplicated entries (records)", "most after one fault (in flight)",
		"reordered within a key", "dead-lettered", "caught up", "broker kills: back in s (min / median / max)"},
		Num: []bool{false, true, true, true, true, true, true, false, true}}
	for _, c := range r.Checks {
		if c.Error != "" {
			t.Rows = append(t.Rows, []string{c.Strategy, "not checked: " + c.Error, "", "", "", "", "", "", ""})
			continue
		}
		ch := c.Check
		worst, inFlight := 0, 0
		for _, f := range r.Faults {
			for _, e := range f.Effects {
				if e.Strategy == c.Strategy && e.Duplicates > worst {
					worst, inFlight = e.Duplicates, e.InFlight
				}
			}
		}
		back := "-"
		if rc, ok := brokerKillRecovery(r, c.Strategy); ok {
			back = rc.String()
		}
		t.Rows = append(t.Rows, []string{c.Strategy, doc.Int(ch.Input), doc.Int(ch.Lost), fmt.Sprintf("%s (%s)", doc.Int(ch.Duplicated), doc.Int(ch.DuplicatedRecords)),
			fmt.Sprintf("%d (%d)", worst, inFlight), doc.Int(ch.Reordered), doc.Int(ch.DeadLettered), map[bool]string{true: "yes", false: "no"}[c.Drained], back})
	}
	return t
}

// faultTable is every fault with each strategy's recovery time.
func faultTable(r Result) doc.Block {
	t := &doc.Table{Head: []string{"start s", "fault", "what"}, Num: []bool{true, false, false}}
	for _, s := range r.Strategies {
		t.Head, t.Num = append(t.Head, s+" recovery s"), append(t.Num, true)
	}
	for _, f := range r.Faults {
		what := f.Note
		if f.Error != "" {
			what += " ERROR " + f.Error
		}
		row := []string{doc.F1(f.StartSec), f.Kind, what}
		for _, e := range f.Effects {
			switch {
			case e.RecoverySec >= 0:
				row = append(row, doc.F1(e.RecoverySec))
			case f.StartSec+e.ObservedSec-max(f.HealedSec, f.StartSec) < recoveryWindow:
				// Healed less than a rate window before the next fault.
				row = append(row, "next fault first")
			default:
				row = append(row, fmt.Sprintf("not within %.0f", e.ObservedSec))
			}
		}
		t.Rows = append(t.Rows, row)
	}
	return doc.Block{Title: "Faults", Table: t}
}

// timeline draws the rates of timeline.csv, each fault as a mark at its
// start and a span to its healing on the lane of what it hit.
func timeline(r Result) *doc.Chart {
	ch := &doc.Chart{Name: "timeline", Title: fmt.Sprintf("Chaos soak: faults and throughput (seed %d)", r.Seed), Kind: doc.Timeline,
		X: doc.Axis{Label: "time", Unit: "s"}, Y: doc.Axis{Label: "throughput", Unit: "records/s"}}
	for _, n := range append([]string{""}, r.Strategies...) {
		s := doc.Series{Name: n, Dashed: n == ""}
		s.X, s.Y = perSecond(r.Timeline, n)
		if n == "" {
			s.Name = "input"
		}
		ch.Series = append(ch.Series, s)
	}
	lane := map[string]int{}
	for _, f := range r.Faults {
		ch.Marks = append(ch.Marks, doc.Mark{X: f.StartSec, Label: f.Kind})
		name := f.Strategy
		if name == "" {
			name = fmt.Sprintf("node %d", f.Node)
		}
		i, ok := lane[name]
		if !ok {
			i, lane[name] = len(ch.Lanes), len(ch.Lanes)
			ch.Lanes = append(ch.Lanes, doc.Lane{Name: name})
		}
		ch.Lanes[i].Spans = append(ch.Lanes[i].Spans, doc.Span{From: f.StartSec, To: max(f.HealedSec, f.StartSec+0.5), Label: f.Kind})
	}
	if len(ch.Lanes) == 0 {
		ch.Kind = doc.Line // no fault: the throughput alone
	}
	return ch
}
