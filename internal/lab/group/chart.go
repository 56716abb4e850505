package group

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kpar/kpar/internal/doc"
)

// chartName is a cell's chart file name without extension.
func chartName(c Cell) string {
	return "lab-group-" + strings.ReplaceAll(c.Name(), "/", "-")
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
	return &doc.Chart{Name: chartName(c), Title: fmt.Sprintf("%s (seed %d): partition ownership per member", c.Name(), c.Seed),
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
