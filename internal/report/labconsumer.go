package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kpar/kpar/internal/lab/consumer"
)

var labConsumerKind = kind{schema: consumer.Schema, version: 4, current: consumer.SchemaVersion, section: "lab", load: loadLabConsumer}

func loadLabConsumer(path string) (Part, error) {
	r, err := consumer.Read(path)
	if err != nil {
		return Part{}, err
	}
	return labConsumerPart(r), nil
}

// starred marks a count the cell says a re-run with the same seed may move.
func starred(c consumer.Cell, name string, n int) string {
	if slices.Contains(c.TimingDependent, name) {
		return inum(n) + "*"
	}
	return inum(n)
}

// cellLesson is one row's lesson, from its counts alone: what the strategy
// did to the records under this scenario.
func cellLesson(c consumer.Cell) string {
	if c.Error != "" {
		return "The cell failed: " + firstLine(c.Error)
	}
	lost := c.LostNotArchived()
	var verdict string
	var what []string
	switch {
	case lost > 0:
		verdict = "**Lost records**"
		what = append(what, fmt.Sprintf("%s of %s never processed", inum(lost), inum(c.Check.Input)))
	case c.Check.Duplicated > 0:
		verdict = "**At-least-once**"
		what = append(what, "lost nothing")
	case c.Check.Reordered > 0:
		verdict = "**Out of key order**"
		what = append(what, "lost nothing, duplicated nothing")
	default:
		verdict = "**Clean**"
		what = append(what, "nothing lost, duplicated or reordered")
	}
	if c.Check.Duplicated > 0 {
		what = append(what, fmt.Sprintf("%s duplicate processings", inum(c.Check.Duplicated)))
	}
	if c.Check.Reordered > 0 {
		what = append(what, fmt.Sprintf("%s records out of key order", inum(c.Check.Reordered)))
	}
	if c.Check.DeadLettered > 0 {
		what = append(what, fmt.Sprintf("%s dead-lettered", inum(c.Check.DeadLettered)))
	}
	if c.Share != nil && c.Share.Archived > 0 {
		what = append(what, fmt.Sprintf("%s archived by the broker (no dead-letter topic)", inum(c.Share.Archived)))
	}
	s := verdict + " under " + c.Scenario + ": " + strings.Join(what, ", ")
	if c.Stalled {
		s += fmt.Sprintf("; it **stalled** (no progress for %gs), so these are the counts when the lab gave up", c.StallTimeoutSeconds)
	}
	if slices.ContainsFunc([]string{"lost", "duplicated", "reordered"}, func(n string) bool { return slices.Contains(c.TimingDependent, n) }) {
		s += "; starred counts move between re-runs with this seed"
	}
	return s + "."
}

// labConsumerAnswer: who lost records, under which faults; who only
// replayed or reordered.
func labConsumerAnswer(r consumer.Result) []string {
	var strategies, scenarios []string
	lost := map[string][]string{}
	var dup, reord, failed []string
	for _, c := range r.Cells {
		if !slices.Contains(strategies, c.Strategy) {
			strategies = append(strategies, c.Strategy)
		}
		if !slices.Contains(scenarios, c.Scenario) {
			scenarios = append(scenarios, c.Scenario)
		}
		if c.Error != "" {
			failed = append(failed, c.Strategy+"/"+c.Scenario)
			continue
		}
		if n := c.LostNotArchived(); n > 0 {
			lost[c.Strategy] = append(lost[c.Strategy], fmt.Sprintf("%s under %s", inum(n), c.Scenario))
		}
		if c.Check.Duplicated > 0 && !slices.Contains(dup, c.Strategy) {
			dup = append(dup, c.Strategy)
		}
		if c.Check.Reordered > 0 && !slices.Contains(reord, c.Strategy) {
			reord = append(reord, c.Strategy)
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
	a := fmt.Sprintf("Of %s under %s, ", plural(len(strategies), "strategy", "strategies"), listing(scenarios))
	switch {
	case len(losers) == 0:
		a += "none lost a record."
	default:
		a += fmt.Sprintf("%d lost records: %s", len(losers), strings.Join(losers, "; "))
		if len(safe) > 0 {
			a += fmt.Sprintf("; %s lost none.", listing(safe))
		} else {
			a += "."
		}
	}
	var b []string
	if len(dup) > 0 {
		b = append(b, fmt.Sprintf("processed records twice: %s", listing(dup)))
	}
	if len(reord) > 0 {
		b = append(b, fmt.Sprintf("broke key order: %s", listing(reord)))
	}
	out := []string{a}
	if len(b) > 0 {
		out = append(out, "Strategies that "+strings.Join(b, "; that ")+".")
	}
	if len(failed) > 0 {
		out[len(out)-1] += fmt.Sprintf(" %d cells failed (%s).", len(failed), listing(failed))
	}
	return out
}

func labConsumerPart(r consumer.Result) Part {
	p := Part{Answer: labConsumerAnswer(r)}
	p.Facts.Seed = fmt.Sprint(r.Seed)
	t := &Table{Head: []string{"strategy", "scenario", "lost", "duplicated", "reordered", "dead-lettered", "records/s", "crashes", "lesson"},
		Num: []bool{false, false, true, true, true, true, true, true, false}}
	for _, c := range r.Cells {
		t.Rows = append(t.Rows, []string{c.Strategy, c.Scenario, starred(c, "lost", c.LostNotArchived()), starred(c, "duplicated", c.Check.Duplicated),
			starred(c, "reordered", c.Check.Reordered), starred(c, "dead_lettered", c.Check.DeadLettered), num(c.Check.RecordsPerSec),
			fmt.Sprintf("%d/%d", c.Crashes, len(c.CrashPoints)), cellLesson(c)})
	}
	if len(r.Cells) > 0 {
		c := r.Cells[0]
		share := ""
		if slices.ContainsFunc(r.Cells, func(c consumer.Cell) bool { return c.Share != nil }) {
			share = "Lost leaves out what a share group archived on purpose. "
		}
		p.Blocks = append(p.Blocks, Block{Text: []string{fmt.Sprintf("Counts come from the checker (the input topic against the processed log): %s records, %d partitions, %d keys, %d workers per process, at most %d records per poll. "+
			"%sA count marked * is timing-dependent: a re-run with the same seed may move it.",
			inum(c.Records), c.Partitions, c.Keys, c.Workers, c.MaxPoll, share)}})
	}
	p.Blocks = append(p.Blocks, Block{Title: "Per strategy and fault", Table: t})
	for _, m := range []struct{ metric, title string }{{"lost", "Lost records"}, {"duplicated", "Duplicated processings"}, {"reordered", "Reordered records"}, {"records_per_sec", "Records/s"}} {
		p.Blocks = append(p.Blocks, chartBlock(m.title, func(path string) error { return consumer.Chart(path, r, m.metric) }))
	}
	if l := consumer.PermanentSentences(r); len(l) > 0 {
		p.Blocks = append(p.Blocks, Block{Title: "Records that always fail", List: true, Text: l})
	}
	if l := consumer.ShareSentences(r); len(l) > 0 {
		p.Blocks = append(p.Blocks, Block{Title: "Share groups", List: true, Text: l})
	}
	if l := consumer.SpeedSentences(r); len(l) > 0 {
		p.Blocks = append(p.Blocks, Block{Title: "Speed against " + consumer.SpeedBaseline + " (reported, never asserted)", List: true, Text: l})
	}
	var whys, reruns []string
	for _, c := range r.Cells {
		if c.Why != "" && !slices.Contains(whys, c.Why) {
			whys = append(whys, c.Why)
		}
		reruns = append(reruns, "`"+c.Rerun+"`")
	}
	if len(whys) > 0 {
		p.Blocks = append(p.Blocks, Block{Title: "Why starred counts move", List: true, Text: whys})
	}
	p.Blocks = append(p.Blocks, Block{Title: "Re-run one cell", List: true, Text: reruns})
	return p
}
