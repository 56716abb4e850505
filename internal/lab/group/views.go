package group

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kpar/kpar/internal/results"
)

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

// eager are the classic assignors that revoke every partition on every
// rebalance (stop the world).
var eager = []string{"range", "roundrobin", "sticky"}

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

// TextHeader and TextLine are the command's text output, one line per cell.
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
		s += "  FAILED " + strings.SplitN(c.Error, "\n", 2)[0]
	}
	return s
}

func find(r Result, event, assignor, member string) (Cell, bool) {
	for _, c := range r.Cells {
		if c.Event == event && c.Assignor == assignor && c.Member == member && c.Error == "" {
			return c, true
		}
	}
	return Cell{}, false
}

// TargetRatio is how much shorter than eager range's a cooperative or
// KIP-848 group pause on join must be.
const TargetRatio = 5.0

// JoinSentences judge the target: on join, cooperative-sticky and KIP-848
// pause the whole group at least TargetRatio times shorter than range; or
// say why the run cannot show it.
func JoinSentences(r Result) []string {
	var out []string
	for _, member := range Members {
		rng, ok := find(r, "join", "range", member)
		var parts []string
		var missed []string
		for _, a := range []string{"cooperative-sticky", "kip848-uniform", "kip848-range"} {
			c, ok2 := find(r, "join", a, member)
			if !ok || !ok2 {
				continue
			}
			x := max(c.Metrics.GroupMaxGapMs, 1)
			ratio := rng.Metrics.GroupMaxGapMs / x
			parts = append(parts, fmt.Sprintf("%s %.0f ms (%.1fx shorter)", a, c.Metrics.GroupMaxGapMs, ratio))
			if ratio < TargetRatio {
				missed = append(missed, a)
			}
		}
		if len(parts) == 0 {
			continue
		}
		s := fmt.Sprintf("Join, %s members: eager range stopped the whole group for %.0f ms (the longest gap before the event was %.0f ms); %s.",
			member, rng.Metrics.GroupMaxGapMs, rng.Metrics.BaselineGapMs, strings.Join(parts, ", "))
		target := fmt.Sprintf("an incremental protocol stops the whole group on a join at least %gx shorter than eager range", TargetRatio)
		switch {
		case len(missed) == 0:
			s += fmt.Sprintf(" Met: %s.", target)
		case rng.Metrics.GroupMaxGapMs < TargetRatio*max(rng.Metrics.BaselineGapMs, 1):
			s += fmt.Sprintf(" Missed by %s (%s), and this run cannot show it: range's %.0f ms is less than %gx the ordinary gaps "+
				"between records before the event (%.0f ms), so a pause %gx shorter than range's would be shorter than those gaps; "+
				"range revoked %d partitions and had them back within %.0f ms.",
				strings.Join(missed, ", "), target, rng.Metrics.GroupMaxGapMs, TargetRatio, rng.Metrics.BaselineGapMs, TargetRatio,
				rng.Metrics.Revoked, rng.Metrics.LongestUnownedMs)
		default:
			s += fmt.Sprintf(" Missed by %s (%s).", strings.Join(missed, ", "), target)
		}
		out = append(out, s)
	}
	return out
}

// WaitSentences say, per event and member kind, how long the partitions
// that changed hands went without an owner and the longest a record
// waited, assignor by assignor: where eager and cooperative differ besides
// the group-wide pause.
func WaitSentences(r Result) []string {
	var out []string
	for _, ev := range Events {
		for _, member := range Members {
			var parts []string
			for _, a := range Assignors {
				if c, ok := find(r, ev, a, member); ok {
					parts = append(parts, fmt.Sprintf("%s %d partitions without an owner for at most %.0f ms, a record waited up to %.0f ms",
						a, c.Metrics.Revoked, c.Metrics.LongestUnownedMs, c.Metrics.MaxLatencyMs))
				}
			}
			if len(parts) > 1 {
				out = append(out, fmt.Sprintf("%s, %s members: %s.", strings.ToUpper(ev[:1])+ev[1:], member, strings.Join(parts, "; ")))
			}
		}
	}
	return out
}

// Sentences are the run's findings, each computed from the cells.
func Sentences(r Result) []string {
	out := append(JoinSentences(r), WaitSentences(r)...)
	var par, parLost []string
	parDup := 0
	for _, c := range r.Cells {
		if c.Member != "parallel" || c.Error != "" {
			continue
		}
		par = append(par, c.Name())
		parDup += c.Metrics.Duplicated
		if c.Metrics.Lost > 0 {
			parLost = append(parLost, fmt.Sprintf("%s (%d)", c.Name(), c.Metrics.Lost))
		}
	}
	switch {
	case len(par) > 0 && len(parLost) == 0:
		out = append(out, fmt.Sprintf("kpar's parallel member lost nothing in any of its %d cells (%d records processed twice in all).", len(par), parDup))
	case len(parLost) > 0:
		out = append(out, fmt.Sprintf("kpar's parallel member LOST records in %s.", strings.Join(parLost, ", ")))
	}
	var plainLost []string
	for _, c := range r.Cells {
		if c.Member == "plain" && c.Error == "" && c.Metrics.Lost > 0 {
			plainLost = append(plainLost, fmt.Sprintf("%s (%d)", c.Name(), c.Metrics.Lost))
		}
	}
	if len(plainLost) > 0 {
		out = append(out, "Plain members lost records in "+strings.Join(plainLost, ", ")+".")
	}
	var kills, never []string
	for _, c := range r.Cells {
		if c.Event != "kill" || c.Error != "" {
			continue
		}
		if c.Metrics.OwnedAgainMs < 0 {
			never = append(never, c.Name())
			continue
		}
		why := fmt.Sprintf("classic, session timeout %.0f s", r.SessionTimeoutMs/1000)
		if c.Protocol == "consumer" {
			why = "KIP-848: the broker's group.consumer.session.timeout.ms"
			if r.ConsumerSessionTimeoutMs > 0 {
				why += fmt.Sprintf(", %.0f s, which a member cannot lower", r.ConsumerSessionTimeoutMs/1000)
			}
		}
		kills = append(kills, fmt.Sprintf("%s after %s (%s; the longest wait of a record %.1f s, %d duplicated)",
			c.Name(), ownedText(c.Metrics.OwnedAgainMs), why, c.Metrics.MaxLatencyMs/1000, c.Metrics.Duplicated))
	}
	if len(kills) > 0 {
		out = append(out, "After a SIGKILL every partition was owned again: "+strings.Join(kills, "; ")+".")
	}
	if len(never) > 0 {
		out = append(out, "After a SIGKILL some partition had no live owner until the cell ended: "+strings.Join(never, ", ")+".")
	}
	for _, member := range Members {
		for _, a := range Assignors {
			s, ok1 := find(r, "restart-static", a, member)
			d, ok2 := find(r, "restart-dynamic", a, member)
			if ok1 && ok2 {
				out = append(out, fmt.Sprintf("Restart under %s (%s members): with a group.instance.id %d partitions moved and %d rebalances, the group paused %.0f ms; without one %d moved and %d rebalances, %.0f ms.",
					a, member, s.Metrics.Moved, s.Metrics.Rebalances, s.Metrics.GroupMaxGapMs, d.Metrics.Moved, d.Metrics.Rebalances, d.Metrics.GroupMaxGapMs))
			}
		}
	}
	for _, c := range r.Cells {
		if c.GroupType != "" && c.Protocol != c.GroupType {
			out = append(out, fmt.Sprintf("%s asked for the %s protocol but the broker ran the group as %s.", c.Name(), c.Protocol, c.GroupType))
		}
	}
	if n := r.Failed(); n > 0 {
		out = append(out, fmt.Sprintf("%d of %d cells failed; their rows say why.", n, len(r.Cells)))
	}
	return out
}

// chartName is a cell's chart file name without extension.
func chartName(c Cell) string {
	return "lab-group-" + strings.ReplaceAll(c.Name(), "/", "-")
}

// Markdown is lab-group.md: the setup, one row per cell, the findings,
// what repeats on a rerun, the charts and the rerun commands.
func Markdown(r Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# kpar lab group\n\nStarted %s against %s, seed %d.\n\n", r.Started.Format("2006-01-02 15:04:05 MST"),
		strings.Join(r.Brokers, ","), r.Seed)
	if len(r.Cells) > 0 {
		c := r.Cells[0]
		var ts []string
		for _, t := range c.Topics {
			ts = append(ts, fmt.Sprintf("%d partitions", t.Partitions))
		}
		fmt.Fprintf(&b, "Each cell: fresh orders and payments topics (%s), three member processes, a stream of %d records at %d records/s "+
			"(%g ms of work per record), the event %.0f s into the stream. Classic members' session timeout %.0f s; "+
			"the broker's KIP-848 session timeout %.0f s. Plain members commit marked records every second and synchronously on revoke; "+
			"parallel members are kpar's parallel consumer in key order.\n\n",
			strings.Join(ts, " and "), c.Produced, c.Rate, c.WorkMs, c.EventAtSec, r.SessionTimeoutMs/1000, r.ConsumerSessionTimeoutMs/1000)
	}
	b.WriteString("| cell | group | pause ms | baseline ms | worst member ms | longest wait ms | owned again | moved | revoked | rebalances | duplicated | lost | note |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, c := range r.Cells {
		m := c.Metrics
		who, worst := worstMember(m)
		note := ""
		if c.Victim != "" {
			note = "victim " + c.Victim
		}
		if c.Error != "" {
			note = "FAILED: " + strings.ReplaceAll(strings.SplitN(c.Error, "\n", 2)[0], "|", "/")
		}
		fmt.Fprintf(&b, "| %s | %s | %.0f | %.0f | %.0f (%s) | %.0f | %s | %d | %d | %d | %d | %d | %s |\n",
			c.Name(), c.GroupType, m.GroupMaxGapMs, m.BaselineGapMs, worst, who, m.MaxLatencyMs, ownedText(m.OwnedAgainMs),
			m.Moved, m.Revoked, m.Rebalances, m.Duplicated, m.Lost, note)
	}
	b.WriteString("\n*pause*: the longest time no member processed a record, from 1 s before the event to the end of the stream; " +
		"*baseline*: the same before that window (the ordinary gaps); *worst member*: the longest a live member processed nothing in the window; " +
		"*longest wait*: the longest a record produced in the window waited for its first processing; *owned again*: from the event until " +
		"every partition had a live owner again; *moved*: partitions whose owner at the end differs from the one at the event; *revoked*: " +
		"partitions taken from a member after the event, counted each time; *rebalances*: new generations (classic) or member epochs (KIP-848) " +
		"in the members' assignment changes.\n")
	if lines := Sentences(r); len(lines) > 0 {
		b.WriteString("\n## Findings\n\n")
		for _, l := range lines {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	if len(r.Cells) > 0 {
		c := r.Cells[0]
		fmt.Fprintf(&b, "\n## What repeats\n\nExact from the seed: %s. Timing-dependent: %s. Why: %s.\n",
			strings.Join(c.Exact, ", "), strings.Join(c.TimingDependent, ", "), c.Why)
	}
	var failed []Cell
	for _, c := range r.Cells {
		if c.Error != "" {
			failed = append(failed, c)
		}
	}
	if len(failed) > 0 {
		b.WriteString("\n## Failed cells\n\n")
		for _, c := range failed {
			fmt.Fprintf(&b, "%s:\n\n```\n%s\n```\n\n", c.Name(), c.Error)
		}
	}
	b.WriteString("\n## Timelines\n\nOne chart per cell: partition ownership per member (a row per partition, colored by its owner, " +
		"blank while nobody owns it) and the group's processing rate under it.\n\n")
	for _, c := range r.Cells {
		fmt.Fprintf(&b, "- %s: ![%s](%s.svg) ([png](%s.png))\n", c.Name(), c.Name(), chartName(c), chartName(c))
	}
	if len(r.Command) > 0 {
		fmt.Fprintf(&b, "\nRe-run the whole run: `%s`\n", strings.Join(r.Command, " "))
	}
	b.WriteString("\nRe-run a cell:\n\n")
	for _, c := range r.Cells {
		fmt.Fprintf(&b, "- `%s`\n", c.Rerun)
	}
	return b.String()
}

// Views are lab-group.md and each cell's timeline chart as SVG and PNG.
func Views(r Result) ([]results.View, error) {
	views := []results.View{{Name: "lab-group.md", Bytes: []byte(Markdown(r))}}
	var names []string
	for _, c := range r.Cells {
		n := chartName(c)
		if slices.Contains(names, n) {
			return nil, fmt.Errorf("lab group: cell %s appears twice", c.Name())
		}
		names = append(names, n)
		for _, ext := range []string{".svg", ".png"} {
			views = append(views, results.View{Name: n + ext, Save: func(path string) error { return TimelineChart(path, c) }})
		}
	}
	return views, nil
}
