package group

import (
	"fmt"
	"strings"

	"github.com/kpar/kpar/internal/clock"
	"github.com/kpar/kpar/internal/doc"
)

// TargetRatio is how much shorter than eager range's a cooperative or
// KIP-848 group pause on join must be.
const TargetRatio = 5.0

// incremental are the assignors judged against eager range on a join.
var incremental = []string{"cooperative-sticky", "kip848-uniform", "kip848-range"}

// Doc is the run's one document. Answer: the join target (eager range
// against the incremental protocols), what the members lost and how many
// cells failed; body: the pauses per event and assignor and the per-cell
// table; details: the other findings, what repeats, failed cells' output,
// every cell's timeline and the reruns.
func Doc(r Result) doc.Doc {
	d := doc.Doc{Name: "lab-group", Title: "kpar lab group", Command: r.Command}
	answer := append(joinFindings(r), lossFindings(r)...)
	if n := r.Failed(); n > 0 {
		answer = append(answer, doc.Say("%s of %d cells failed; the table's notes and the details say why.", doc.Int(n), len(r.Cells)))
	}
	var rest []doc.Finding
	if len(answer) > 4 {
		answer, rest = answer[:4], answer[4:]
	}
	if len(answer) == 0 {
		answer = []doc.Finding{cellsSummary(r)}
	}
	d.Answer = answer
	rest = append(append(rest, waitFindings(r)...), otherFindings(r)...)
	if len(r.Cells) > 0 {
		d.Body = append(d.Body, doc.Block{Text: []string{setupText(r)}})
		if c := pauseChart(r); c != nil {
			d.Body = append(d.Body, doc.Block{Chart: c})
		}
	}
	d.Body = append(d.Body, doc.Block{Title: "Per cell", Table: cellTable(r)})
	d.Details = details(r, rest)
	return d
}

// Failed counts the cells that failed.
func (r Result) Failed() int {
	n := 0
	for _, c := range r.Cells {
		if c.Error != "" {
			n++
		}
	}
	return n
}

func find(r Result, event, assignor, member string) (Cell, bool) {
	for _, c := range r.Cells {
		if c.Event == event && c.Assignor == assignor && c.Member == member && c.Error == "" {
			return c, true
		}
	}
	return Cell{}, false
}

// joinFindings judge the target per member kind: on a join, each
// incremental protocol pauses the whole group at least TargetRatio times
// shorter than eager range; or say why the run cannot show it.
func joinFindings(r Result) []doc.Finding {
	target := fmt.Sprintf("each incremental protocol pauses the whole group on a join %gx shorter than eager range", TargetRatio)
	var out []doc.Finding
	for _, member := range Members {
		rng, ok := find(r, "join", "range", member)
		if !ok {
			continue
		}
		m := rng.Metrics
		figs := []doc.Figure{{Name: "range pause", Value: m.GroupMaxGapMs, Unit: "ms"}}
		var parts, short []string
		var pass []bool
		for _, a := range incremental {
			c, ok := find(r, "join", a, member)
			if !ok {
				continue
			}
			ratio := m.GroupMaxGapMs / max(c.Metrics.GroupMaxGapMs, 1)
			rel := fmt.Sprintf("%.1fx shorter", ratio)
			if ratio < 1 {
				rel = fmt.Sprintf("%.1fx longer", 1/ratio)
			}
			parts = append(parts, fmt.Sprintf("%s %s ms (%s)", a, doc.Num(c.Metrics.GroupMaxGapMs), rel))
			figs = append(figs, doc.Figure{Name: a + " pause", Value: c.Metrics.GroupMaxGapMs, Unit: "ms"})
			pass = append(pass, ratio >= TargetRatio)
			if ratio < TargetRatio {
				short = append(short, a)
			}
		}
		if len(parts) == 0 {
			continue
		}
		s := fmt.Sprintf("Join, %s members: eager range stopped the whole group for %s ms (the longest gap before the event was %s ms); %s.",
			member, doc.Num(m.GroupMaxGapMs), doc.Num(m.BaselineGapMs), strings.Join(parts, ", "))
		switch {
		case len(short) > 0 && m.GroupMaxGapMs < TargetRatio*max(m.BaselineGapMs, 1):
			s += fmt.Sprintf(" Not %gx shorter: %s. This run cannot show the target: range's %s ms is less than %gx the ordinary gaps between records "+
				"before the event (%s ms), so a pause %gx shorter than range's would be shorter than those gaps; range revoked %d partitions "+
				"and had them back within %s ms.", TargetRatio, doc.Listing(short), doc.Num(m.GroupMaxGapMs), TargetRatio, doc.Num(m.BaselineGapMs),
				TargetRatio, m.Revoked, doc.Num(m.LongestUnownedMs))
		case len(short) > 0:
			s += fmt.Sprintf(" Not %gx shorter: %s.", TargetRatio, doc.Listing(short))
		}
		out = append(out, doc.Finding{Text: s, Figures: figs, Target: target, Verdict: clock.Judge(pass).Word})
	}
	return out
}

// lossFindings say what kpar's parallel member lost (and processed twice)
// over its cells, and which plain cells lost records.
func lossFindings(r Result) []doc.Finding {
	var out []doc.Finding
	var par, parLost, plainLost []string
	parDup := 0
	for _, c := range r.Cells {
		if c.Error != "" {
			continue
		}
		lost := fmt.Sprintf("%s (%s)", c.Name(), doc.Int(c.Metrics.Lost))
		switch {
		case c.Member == "parallel":
			par = append(par, c.Name())
			parDup += c.Metrics.Duplicated
			if c.Metrics.Lost > 0 {
				parLost = append(parLost, lost)
			}
		case c.Metrics.Lost > 0:
			plainLost = append(plainLost, lost)
		}
	}
	switch {
	case len(parLost) > 0:
		out = append(out, doc.Say("kpar's parallel member **lost** records in %s.", strings.Join(parLost, ", ")))
	case len(par) > 0:
		out = append(out, doc.Say("kpar's parallel member lost nothing in any of its %s (%s processed twice in all).",
			doc.Plural(len(par), "cell", "cells"), doc.Plural(parDup, "record", "records")))
	}
	if len(plainLost) > 0 {
		out = append(out, doc.Say("Plain members lost records in %s.", strings.Join(plainLost, ", ")))
	}
	return out
}

// cellsSummary is the answer when the run has too few cells for the
// comparisons (one assignor, say): the longest pause against the ordinary
// gaps, and what was lost and duplicated.
func cellsSummary(r Result) doc.Finding {
	var worst Cell
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
	switch {
	case len(r.Cells) == 0:
		return doc.Say("This run has no cells.")
	case worst.Event == "":
		return doc.Say("All %s failed; the details say why.", doc.Plural(len(r.Cells), "cell", "cells"))
	}
	m := worst.Metrics
	owned := "never had every partition owned again"
	if m.OwnedAgainMs >= 0 {
		owned = "had every partition owned again " + ownedText(m.OwnedAgainMs) + " after the event"
	}
	return doc.Say("Over %s, the longest whole-group pause was %s ms in %s (ordinary gaps before the event up to %s ms), which %s; %s lost and %s processed twice in all.",
		doc.Plural(len(r.Cells)-failed, "cell", "cells"), doc.Num(m.GroupMaxGapMs), worst.Name(), doc.Num(m.BaselineGapMs), owned,
		doc.Plural(lost, "record", "records"), doc.Int(dup))
}

// waitFindings say, per event and member kind, how long the partitions that
// changed hands went without an owner and the longest a record waited,
// assignor by assignor: where eager and cooperative differ besides the
// group-wide pause.
func waitFindings(r Result) []doc.Finding {
	var out []doc.Finding
	for _, ev := range Events {
		for _, member := range Members {
			var parts []string
			for _, a := range Assignors {
				if c, ok := find(r, ev, a, member); ok {
					parts = append(parts, fmt.Sprintf("%s %d partitions without an owner for at most %s ms, a record waited up to %s ms",
						a, c.Metrics.Revoked, doc.Num(c.Metrics.LongestUnownedMs), doc.Num(c.Metrics.MaxLatencyMs)))
				}
			}
			if len(parts) > 1 {
				out = append(out, doc.Say("%s, %s members: %s.", strings.ToUpper(ev[:1])+ev[1:], member, strings.Join(parts, "; ")))
			}
		}
	}
	return out
}

// otherFindings: how long after a SIGKILL every partition was owned again,
// restarts with and without a group.instance.id, and a group the broker ran
// on another protocol than asked.
func otherFindings(r Result) []doc.Finding {
	var out []doc.Finding
	var kills, never []string
	for _, c := range r.Cells {
		if c.Event != "kill" || c.Error != "" {
			continue
		}
		if c.Metrics.OwnedAgainMs < 0 {
			never = append(never, c.Name())
			continue
		}
		why := fmt.Sprintf("classic, session timeout %s", secondsText(r.SessionTimeoutMs))
		if c.Protocol == "consumer" {
			why = "KIP-848: the broker's group.consumer.session.timeout.ms"
			if r.ConsumerSessionTimeoutMs > 0 {
				why += fmt.Sprintf(", %s, which a member cannot lower", secondsText(r.ConsumerSessionTimeoutMs))
			}
		}
		kills = append(kills, fmt.Sprintf("%s after %s (%s; the longest wait of a record %.1f s, %d duplicated)",
			c.Name(), ownedText(c.Metrics.OwnedAgainMs), why, c.Metrics.MaxLatencyMs/1000, c.Metrics.Duplicated))
	}
	if len(kills) > 0 {
		out = append(out, doc.Say("After a SIGKILL every partition was owned again: %s.", strings.Join(kills, "; ")))
	}
	if len(never) > 0 {
		out = append(out, doc.Say("After a SIGKILL some partition had no live owner until the cell ended: %s.", strings.Join(never, ", ")))
	}
	for _, member := range Members {
		for _, a := range Assignors {
			s, ok1 := find(r, "restart-static", a, member)
			d, ok2 := find(r, "restart-dynamic", a, member)
			if ok1 && ok2 {
				out = append(out, doc.Say("Restart under %s (%s members): with a group.instance.id %d partitions moved and %d rebalances, the group paused %s ms; without one %d moved and %d rebalances, %s ms.",
					a, member, s.Metrics.Moved, s.Metrics.Rebalances, doc.Num(s.Metrics.GroupMaxGapMs), d.Metrics.Moved, d.Metrics.Rebalances, doc.Num(d.Metrics.GroupMaxGapMs)))
			}
		}
	}
	for _, c := range r.Cells {
		if c.GroupType != "" && c.Protocol != c.GroupType {
			out = append(out, doc.Say("%s asked for the %s protocol but the broker ran the group as %s.", c.Name(), c.Protocol, c.GroupType))
		}
	}
	return out
}

// worstMember is the longest member gap of a cell and whose it was.
func worstMember(m Metrics) (string, float64) {
	name, worst := "", 0.0
	for _, g := range m.MemberGaps {
		if g.MaxGapMs > worst {
			name, worst = g.Member, g.MaxGapMs
		}
	}
	return name, worst
}

func ownedText(ms float64) string {
	switch {
	case ms < 0:
		return "never"
	case ms < 1000:
		return fmt.Sprintf("%.0f ms", ms)
	}
	return fmt.Sprintf("%.1f s", ms/1000)
}

// secondsText is a timeout read from the broker: -1 when it could not be.
func secondsText(ms float64) string {
	if ms < 0 {
		return "unknown"
	}
	return fmt.Sprintf("%.0f s", ms/1000)
}

func firstLine(s string) string { return strings.SplitN(strings.TrimSpace(s), "\n", 2)[0] }

// TextHeader and TextLine are the command's progress output, one line per
// cell as it ends.
func TextHeader() string {
	return fmt.Sprintf("%-9s %-40s %9s %9s %9s %10s %5s %5s %4s %5s %5s", "", "cell", "pause ms", "base ms", "member ms",
		"owned in", "moved", "revkd", "rebal", "dup", "lost")
}

func TextLine(i, total int, c Cell) string {
	m := c.Metrics
	_, worst := worstMember(m)
	s := fmt.Sprintf("%-9s %-40s %9.0f %9.0f %9.0f %10s %5d %5d %4d %5d %5d", fmt.Sprintf("[%d/%d]", i, total), c.Name(),
		m.GroupMaxGapMs, m.BaselineGapMs, worst, ownedText(m.OwnedAgainMs), m.Moved, m.Revoked, m.Rebalances, m.Duplicated, m.Lost)
	if c.Error != "" {
		s += "  FAILED " + firstLine(c.Error)
	}
	return s
}
