package consumer

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kpar/kpar/internal/doc"
	"github.com/kpar/kpar/internal/lab/strategy"
)

// Doc is everything the lab says about r: who lost, replayed or reordered
// records, the lost chart and a strategy x scenario table; every count, the
// other charts and the commands that re-run each cell in the details.
func Doc(r Result) doc.Doc {
	strategies, scenarios := axes(r)
	d := doc.Doc{Name: "lab-consumer", Title: "kpar lab consumer", Command: r.Command, Answer: answer(r, strategies, scenarios)}
	d.Body = []doc.Block{
		{Title: "Lost records", Chart: chart(r, "lost", strategies, scenarios)},
		{Title: "Per strategy and fault (dup: processed twice, reord: out of key order, dlq: dead-lettered; a count marked * may move on a re-run with the same seed)", Table: outcomes(r, strategies, scenarios)},
	}
	d.Details = append([]doc.Block{{Text: []string{method(r)}}, {Title: "Every count", Table: counts(r)}},
		doc.Block{Title: "Duplicated processings", Chart: chart(r, "duplicated", strategies, scenarios)},
		doc.Block{Title: "Reordered records", Chart: chart(r, "reordered", strategies, scenarios)},
		doc.Block{Title: "Records/s", Chart: chart(r, "records_per_sec", strategies, scenarios)})
	if f := permanentFindings(r); len(f) > 0 {
		d.Details = append(d.Details, doc.Block{Title: "Records that always fail", Text: []string{"What each strategy did with the records " +
			"whose handler always fails, counted from the workers' reports until the cell ended."}, Findings: f})
	}
	d.Details = append(d.Details, shareBlocks(r)...)
	d.Details = append(d.Details, pcBlocks(r)...)
	if f := speedFindings(r); len(f) > 0 {
		d.Details = append(d.Details, doc.Block{Title: "Speed against " + SpeedBaseline + " (reported, never asserted)",
			Text: []string{"Each strategy's records/s against " + SpeedBaseline + "'s in the same scenario of this run. One run per " +
				"cell on a shared machine, so small differences are noise."}, Findings: f})
	}
	d.Details = append(d.Details, whyBlock(r)...)
	var reruns []string
	for _, c := range r.Cells {
		reruns = append(reruns, "`"+c.Rerun+"`")
	}
	if len(reruns) > 0 {
		d.Details = append(d.Details, doc.Block{Title: "Re-run one cell", List: reruns})
	}
	return d
}

// axes are the run's strategies and scenarios in the order they ran.
func axes(r Result) (strategies, scenarios []string) {
	for _, c := range r.Cells {
		strategies, scenarios = addNew(strategies, c.Strategy), addNew(scenarios, c.Scenario)
	}
	return strategies, scenarios
}

// addNew appends s to list unless it is there.
func addNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// cellAt is the cell of strategy st under scenario sc.
func cellAt(r Result, st, sc string) (Cell, bool) {
	i := slices.IndexFunc(r.Cells, func(c Cell) bool { return c.Strategy == st && c.Scenario == sc })
	if i < 0 {
		return Cell{}, false
	}
	return r.Cells[i], true
}

// answer: who lost records under which faults, who replayed or reordered,
// which cells failed.
func answer(r Result, strategies, scenarios []string) []doc.Finding {
	lost := map[string][]string{}
	var dup, reord, failed []string
	for _, c := range r.Cells {
		if c.Error != "" {
			failed = append(failed, c.Strategy+"/"+c.Scenario)
			continue
		}
		if n := c.LostNotArchived(); n > 0 {
			lost[c.Strategy] = append(lost[c.Strategy], fmt.Sprintf("%s under %s", doc.Int(n), c.Scenario))
		}
		if c.Check.Duplicated > 0 {
			dup = addNew(dup, c.Strategy)
		}
		if c.Check.Reordered > 0 {
			reord = addNew(reord, c.Strategy)
		}
	}
	var losers, safe []string
	for _, st := range strategies {
		if l, ok := lost[st]; ok {
			losers = append(losers, fmt.Sprintf("**%s** (%s)", st, strings.Join(l, ", ")))
		} else {
			safe = append(safe, st)
		}
	}
	a := fmt.Sprintf("Of %s under %s, ", doc.Plural(len(strategies), "strategy", "strategies"), doc.Listing(scenarios))
	switch {
	case len(losers) == 0:
		a += "none lost a record."
	case len(safe) > 0:
		a += fmt.Sprintf("%d lost records: %s; %s lost none.", len(losers), strings.Join(losers, "; "), doc.Listing(safe))
	default:
		a += fmt.Sprintf("%d lost records: %s.", len(losers), strings.Join(losers, "; "))
	}
	out := []doc.Finding{{Text: a}}
	var b []string
	if len(dup) > 0 {
		b = append(b, "processed records twice: "+doc.Listing(dup))
	}
	if len(reord) > 0 {
		b = append(b, "broke key order: "+doc.Listing(reord))
	}
	if len(b) > 0 {
		out = append(out, doc.Finding{Text: "Strategies that " + strings.Join(b, "; that ") + "."})
	}
	if len(failed) > 0 {
		out = append(out, doc.Finding{Text: fmt.Sprintf("%s failed (%s).", doc.Plural(len(failed), "cell", "cells"), doc.Listing(failed))})
	}
	return out
}

// outcome is one cell in a few words, from its counts alone.
func outcome(c Cell) string {
	if c.Error != "" {
		return "**failed**"
	}
	var what []string
	if n := c.LostNotArchived(); n > 0 {
		what = append(what, "**lost "+c.Count("lost", n)+"**")
	}
	for _, m := range []struct {
		name, word string
		n          int
	}{{"duplicated", "dup", c.Check.Duplicated}, {"reordered", "reord", c.Check.Reordered}, {"dead_lettered", "dlq", c.Check.DeadLettered}} {
		if m.n > 0 {
			what = append(what, c.Count(m.name, m.n)+" "+m.word)
		}
	}
	if c.Share != nil && c.Share.Archived > 0 {
		what = append(what, c.Count("archived", c.Share.Archived)+" archived")
	}
	s := strings.Join(what, ", ")
	if s == "" {
		s = "clean"
	}
	if c.Stalled {
		s = "stalled: " + s
	}
	return s
}

// outcomes is the compact table: a row per strategy, a column per scenario.
func outcomes(r Result, strategies, scenarios []string) *doc.Table {
	t := &doc.Table{Head: append([]string{"strategy"}, scenarios...)}
	for _, st := range strategies {
		row := []string{st}
		for _, sc := range scenarios {
			cell := "-"
			if c, ok := cellAt(r, st, sc); ok {
				cell = outcome(c)
			}
			row = append(row, cell)
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// method says how the counts were made and how to read them.
func method(r Result) string {
	s := "Counts come from the checker (the input topic against the processed log)"
	if len(r.Cells) > 0 {
		c := r.Cells[0]
		s += fmt.Sprintf(": %s records, %d partitions, %d keys, %d workers per process, at most %d records per poll",
			doc.Int(c.Records), c.Partitions, c.Keys, c.Workers, c.MaxPoll)
	}
	s += fmt.Sprintf("; seed %d, brokers %s. ", r.Seed, strings.Join(r.Brokers, ","))
	if slices.ContainsFunc(r.Cells, func(c Cell) bool { return c.Share != nil }) {
		s += "Lost leaves out what a share group archived on purpose (the archived column, share strategies only). "
	}
	return s + "A count marked * is timing-dependent: a re-run with the same seed may move it; unmarked counts repeat exactly. " +
		"Records/s is noisy on a shared machine."
}

// counts is every count of every cell.
func counts(r Result) *doc.Table {
	t := &doc.Table{Head: []string{"strategy", "scenario", "lost", "duplicated", "reordered", "dead-lettered", "archived", "records/s",
		"crashes", "joins", "commit errors", "partitions lost", "seed", "note"},
		Num: []bool{false, false, true, true, true, true, true, true, true, true, true, true, true, false}}
	for _, c := range r.Cells {
		note := ""
		switch {
		case c.Error != "":
			note = "error: " + strings.SplitN(strings.TrimSpace(c.Error), "\n", 2)[0]
		case c.Stalled:
			note = fmt.Sprintf("stalled: no progress for %gs", c.StallTimeoutSeconds)
		}
		archived := "-"
		if c.Share != nil {
			archived = c.Count("archived", c.Share.Archived)
		}
		t.Rows = append(t.Rows, []string{c.Strategy, c.Scenario, c.Count("lost", c.LostNotArchived()), c.Count("duplicated", c.Check.Duplicated),
			c.Count("reordered", c.Check.Reordered), c.Count("dead_lettered", c.Check.DeadLettered), archived,
			doc.Num(c.Check.RecordsPerSec), fmt.Sprintf("%d/%d", c.Crashes, len(c.CrashPoints)), doc.Int(c.Joins),
			doc.Int(c.CommitErrorsLogged), doc.Int(c.PartitionsLostLogged), fmt.Sprint(c.Seed), note})
	}
	return t
}

// chart is a grouped bar chart of metric (lost, duplicated, reordered or
// records_per_sec): one group per strategy, one bar per scenario.
func chart(r Result, metric string, strategies, scenarios []string) *doc.Chart {
	m := map[string]struct {
		y     doc.Axis
		value func(Cell) float64
	}{
		"lost":            {doc.Axis{Label: "lost", Unit: "records"}, func(c Cell) float64 { return float64(c.LostNotArchived()) }},
		"duplicated":      {doc.Axis{Label: "duplicated", Unit: "processings"}, func(c Cell) float64 { return float64(c.Check.Duplicated) }},
		"reordered":       {doc.Axis{Label: "out of key order", Unit: "records"}, func(c Cell) float64 { return float64(c.Check.Reordered) }},
		"records_per_sec": {doc.Axis{Label: "throughput", Unit: "records/s"}, func(c Cell) float64 { return c.Check.RecordsPerSec }},
	}[metric]
	ch := &doc.Chart{Name: "lab-consumer-" + metric, Title: fmt.Sprintf("kpar lab consumer: %s (seed %d)", m.y.Label, r.Seed), Kind: doc.Bars,
		X: doc.Axis{Label: "strategy", Categories: strategies}, Y: m.y}
	for _, sc := range scenarios {
		s := doc.Series{Name: sc, Y: make([]float64, len(strategies))}
		for i, st := range strategies {
			if c, ok := cellAt(r, st, sc); ok && c.Error == "" {
				s.Y[i] = m.value(c)
			}
		}
		ch.Series = append(ch.Series, s)
	}
	return ch
}

// whyBlock says why the starred counts move, and what a crash and a kill are.
func whyBlock(r Result) []doc.Block {
	var whys []string
	for _, c := range r.Cells {
		if c.Why != "" {
			whys = addNew(whys, c.Why)
		}
	}
	if len(whys) == 0 {
		return nil
	}
	var text []string
	has := func(f string) bool {
		return slices.ContainsFunc(r.Cells, func(c Cell) bool { return strings.Contains("+"+c.Scenario+"+", "+"+f+"+") })
	}
	if has("crash") {
		text = append(text, "A crash freezes the consumer after a seeded number of handler invocations and SIGKILLs it once "+
			"every admitted invocation wrote its entry and the group's commits stopped moving.")
	}
	if has("kill") {
		text = append(text, "A kill SIGKILLs the consumer the instant its processed-log count reaches a seeded point, with "+
			"handlers, processed-log writes and a commit in flight.")
	}
	return []doc.Block{{Title: "Why the starred counts move between re-runs of a cell (records/s always does)", List: whys}, {Text: text}}
}

// speedFindings states r.Speed, one sentence per scenario.
func speedFindings(r Result) []doc.Finding {
	var scenarios []string
	for _, s := range r.Speed {
		scenarios = addNew(scenarios, s.Scenario)
	}
	var out []doc.Finding
	for _, sc := range scenarios {
		var parts []string
		var base float64
		for _, s := range r.Speed {
			if s.Scenario == sc {
				base = s.BaselineRecordsPerSec
				parts = append(parts, fmt.Sprintf("%s %.2fx (%.0f records/s)", s.Strategy, s.Ratio, s.RecordsPerSec))
			}
		}
		out = append(out, doc.Say("%s: against %s's %.0f records/s, %s.", sc, SpeedBaseline, base, strings.Join(parts, ", ")))
	}
	return out
}

// permanentFindings says per cell what the strategy did with the records
// that always fail, and for a stalled pc-* cell why.
func permanentFindings(r Result) []doc.Finding {
	var out []doc.Finding
	for _, c := range r.Cells {
		if c.PermanentRecords == 0 {
			continue
		}
		s := fmt.Sprintf("%s/%s: the %d records whose handler always fails got %d handler attempts (at most %d for one record)",
			c.Strategy, c.Scenario, c.PermanentRecords, c.PermanentAttempts, c.PermanentMaxAttempts)
		if c.Stalled {
			s += fmt.Sprintf(" before the cell stalled (no progress for %gs)", c.StallTimeoutSeconds)
		}
		s += fmt.Sprintf("; %d records were dead-lettered and %d lost", c.Check.DeadLettered, c.Check.Lost)
		// At most PermanentRecords of the lost records are ones that fail
		// for good; the rest never failed that way.
		if more := c.Check.Lost - c.PermanentRecords; more > 0 {
			s += fmt.Sprintf(", at least %d of them records that never fail for good but were never processed", more)
		}
		s += "."
		if strategy.NeedsJVM(c.Strategy) && c.Stalled && c.Check.DeadLettered == 0 && c.PermanentAttempts > c.PermanentRecords {
			s += " Parallel Consumer retries a failed record without limit and has no dead-letter topic: " +
				"here it retried, dead-lettered nothing and stalled."
		}
		out = append(out, doc.Finding{Text: s})
	}
	return out
}
