package downstream

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kpar/kpar/internal/clock"
	"github.com/kpar/kpar/internal/doc"
)

var (
	phaseNames = []string{"steady", "halved", "recovered"}
	perS, p99  = func(p Phase) float64 { return p.PerS }, func(p Phase) float64 { return p.P99Ms }
)

// Doc is what a result says: the adaptive contender against the best fixed
// setting (the targets), who did best in each phase, and the timelines.
func Doc(r Result) doc.Doc {
	c := r.Config
	d := doc.Doc{Name: "downstream", Title: "Downstream: fixed, adaptive and rate-limited concurrency", Command: r.Command}
	var rest []doc.Finding
	for _, t := range r.Targets {
		if f := targetFinding(r, t); t.Name == "best-before-suffers" {
			rest = append(rest, f)
		} else {
			d.Answer = append(d.Answer, f)
		}
	}
	d.Body = []doc.Block{{Findings: append(rest, r.winners()...)},
		{Chart: r.throughputChart()}, {Chart: r.limitChart()}, {Table: r.summaryTable()}}
	d.Details = []doc.Block{{Title: "Setup", Text: []string{fmt.Sprintf("Simulated downstream: %d calls at once at %g ms, FIFO queue beyond, "+
		"calls not done by %g ms fail (retried in place by the library, up to %d attempts). Phases: steady %g s (capacity %d), "+
		"halved %g s (capacity %d), recovered %g s (capacity %d). Measured windows skip the first %g s of steady and the first %g s "+
		"after each change. %d partitions, order %s. %s: median (min-max). Records/s are successful calls per second of the window.",
		c.Capacity, c.BaseLatencyMs, c.TimeoutMs, c.Attempts, c.SteadySec, c.Capacity, c.HalvedSec, c.Capacity/2,
		c.RecoveredSec, c.Capacity, c.WarmupSec, c.SettleSec, c.Partitions, c.Order, doc.Plural(c.Repeat, "repeat", "repeats"))}}}
	t := &doc.Table{Head: []string{"phase", "contender", "records/s", "p50 ms", "p99 ms", "errors", "retries"},
		Num: []bool{false, false, true, true, true, true, true}}
	for _, ph := range phaseNames {
		for _, ct := range r.Contenders {
			f := func(g func(Phase) float64, format func(float64) string) string {
				return spread(r.figure(ct.Name, ph, g), format)
			}
			t.Rows = append(t.Rows, []string{ph, ct.Name, f(perS, doc.Num), f(func(p Phase) float64 { return p.P50Ms }, doc.F1), f(p99, doc.F1),
				f(func(p Phase) float64 { return float64(p.Errors) }, doc.Num), f(func(p Phase) float64 { return float64(p.Retries) }, doc.Num)})
		}
	}
	d.Details = append(d.Details, doc.Block{Title: "Every phase", Table: t})
	return d
}

// targetFinding states one target's figure per repeat, the target being its
// goal as judged.
func targetFinding(r Result, t Target) doc.Finding {
	ad, v, names := r.adaptive().Name, values(t.Values, func(x float64) string { return doc.F2(x) + "x" }), t.Against
	if len(slices.Compact(slices.Clone(names))) == 1 {
		names = names[:1] // the same setting in every repeat
	}
	against := strings.Join(names, ", ")
	per := ""
	if len(t.Values) > 1 {
		per = " (per repeat)"
	}
	var s string
	switch t.Name {
	case "steady-throughput":
		s = fmt.Sprintf("In the steady phase %s ran at **%s** the records/s of the best fixed setting (%s)%s.", ad, v, against, per)
	case "steady-p99":
		s = fmt.Sprintf("In the steady phase %s's p99 was **%s** that of the best fixed setting (%s)%s.", ad, v, against, per)
	case "steady-errors":
		s = fmt.Sprintf("In the steady phase %s had **%s** downstream %s%s; the fixed setting above capacity with the fewest: %s.",
			ad, values(t.Values, doc.Num), errorsWord(t.Values), per, against)
	case "halved-throughput":
		s = fmt.Sprintf("With the capacity halved %s ran at **%s** the records/s of the best fixed setting (%s)%s.", ad, v, against, per)
	case "best-before-suffers":
		var errs []float64
		for rep, name := range t.Against {
			x, _ := r.run(name, rep)
			errs = append(errs, float64(x.Phase("halved").Errors))
		}
		s = fmt.Sprintf("With the capacity halved the fixed setting best in the steady phase (%s) had a p99 **%s** its steady p99 and %s %s%s.",
			against, v, values(errs, doc.Num), errorsWord(errs), per)
	default:
		s = fmt.Sprintf("%s: %s%s.", t.Name, v, per)
	}
	return doc.Finding{Text: s, Target: t.Goal, Verdict: t.Verdict.Word}
}

// winners names, per phase, the contender with the highest median
// records/s and the one with the lowest median p99.
func (r Result) winners() []doc.Finding {
	var out []doc.Finding
	for _, ph := range phaseNames {
		bestT, bestP := "", ""
		var t, p float64
		for _, ct := range r.Contenders {
			ts, ps := r.figure(ct.Name, ph, perS).Median, r.figure(ct.Name, ph, p99).Median
			if bestT == "" || ts > t {
				bestT, t = ct.Name, ts
			}
			if bestP == "" || ps < p {
				bestP, p = ct.Name, ps
			}
		}
		out = append(out, doc.Say("%s: most records/s **%s** (%s/s); lowest p99 **%s** (%s ms).", strings.ToUpper(ph[:1])+ph[1:], bestT, doc.Num(t), bestP, doc.F1(p)))
	}
	return out
}

// summaryTable is every contender's median records/s and p99 by phase.
func (r Result) summaryTable() *doc.Table {
	t := &doc.Table{Head: []string{"contender"}, Num: []bool{false}}
	for _, ph := range phaseNames {
		t.Head, t.Num = append(t.Head, ph+" records/s", ph+" p99 ms"), append(t.Num, true, true)
	}
	for _, ct := range r.Contenders {
		row := []string{ct.Name}
		for _, ph := range phaseNames {
			row = append(row, doc.Num(r.figure(ct.Name, ph, perS).Median), doc.F1(r.figure(ct.Name, ph, p99).Median))
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// marks are the capacity changes, seconds since the first call.
func (c ConfigData) marks() []doc.Mark {
	return []doc.Mark{{X: c.SteadySec, Label: "capacity halved"}, {X: c.SteadySec + c.HalvedSec, Label: "capacity restored"}}
}

var timeAxis = doc.Axis{Label: "time since the first call", Unit: "s"}

// throughputChart is records/s per tick of every contender's first repeat.
func (r Result) throughputChart() *doc.Chart {
	ch := &doc.Chart{Name: "downstream-throughput", Kind: doc.Line, X: timeAxis, Y: doc.Axis{Label: "throughput", Unit: "records/s"},
		Title: fmt.Sprintf("Records/s per %g s tick, first repeat (capacity %d)", r.Config.TickSec, r.Config.Capacity), Marks: r.Config.marks()}
	for _, ct := range r.Contenders {
		x, _ := r.run(ct.Name, 0)
		s := doc.Series{Name: ct.Name}
		for j := 1; j < len(x.Timeline); j++ {
			a, b := x.Timeline[j-1], x.Timeline[j]
			if dt := b.Sec - a.Sec; dt > 0 {
				s.X, s.Y = append(s.X, b.Sec), append(s.Y, float64(b.Completed-a.Completed)/dt)
			}
		}
		if len(s.X) > 0 {
			ch.Series = append(ch.Series, s)
		}
	}
	return ch
}

// limitChart is the adaptive contender's limit and its workers holding
// records (Stats.InFlight: running a handler or waiting for a slot) in its
// first repeat, against the downstream's capacity.
func (r Result) limitChart() *doc.Chart {
	ad, c := r.adaptive(), r.Config
	x, _ := r.run(ad.Name, 0)
	lim, fl, cp := doc.Series{Name: "limit"}, doc.Series{Name: "in flight (Stats.InFlight)"}, doc.Series{Name: "downstream capacity", Dashed: true}
	for _, s := range x.Timeline {
		n := c.Capacity
		if s.Sec >= c.SteadySec && s.Sec < c.SteadySec+c.HalvedSec {
			n /= 2
		}
		lim.X, lim.Y = append(lim.X, s.Sec), append(lim.Y, float64(s.Limit))
		fl.X, fl.Y = append(fl.X, s.Sec), append(fl.Y, float64(s.InFlight))
		cp.X, cp.Y = append(cp.X, s.Sec), append(cp.Y, float64(n))
	}
	return &doc.Chart{Name: "downstream-limit", Kind: doc.Line, X: timeAxis, Y: doc.Axis{Label: "concurrency", Unit: "calls"}, Marks: c.marks(),
		Title: ad.Name + ": its limit, workers holding records (in a handler or waiting for a slot) and the capacity", Series: []doc.Series{lim, fl, cp}}
}

// figure is one contender's phase figure over the repeats.
func (r Result) figure(name, phase string, f func(Phase) float64) clock.Spread {
	var xs []float64
	for _, x := range r.Runs {
		if x.Contender == name {
			xs = append(xs, f(x.Phase(phase)))
		}
	}
	return clock.SpreadOf(xs)
}

// spread is "median (min-max)", each formatted by f.
func spread(s clock.Spread, f func(float64) string) string {
	if s.Min == s.Max {
		return f(s.Median)
	}
	return fmt.Sprintf("%s (%s-%s)", f(s.Median), f(s.Min), f(s.Max))
}

// errorsWord is "error" after the one count 1, else "errors".
func errorsWord(counts []float64) string {
	if len(counts) == 1 && counts[0] == 1 {
		return "error"
	}
	return "errors"
}

// values lists xs formatted by f: "0.96, 0.75".
func values(xs []float64, f func(float64) string) string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return strings.Join(out, ", ")
}
