package producer

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kpar/kpar/internal/doc"
)

// Doc is the run's one document. Its targets and lessons are Judge(cells),
// never the verdicts stored in the file, so a sentence cannot stand beside a
// figure that contradicts it. The answer: the two targets, what the readers
// disagreed on and what the consumer missed; the body: lost and duplicated
// records per setting and fault; the details: every lesson, the full table,
// what repeats from the seed, the reads, the fault timelines, the re-runs.
func Doc(r Result) doc.Doc {
	lessons, targets := Judge(r.Cells)
	d := doc.Doc{Name: "lab-producer", Title: "kpar lab producer: what producer settings lose when brokers fail",
		Command: r.Command, Answer: answer(r.Cells, targets)}
	d.Body = []doc.Block{
		{Chart: countChart(r, "lost")},
		{Chart: countChart(r, "duplicated")},
		{Title: "Per setting and fault", Table: compactTable(r.Cells)},
	}
	var perSetting, across []doc.Finding
	for _, l := range lessons {
		if l.Setting != "" {
			perSetting = append(perSetting, doc.Say("%s", l.Sentence))
		} else {
			across = append(across, doc.Say("%s", l.Sentence))
		}
	}
	var reasons []string
	for _, t := range targets {
		reasons = append(reasons, fmt.Sprintf("%s: expected since %s.", t.Claim, t.Reason))
	}
	d.Details = []doc.Block{
		{Title: "Setup", Text: setup(r)},
		{Title: "The lesson per setting", Findings: perSetting},
		{Title: "Across settings", Findings: across},
		{Title: "Why the targets are expected", List: reasons},
		{Title: "Every count", Table: fullTable(r.Cells)},
		{Title: "What repeats from the seed", Text: repeats(r.Cells, targets)},
	}
	var notes, timelines, reruns []string
	for _, c := range r.Cells {
		for _, n := range readNotes(c) {
			notes = append(notes, fmt.Sprintf("**%s**: %s", c.Name, n))
		}
		var ev []string
		for _, e := range c.Events {
			ev = append(ev, fmt.Sprintf("%.1fs %s", e.At, e.What))
		}
		timelines = append(timelines, fmt.Sprintf("**%s** (victim node %d, topic `%s`): %s", c.Name, c.Victim, c.Topic, strings.Join(ev, "; ")))
		reruns = append(reruns, fmt.Sprintf("`kpar lab producer --seed %d --cell %s`", r.Seed, c.Name))
	}
	if len(notes) > 0 {
		d.Details = append(d.Details, doc.Block{Title: "Reads", List: notes})
	}
	d.Details = append(d.Details, doc.Block{Title: "Fault timelines", List: timelines}, doc.Block{Title: "Re-run one cell", List: reruns})
	return d
}

// answer: each target judged, then the records the readers disagreed on
// and what the consumer reading during the faults missed, when any.
func answer(cells []Cell, targets []Target) []doc.Finding {
	var out []doc.Finding
	for _, t := range targets {
		out = append(out, targetFinding(t))
	}
	var dis []string
	for _, c := range cells {
		if c.Counts.Disagreed > 0 {
			dis = append(dis, fmt.Sprintf("%s %s (%s)", c.Name, doc.Int(c.Counts.Disagreed), ReadersText(c)))
		}
	}
	if len(dis) > 0 {
		out = append(out, doc.Say("Records the readers disagreed on, counted apart from lost: %s.", strings.Join(dis, "; ")))
	}
	if missed, missedCells := consumerMissed(cells); missed > 0 {
		out = append(out, doc.Say("The kpar parallel consumer reading during the faults missed %s the settled reads saw, in %s of %d.",
			doc.Plural(missed, "record", "records"), doc.Plural(missedCells, "cell", "cells"), len(cells)))
	}
	return out
}

// targetWords are each claim's subject and its target in a finding's words.
var targetWords = map[string][2]string{
	ClaimSafe:   {"acks=all with idempotence under a fault", "no acknowledged record lost or duplicated"},
	ClaimWeaker: {"Weaker settings (acks=1, or acks=all without idempotence) under a fault", "a weaker setting loses acknowledged records"},
}

// targetFinding is a judged target; one the run had no cell for has no
// verdict, only its reason.
func targetFinding(t Target) doc.Finding {
	w := targetWords[t.Claim]
	if t.Verdict == NotRun {
		return doc.Say("%s: %s.", w[0], t.Detail)
	}
	return doc.Judged(w[1], strings.ToLower(t.Verdict), "%s: %s", w[0], t.Detail)
}

// setup is the workload and what the counts mean.
func setup(r Result) []string {
	where := "the given cluster"
	if r.OwnCluster {
		where = "the lab's own 3-node cluster"
	}
	p := r.Params
	return []string{
		fmt.Sprintf("Started %s on %s (%s), seed %d: %d producers, %d keys each, %d partitions (RF 3, min ISR 2), %s records/s, %d-byte values; the fault after %.0f s plus a seeded fraction, freeze %.0f s, delivery timeout %.0f s.",
			r.Started.Format("2006-01-02 15:04:05 MST"), where, strings.Join(r.Brokers, ","), r.Seed,
			p.Producers, p.Keys, p.Partitions, doc.Int(p.Rate), p.ValueBytes, p.WarmupSeconds, p.FreezeSeconds, p.DeliveryTimeoutSeconds),
		"Lost = acknowledged by the producer, then seen by no reader: not by franz-go or kcat, both reading the healed topic to the same high watermarks, taken once they held still for a second and every replica held the same bytes, nor by the kpar parallel consumer that read during the fault. " +
			"Readers disagreed = records one reader saw and another did not (the reads are repeated once when they disagree); they are not lost. " +
			"Under acks=0 no record is acknowledged: its records are sent, and the ones no reader saw are unseen. " +
			"A count marked * is timing-dependent: a re-run of the cell with the same seed repeats the records, the victim and the trigger, not the count.",
	}
}

// repeats says what the seed fixes, what moves between re-runs and why,
// and what the safe setting's target shows about it.
func repeats(cells []Cell, targets []Target) []string {
	if len(cells) == 0 {
		return nil
	}
	var whys []string
	for _, c := range cells {
		if !slices.Contains(whys, c.Why) {
			whys = append(whys, c.Why)
		}
	}
	out := []string{fmt.Sprintf("Exact from the seed: %s. Timing-dependent (starred): %s. What moves them between re-runs: %s",
		strings.Join(cells[0].Exact, ", "), strings.Join(cells[0].TimingDependent, ", "), strings.Join(whys, " "))}
	for _, t := range targets {
		switch {
		case t.Claim != ClaimSafe:
		case t.Verdict == Met:
			out = append(out, "In this run acks=all with idempotence kept lost and duplicated at 0 in every fault cell ("+t.Detail+"). Kafka documents this as a guarantee: an acknowledgement waits for min.insync.replicas replicas, and the broker drops a retried batch by producer id and sequence.")
		case t.Verdict == Missed:
			out = append(out, "acks=all with idempotence did not keep lost and duplicated at 0 in this run ("+t.Detail+"): the run does not show the guarantee holding.")
		}
	}
	return out
}

// compactTable is the answer's figures per cell.
func compactTable(cells []Cell) *doc.Table {
	t := &doc.Table{Head: []string{"setting", "fault", "acked", "lost", "duplicated", "reordered", "readers disagreed"},
		Num: []bool{false, false, true, true, true, true, true}}
	for _, c := range cells {
		k := c.Counts
		st := c.Count
		lost := st("lost", k.Lost)
		acked := doc.Int(k.Acked)
		if c.Setting.Acks == "0" {
			lost, acked = st("unseen", k.Unseen)+" unseen", "none"
		}
		t.Rows = append(t.Rows, []string{c.Setting.Name, c.Fault, acked, lost, st("duplicated", k.Duplicated),
			st("reordered", k.Reordered), st("disagreed", k.Disagreed)})
	}
	return t
}

// fullTable is every count of every cell, with the readers' and the
// producer's own words.
func fullTable(cells []Cell) *doc.Table {
	t := &doc.Table{Head: []string{"setting", "fault", "sent", "acked", "failed", "unanswered", "lost", "readers disagreed", "duplicated",
		"reordered", "failed but written", "kcat read-back", "consumer missed", "producer errors", "s"},
		Num: []bool{false, false, true, true, true, true, true, false, true, true, true, false, true, false, true}}
	for _, c := range cells {
		k := c.Counts
		var errs []string
		for e, n := range k.Errors {
			errs = append(errs, fmt.Sprintf("%s %s", doc.Int(n), e))
		}
		slices.Sort(errs)
		missed := doc.Int(c.Consumer.Missed)
		if !c.Consumer.CaughtUp {
			missed += " (never caught up)"
		}
		st := c.Count
		disagreed := st("disagreed", k.Disagreed)
		if k.Disagreed > 0 {
			disagreed += ": " + ReadersText(c)
		}
		t.Rows = append(t.Rows, []string{c.Setting.Label(), c.Fault, st("sent", k.Sent), AckedText(c), doc.Int(k.Failed), doc.Int(k.Unreported),
			LostText(c, st), disagreed, st("duplicated", k.Duplicated), st("reordered", k.Reordered),
			st("failed_present", k.FailedPresent), KcatText(c), missed, strings.Join(errs, "; "), fmt.Sprintf("%.0f", c.Seconds)})
	}
	return t
}

// countChart is lost or duplicated records as bars, one group per fault,
// one bar per setting; over six settings, a panel per acks level. acks=0 is
// not in the lost chart: nothing is acknowledged there, so nothing can be
// lost (its unseen records are in the table).
func countChart(r Result, metric string) *doc.Chart {
	value := func(k Counts) int { return k.Duplicated }
	c := &doc.Chart{Name: "lab-producer-" + metric, Title: "Duplicated records per setting and fault", Kind: doc.Bars,
		X: doc.Axis{Label: "fault"}, Y: doc.Axis{Label: "duplicated", Unit: "records"}}
	if metric == "lost" {
		value = func(k Counts) int { return k.Lost }
		c.Title = "Acknowledged records no reader saw (acks=0 acknowledges none)"
		c.Y.Label = "lost"
	}
	var acks []string // each series' acks level
	for _, cell := range r.Cells {
		if !slices.Contains(c.X.Categories, cell.Fault) {
			c.X.Categories = append(c.X.Categories, cell.Fault)
		}
	}
	for _, cell := range r.Cells {
		if metric == "lost" && cell.Setting.Acks == "0" {
			continue
		}
		i := slices.IndexFunc(c.Series, func(s doc.Series) bool { return s.Name == cell.Setting.Name })
		if i < 0 {
			c.Series = append(c.Series, doc.Series{Name: cell.Setting.Name, Y: make([]float64, len(c.X.Categories))})
			acks, i = append(acks, cell.Setting.Acks), len(c.Series)-1
		}
		c.Series[i].Y[slices.Index(c.X.Categories, cell.Fault)] = float64(value(cell.Counts))
	}
	if len(c.Series) <= 6 {
		return c
	}
	for i, s := range c.Series {
		title := "acks=" + acks[i]
		p := slices.IndexFunc(c.Panels, func(p doc.Chart) bool { return p.Title == title })
		if p < 0 {
			c.Panels, p = append(c.Panels, doc.Chart{Title: title}), len(c.Panels)
		}
		// The panel names acks; the rest of the name (if1, idem+unclean)
		// keeps one color across panels.
		_, s.Name, _ = strings.Cut(s.Name, "-")
		c.Panels[p].Series = append(c.Panels[p].Series, s)
	}
	c.Series = nil
	return c
}

// ReadersText says which reader saw what another did not, in one line:
// "agree" when every pair agrees.
func ReadersText(c Cell) string {
	if len(c.Reads.Disagreements) == 0 {
		return "agree"
	}
	var parts []string
	for _, d := range c.Reads.Disagreements {
		p := fmt.Sprintf("seen by %s but not %s: %s", d.Seen, d.NotSeen, doc.Int(d.Records))
		if n := d.Records - d.Acked; n > 0 {
			p += fmt.Sprintf(" (%s of them failed or unanswered)", doc.Int(n))
		}
		parts = append(parts, p)
	}
	s := strings.Join(parts, ", ")
	if c.Reads.Repeated {
		s += " (after a second read)"
	}
	return s
}

// KcatText is the kcat cross-check in words, the one wording of it: the
// document's table and the command's line per cell both show it.
func KcatText(c Cell) string {
	if !c.Kcat.Ran {
		return "kcat not run: " + c.Kcat.Note
	}
	k := c.Reads.Between(ReaderKcat, ReaderFranzGo)
	f := c.Reads.Between(ReaderFranzGo, ReaderKcat)
	var s string
	if k.Records == 0 && f.Records == 0 {
		s = fmt.Sprintf("kcat agrees with franz-go (%s records)", doc.Int(c.Kcat.Records))
	} else {
		s = fmt.Sprintf("kcat differs from franz-go: kcat read %s records, franz-go %s; %s seen by kcat only, %s by franz-go only",
			doc.Int(c.Kcat.Records), doc.Int(c.Counts.Records), doc.Int(k.Records), doc.Int(f.Records))
		if c.Reads.Repeated {
			s += ", after a second read"
		}
	}
	if c.Kcat.Note != "" {
		s += " (" + c.Kcat.Note + ")"
	}
	return s
}

// LostText is a cell's lost count: under acks=0 nothing is acknowledged,
// so it gives the sent records no reader saw instead.
func LostText(c Cell, star func(string, int) string) string {
	if c.Setting.Acks == "0" {
		return fmt.Sprintf("none acknowledged (acks=0); %s of %s sent unseen", star("unseen", c.Counts.Unseen), doc.Int(c.Counts.Written))
	}
	return star("lost", c.Counts.Lost)
}

// AckedText is a cell's acknowledged count; under acks=0, where nothing is
// acknowledged, what was written to the socket, named so.
func AckedText(c Cell) string {
	if c.Setting.Acks == "0" {
		return fmt.Sprintf("none (acks=0; %s written)", doc.Int(c.Counts.Written))
	}
	return doc.Int(c.Counts.Acked)
}
