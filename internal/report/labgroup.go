package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kpar/kpar/internal/lab/group"
)

var labGroupKind = kind{schema: group.Schema, version: 1, current: group.SchemaVersion, section: "group", load: loadLabGroup}

func loadLabGroup(path string) (Part, error) {
	r, err := group.Read(path)
	if err != nil {
		return Part{}, err
	}
	return labGroupPart(r), nil
}

// labGroupAnswer takes the package's own findings: the join target first
// (eager against cooperative and KIP-848), then what kpar's member lost.
func labGroupAnswer(r group.Result) (answer, rest []string) {
	all := group.Sentences(r)
	if len(all) == 0 {
		if len(r.Cells) == 0 {
			return []string{"This run has no cells."}, nil
		}
		return []string{cellsSummary(r)}, nil
	}
	pick := []int{0}
	for i, s := range all {
		if i > 0 && strings.HasPrefix(s, "kpar's parallel member") {
			pick = append(pick, i)
			break
		}
	}
	for i, s := range all {
		if slices.Contains(pick, i) {
			answer = append(answer, s)
		} else {
			rest = append(rest, s)
		}
	}
	return answer, rest
}

// cellsSummary is the answer when the run has too few cells for the
// package's comparisons (one assignor, say): the longest pause against the
// ordinary gaps, and what was lost and duplicated, from the cells.
func cellsSummary(r group.Result) string {
	var worst group.Cell
	lost, dup, failed := 0, 0, 0
	for _, c := range r.Cells {
		if c.Error != "" {
			failed++
			continue
		}
		if worst.Event == "" || c.Metrics.GroupMaxGapMs > worst.Metrics.GroupMaxGapMs {
			worst = c
		}
		lost += c.Metrics.Lost
		dup += c.Metrics.Duplicated
	}
	if worst.Event == "" {
		return fmt.Sprintf("All %s failed; the table says why.", plural(len(r.Cells), "cell", "cells"))
	}
	m := worst.Metrics
	owned := "never had every partition owned again"
	if m.OwnedAgainMs >= 0 {
		owned = fmt.Sprintf("had every partition owned again %.1f s after the event", m.OwnedAgainMs/1000)
	}
	s := fmt.Sprintf("Over %s, the longest whole-group pause was %s ms in %s (ordinary gaps before the event up to %s ms), which %s; %d records lost and %d processed twice in all.",
		plural(len(r.Cells)-failed, "cell", "cells"), num(m.GroupMaxGapMs), worst.Name(), num(m.BaselineGapMs), owned, lost, dup)
	if failed > 0 {
		s += fmt.Sprintf(" %d cells failed.", failed)
	}
	return s
}

func labGroupPart(r group.Result) Part {
	answer, rest := labGroupAnswer(r)
	p := Part{Answer: answer}
	p.Facts.Seed = fmt.Sprint(r.Seed)
	if len(r.Cells) > 0 {
		c := r.Cells[0]
		var ts []string
		for _, t := range c.Topics {
			ts = append(ts, fmt.Sprintf("%d partitions", t.Partitions))
		}
		p.Blocks = append(p.Blocks, Block{Text: []string{fmt.Sprintf("Each cell: fresh topics (%s), three member processes, a stream of %s records at %d records/s (%g ms of work each), "+
			"the event %.0f s into the stream. Classic members' session timeout %.0f s; the broker's KIP-848 session timeout %.0f s.",
			strings.Join(ts, " and "), inum(c.Produced), c.Rate, c.WorkMs, c.EventAtSec, r.SessionTimeoutMs/1000, r.ConsumerSessionTimeoutMs/1000)}})
	}
	t := &Table{Head: []string{"cell", "group", "pause ms", "baseline ms", "longest wait ms", "owned again", "moved", "revoked", "rebalances", "duplicated", "lost", "note"},
		Num: []bool{false, false, true, true, true, true, true, true, true, true, true, false}}
	for _, c := range r.Cells {
		m := c.Metrics
		owned := "never"
		if m.OwnedAgainMs >= 0 {
			owned = fmt.Sprintf("%.1f s", m.OwnedAgainMs/1000)
		}
		note := ""
		if c.Victim != "" {
			note = "victim " + c.Victim
		}
		if c.Error != "" {
			note = "**failed**: " + firstLine(c.Error)
		}
		t.Rows = append(t.Rows, []string{c.Name(), c.GroupType, num(m.GroupMaxGapMs), num(m.BaselineGapMs), num(m.MaxLatencyMs), owned,
			inum(m.Moved), inum(m.Revoked), inum(m.Rebalances), inum(m.Duplicated), inum(m.Lost), note})
	}
	p.Blocks = append(p.Blocks, Block{Title: "Per cell", Table: t}, Block{Text: []string{
		"**pause**: the longest time no member processed a record, from 1 s before the event to the end of the stream; **baseline**: the same before (the ordinary gaps); " +
			"**longest wait**: the longest a record produced in that window waited; **owned again**: from the event until every partition had a live owner again."}})
	if len(rest) > 0 {
		p.Blocks = append(p.Blocks, Block{Title: "Findings", List: true, Text: rest})
	}
	if len(r.Cells) > 0 {
		c := r.Cells[0]
		p.Blocks = append(p.Blocks, Block{Text: []string{fmt.Sprintf("Exact from the seed: %s. Timing-dependent: %s. Why: %s.",
			strings.Join(c.Exact, ", "), strings.Join(c.TimingDependent, ", "), c.Why)}})
	}
	for _, c := range r.Cells {
		b := chartBlock("Timeline: "+c.Name(), func(path string) error { return group.TimelineChart(path, c) })
		b.Wide = true
		p.Blocks = append(p.Blocks, b)
	}
	var reruns []string
	for _, c := range r.Cells {
		reruns = append(reruns, "`"+c.Rerun+"`")
	}
	p.Blocks = append(p.Blocks, Block{Title: "Re-run one cell", List: true, Text: reruns})
	return p
}
