package group

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kpar/kpar/internal/doc"
)

// definitions say what the table's columns measure.
const definitions = "**pause**: the longest time no member processed a record, from 1 s before the event to the end of the stream; " +
	"**baseline**: the same before that window (the ordinary gaps); **worst member**: the longest a live member processed nothing in the window; " +
	"**longest wait**: the longest a record produced in the window waited for its first processing; **owned again**: from the event until " +
	"every partition had a live owner again; **moved**: partitions whose owner at the end differs from the one at the event; **revoked**: " +
	"partitions taken from a member after the event, counted each time; **rebalances**: new generations (classic) or member epochs (KIP-848) " +
	"in the members' assignment changes."

// setupText is what every cell ran: the first cell's topics, stream and
// event, and the session timeouts.
func setupText(r Result) string {
	c := r.Cells[0]
	var ts []string
	for _, t := range c.Topics {
		ts = append(ts, doc.Plural(t.Partitions, "partition", "partitions"))
	}
	return fmt.Sprintf("Each cell: fresh orders and payments topics (%s), three member processes, a stream of %s records at %s records/s "+
		"(%g ms of work per record), the event %.0f s into the stream. Classic members' session timeout %s; the broker's KIP-848 "+
		"session timeout %s. Plain members commit marked records every second and synchronously on revoke; parallel members are "+
		"kpar's parallel consumer in key order.", doc.Listing(ts), doc.Int(c.Produced), doc.Int(c.Rate), c.WorkMs, c.EventAtSec,
		secondsText(r.SessionTimeoutMs), secondsText(r.ConsumerSessionTimeoutMs))
}

// cellTable is one row per cell.
func cellTable(r Result) *doc.Table {
	t := &doc.Table{Head: []string{"cell", "group", "pause ms", "baseline ms", "worst member ms", "longest wait ms", "owned again",
		"moved", "revoked", "rebalances", "duplicated", "lost", "note"},
		Num: []bool{false, false, true, true, true, true, true, true, true, true, true, true, false}}
	for _, c := range r.Cells {
		m := c.Metrics
		who, worst := worstMember(m)
		note := ""
		if c.Victim != "" {
			note = "victim " + c.Victim
		}
		if c.Error != "" {
			note = "**failed**: " + firstLine(c.Error)
		}
		t.Rows = append(t.Rows, []string{c.Name(), c.GroupType, doc.Num(m.GroupMaxGapMs), doc.Num(m.BaselineGapMs),
			fmt.Sprintf("%s (%s)", doc.Num(worst), who), doc.Num(m.MaxLatencyMs), ownedText(m.OwnedAgainMs), doc.Int(m.Moved),
			doc.Int(m.Revoked), doc.Int(m.Rebalances), doc.Int(m.Duplicated), doc.Int(m.Lost), note})
	}
	return t
}

// details: where the run ran, what the table's columns measure, the other
// findings, what repeats, failed cells' output, every timeline and the
// reruns.
func details(r Result, findings []doc.Finding) []doc.Block {
	out := []doc.Block{{Text: []string{r.StartLine(), definitions}}}
	if len(findings) > 0 {
		out = append(out, doc.Block{Title: "Findings", Findings: findings})
	}
	if len(r.Cells) > 0 {
		c := r.Cells[0]
		out = append(out, doc.Block{Title: "What repeats", Text: []string{fmt.Sprintf("Exact from the seed: %s. Timing-dependent: %s. Why: %s.",
			strings.Join(c.Exact, ", "), strings.Join(c.TimingDependent, ", "), c.Why)}})
	}
	for _, c := range r.Cells {
		if c.Error != "" {
			out = append(out, doc.Block{Title: "Failed: " + c.Name(), List: strings.Split(strings.TrimSpace(c.Error), "\n")})
		}
	}
	if len(r.Cells) > 0 {
		out = append(out, doc.Block{Title: "Timelines", Text: []string{"One chart per cell: partition ownership per member (a row per " +
			"partition, colored by its owner, blank while nobody owns it) and the group's processing rate under it."}})
	}
	var reruns []string
	for _, c := range r.Cells {
		out = append(out, doc.Block{Title: "Timeline: " + c.Name(), Chart: timelineChart(c)})
		reruns = append(reruns, "`"+c.Rerun+"`")
	}
	if len(reruns) > 0 {
		out = append(out, doc.Block{Title: "Re-run one cell", List: reruns})
	}
	return out
}

// pauseChart is the whole-group pause per event, a bar per assignor, a
// panel per member kind; nil without a cell that finished.
func pauseChart(r Result) *doc.Chart {
	ch := &doc.Chart{Name: "lab-group-pauses", Title: fmt.Sprintf("Whole-group pause around the event (seed %d)", r.Seed), Kind: doc.Bars,
		Y: doc.Axis{Label: "whole-group pause", Unit: "ms"}}
	for _, member := range Members {
		var events, assignors []string
		for _, c := range r.Cells {
			if c.Member == member && c.Error == "" {
				if !slices.Contains(events, c.Event) {
					events = append(events, c.Event)
				}
				if !slices.Contains(assignors, c.Assignor) {
					assignors = append(assignors, c.Assignor)
				}
			}
		}
		if len(events) == 0 {
			continue
		}
		p := doc.Chart{Title: member + " members", Kind: doc.Bars, X: doc.Axis{Label: "event", Categories: events}, Y: ch.Y}
		for _, a := range assignors {
			s := doc.Series{Name: a}
			for _, ev := range events {
				c, _ := find(r, ev, a, member) // a missing cell is an empty bar
				s.Y = append(s.Y, c.Metrics.GroupMaxGapMs)
			}
			p.Series = append(p.Series, s)
		}
		ch.Panels = append(ch.Panels, p)
	}
	switch len(ch.Panels) {
	case 0:
		return nil
	case 1:
		p := ch.Panels[0]
		ch.X, ch.Series, ch.Panels = p.X, p.Series, nil
		ch.Title += ", " + p.Title
	}
	return ch
}

// timelineChart is one cell's timeline: partition ownership per member over
// time (blank: nobody owns the partition) and, under it, the group's
// processing rate; marks at the stream's start and end, the event and exits.
func timelineChart(c Cell) *doc.Chart {
	tl := c.Timeline
	lanes := make([]doc.Lane, len(tl.Partitions))
	for i, p := range tl.Partitions {
		lanes[i].Name = shortPartition(p)
	}
	// From the rate's start (a second before the stream): the group
	// settling before it is not what the chart is about.
	for _, iv := range tl.Ownership {
		if iv.Partition >= 0 && iv.Partition < len(lanes) && iv.To > tl.StartSec {
			lanes[iv.Partition].Spans = append(lanes[iv.Partition].Spans, doc.Span{From: max(iv.From, tl.StartSec), To: iv.To, Label: iv.Member})
		}
	}
	rate := doc.Series{Name: "records/s (group)"}
	for i, v := range tl.Rate {
		rate.X = append(rate.X, tl.StartSec+(float64(i)+0.5)*tl.RateBucketSec)
		rate.Y = append(rate.Y, v)
	}
	var marks []doc.Mark
	for _, m := range tl.Marks {
		marks = append(marks, doc.Mark{X: m.At, Label: m.Label})
	}
	return &doc.Chart{Name: "lab-group-" + strings.ReplaceAll(c.Name(), "/", "-"), Title: fmt.Sprintf("%s (seed %d): partition ownership per member", c.Name(), c.Seed),
		Kind: doc.Timeline, X: doc.Axis{Label: "time since the cell started", Unit: "s"}, Y: doc.Axis{Label: "processed", Unit: "records/s"},
		Lanes: lanes, Series: []doc.Series{rate}, Marks: marks}
}

// shortPartition turns "kpar-group-...-orders-3" into "orders-3".
func shortPartition(p string) string {
	for _, t := range []string{"orders", "payments"} {
		if i := strings.LastIndex(p, "-"+t+"-"); i >= 0 {
			return p[i+1:]
		}
	}
	return p
}
