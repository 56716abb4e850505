package compare

import (
	"fmt"
	"strings"

	"github.com/kpar/kpar/internal/clock"
	"github.com/kpar/kpar/internal/doc"
)

// shareSentence states one share finding with both numbers and who did
// better.
func shareSentence(f ShareFinding) string {
	var s string
	switch f.Unit {
	case "records/s":
		s = fmt.Sprintf("%s: the share group ran at %s records/s against kpar's %s (%sx)", f.Where, doc.Num(f.Share), doc.Num(f.Kpar), doc.F2(f.Ratio))
	case "records":
		s = fmt.Sprintf("%s: the share group processed %s records before a lower offset of their key had finished, kpar %s", f.Where, doc.Num(f.Share), doc.Num(f.Kpar))
	case "s":
		s = fmt.Sprintf("%s: the share group's first record came %s s after it started, kpar's %s s (%sx)", f.Where, doc.F2(f.Share), doc.F2(f.Kpar), doc.F2(f.Ratio))
	case "MiB":
		s = fmt.Sprintf("%s: the share group's peak RSS was %s MiB against kpar's %s (%sx)", f.Where, doc.Num(f.Share), doc.Num(f.Kpar), doc.F2(f.Ratio))
	default:
		s = fmt.Sprintf("%s: the share group spent %s %s per million records against kpar's %s (%sx)", f.Where, doc.F2(f.Share), f.Unit, doc.F2(f.Kpar), doc.F2(f.Ratio))
	}
	if f.KparShare != nil {
		s += "; kpar's share mode " + shareNum(f.Unit, *f.KparShare)
	}
	return s + ": " + shareVerdict(f) + "."
}

func shareNum(unit string, v float64) string {
	switch unit {
	case "records/s", "records", "MiB":
		return doc.Num(v) + " " + unit
	}
	return doc.F2(v) + " " + unit
}

// shareVerdict says who did better in the finding's own terms.
func shareVerdict(f ShareFinding) string {
	word := map[string]string{"records/s": "faster", "CPU-s": "cheaper", "MiB": "smaller", "records": "kept more in order", "s": "sooner"}[f.Unit]
	switch f.Better {
	case BetterShare:
		return "**the share group** " + word
	case BetterKpar:
		return "**kpar** " + word
	}
	if f.Unit == "records" {
		return "the same"
	}
	return fmt.Sprintf("even (within %.0f%%)", 100*EvenBand)
}

// shareTally lists the figures where the share group and where kpar did
// better.
func shareTally(r Result) (share, kpar []string) {
	for _, f := range r.ShareFindings {
		switch f.Better {
		case BetterShare:
			share = append(share, f.Where+" "+f.What)
		case BetterKpar:
			kpar = append(kpar, f.Where+" "+f.What)
		}
	}
	return share, kpar
}

// shareBlocks are the section "Share groups vs a consumer group with a
// parallel consumer": every number and every verdict from r.
func shareBlocks(r Result) []doc.Block {
	if len(r.ShareFindings) == 0 {
		return nil
	}
	e := r.Env
	intro := fmt.Sprintf("Share contenders, each its own process on the same topics, each run on a fresh share group set to read from "+
		"the earliest offset: **share**, a bare franz-go share consumer with %d member clients, each polling at most its part "+
		"of the run's concurrency, handling the poll's records concurrently (one goroutine each), acking each (AckAccept) as "+
		"its handler returns and polling again only once all are acked (franz-go accepts at the next poll whatever is still "+
		"unacked); ", e.ShareMembers)
	if e.KparShare {
		intro += fmt.Sprintf("**kpar-share**, kpar's `parallel` consumer in share mode (parallel.ShareGroup, %d members, its defaults otherwise); ", e.ShareMembers)
	}
	intro += fmt.Sprintf("and, for the no-op rate, Kafka's own ShareConsumerPerformance (Java, --threads %d). kpar is its consumer group "+
		"run above (key order).", e.ShareMembers)
	bs := []doc.Block{{Title: "Share groups vs a consumer group with a parallel consumer", Text: []string{intro,
		"A record is **reordered** when its handler started before the handler of a lower offset of the same " +
			"partition and key had finished (first processings only, of the records handled in the run); key order makes it 0."}}}
	if len(r.IO) > 0 && r.IO[0].Share.Contender != "" {
		bs = append(bs, doc.Block{Table: shareIOTable(r)})
	}
	bs = append(bs, shareNoop(r)...)
	if m := r.RSS; m != nil && m.Share.Contender != "" {
		s := fmt.Sprintf("Memory over the %s-record backlog: kpar %s, share %s", doc.I64(m.Kpar.Records), doc.MiB(m.Kpar.PeakRSSKiB), doc.MiB(m.Share.PeakRSSKiB))
		if m.KparShare != nil {
			s += ", kpar-share " + doc.MiB(m.KparShare.PeakRSSKiB)
		}
		bs = append(bs, doc.Block{Text: []string{s + "."}})
	}
	lesson := doc.Block{Title: "The lesson, from this run"}
	for _, f := range r.ShareFindings {
		lesson.List = append(lesson.List, shareSentence(f))
	}
	share, kpar := shareTally(r)
	s := fmt.Sprintf("The bare share group beat kpar's consumer group on none of the %d figures", len(r.ShareFindings))
	if len(share) > 0 {
		s = fmt.Sprintf("The bare share group beat kpar's consumer group on %d of %d figures (%s)", len(share), len(r.ShareFindings), strings.Join(share, "; "))
	}
	bs = append(bs, lesson, doc.Block{Text: []string{fmt.Sprintf("%s; kpar did better on %d; the rest were even.", s, len(kpar))}})
	if o := keyOrderLesson(r); len(o) > 0 {
		bs = append(bs, doc.Block{Text: []string{"Order and rate, side by side:"}, List: o})
	}
	return bs
}

func shareIOTable(r Result) *doc.Table {
	head := []string{"concurrency", "kpar records/s", "of ideal", "CPU-s/M", "reordered", "share records/s", "of ideal", "CPU-s/M", "reordered", "redelivered"}
	if r.Env.KparShare {
		head = append(head, "kpar-share records/s", "of ideal", "CPU-s/M", "reordered")
	}
	t := numeric(0, head...)
	cells := func(s Side) []string {
		return []string{doc.Num(s.SteadyPerS), doc.Pct(s.IdealShare), doc.F2(s.CPUPerMillion), reorderCell(s.Order)}
	}
	for _, p := range r.IO {
		row := append(append([]string{doc.Int(p.Concurrency)}, cells(p.Kpar)...), cells(p.Share)...)
		row = append(row, doc.I64(p.Share.Redelivered))
		if k := p.KparShare; k != nil {
			row = append(row, cells(*k)...)
		} else if r.Env.KparShare {
			row = append(row, "-", "-", "-", "-")
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

func shareNoop(r Result) []doc.Block {
	n := r.Noop
	if n == nil || n.Share.Contender == "" {
		return nil
	}
	t := numeric(1, "contender", "records/s", "first record after", "CPU-s per million", "peak RSS")
	sideRows(t, []named{{"kpar (consumer group, key order)", &n.Kpar}, {"share (bare franz-go)", &n.Share}, {"kpar-share", n.KparShare}},
		func(s Side) []string {
			return []string{spread(s), doc.F2(s.FirstRecordS) + " s", doc.F2(s.CPUPerMillion), doc.MiB(s.PeakRSSKiB)}
		})
	j := n.JavaShare
	t.Rows = append(t.Rows, []string{fmt.Sprintf("Kafka ShareConsumerPerformance (Java, %d threads): its own clock", j.Threads),
		doc.Num(j.RecordsPerS) + " over its whole run", "-", doc.F2(j.CPUPerMillion), doc.MiB(j.PeakRSSKiB)})
	return []doc.Block{{Text: []string{fmt.Sprintf("No-op, %s records, concurrency %d.", doc.I64(n.Kpar.Records), r.Env.NoopConc)}, Table: t},
		{Text: []string{"ShareConsumerPerformance cannot be counted by the clock of the others: its rate is its own, from its start time to its " +
			"end time (group join and first fetch included), so it is in no ratio here."}}}
}

// keyOrderLesson weighs what key order gave (reorders avoided) against
// what it cost (rate given up to the share group), per io concurrency.
func keyOrderLesson(r Result) []string {
	var out []string
	for _, p := range r.IO {
		o := p.Share.Order
		if o == nil || p.Kpar.Order == nil {
			continue
		}
		s := fmt.Sprintf("Concurrency %d: without key order the share group processed %s of %s records (%.1f%%) out of their key's order, "+
			"over %s keys; kpar's consumer group %s of %s. ", p.Concurrency, doc.I64(o.Reordered), doc.I64(o.Records), 100*o.Share(), doc.Int(o.Keys),
			doc.I64(p.Kpar.Order.Reordered), doc.I64(p.Kpar.Order.Records))
		switch d := clock.Ratio(p.Share.SteadyPerS, p.Kpar.SteadyPerS); {
		case d > 1+EvenBand:
			s += fmt.Sprintf("The share group's rate was %sx kpar's.", doc.F2(d))
		case d > 0 && d < 1-EvenBand:
			s += fmt.Sprintf("kpar's rate was %sx the share group's.", doc.F2(1/d))
		default:
			s += fmt.Sprintf("The rates were within %.0f%% of each other.", 100*EvenBand)
		}
		out = append(out, s)
	}
	return out
}

func reorderCell(o *Order) string {
	if o == nil {
		return "-"
	}
	return fmt.Sprintf("%s of %s", doc.I64(o.Reordered), doc.I64(o.Records))
}
