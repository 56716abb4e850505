package group

import (
	"fmt"
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
	out := []doc.Block{{Text: []string{fmt.Sprintf("Started %s against %s, seed %d.", r.Started.Format("2006-01-02 15:04:05 MST"),
		strings.Join(r.Brokers, ","), r.Seed), definitions}}}
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
