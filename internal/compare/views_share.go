package compare

import (
	"fmt"
	"strings"
)

// Sentence states one share finding with both numbers and who did better.
func (f ShareFinding) Sentence() string {
	var s string
	switch f.Unit {
	case "records/s":
		s = fmt.Sprintf("%s: the share group ran at %.0f records/s against kpar's %.0f (%.2fx)", f.Where, f.Share, f.Kpar, f.Ratio)
	case "records":
		s = fmt.Sprintf("%s: the share group processed %.0f records before a lower offset of their key had finished, kpar %.0f", f.Where, f.Share, f.Kpar)
	case "s":
		s = fmt.Sprintf("%s: the share group's first record came %.2f s after it started, kpar's %.2f s (%.2fx)", f.Where, f.Share, f.Kpar, f.Ratio)
	case "MiB":
		s = fmt.Sprintf("%s: the share group's peak RSS was %.0f MiB against kpar's %.0f (%.2fx)", f.Where, f.Share, f.Kpar, f.Ratio)
	default:
		s = fmt.Sprintf("%s: the share group spent %.2f %s per million records against kpar's %.2f (%.2fx)", f.Where, f.Share, f.Unit, f.Kpar, f.Ratio)
	}
	if f.KparShare != nil {
		s += fmt.Sprintf("; kpar's share mode %s", num(f.Unit, *f.KparShare))
	}
	return s + ": " + f.verdict() + "."
}

func num(unit string, v float64) string {
	switch unit {
	case "records/s", "records", "MiB":
		return fmt.Sprintf("%.0f %s", v, unit)
	case "s":
		return fmt.Sprintf("%.2f s", v)
	}
	return fmt.Sprintf("%.2f %s", v, unit)
}

// verdict says who did better in the finding's own terms.
func (f ShareFinding) verdict() string {
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

// shareMarkdown is the section "Share groups vs a consumer group with a
// parallel consumer": every number and every verdict from r.
func shareMarkdown(r Result) string {
	var b strings.Builder
	e := r.Env
	b.WriteString("## Share groups vs a consumer group with a parallel consumer\n\n")
	fmt.Fprintf(&b, "Share contenders, each its own process on the same topics, each run on a fresh share group set to read from "+
		"the earliest offset: **share**, a bare franz-go share consumer with %d member clients, each polling at most its part "+
		"of the run's concurrency, handling the poll's records concurrently (one goroutine each), acking each (AckAccept) as "+
		"its handler returns and polling again only once all are acked (franz-go accepts at the next poll whatever is still "+
		"unacked); ", e.ShareMembers)
	if e.KparShare {
		fmt.Fprintf(&b, "**kpar-share**, kpar's `parallel` consumer in share mode (parallel.ShareGroup, %d members, its defaults otherwise); ", e.ShareMembers)
	}
	fmt.Fprintf(&b, "and, for the no-op rate, Kafka's own ShareConsumerPerformance (Java, --threads %d). kpar is its consumer group "+
		"run above (key order).\n\n", e.ShareMembers)
	b.WriteString("A record is **reordered** when its handler started before the handler of a lower offset of the same " +
		"partition and key had finished (first processings only, of the records handled in the run); key order makes it 0.\n\n")

	if len(r.IO) > 0 && r.IO[0].Share.Contender != "" {
		head := "| concurrency | kpar records/s | of ideal | CPU-s/M | reordered | share records/s | of ideal | CPU-s/M | reordered | redelivered |"
		sep := "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
		if e.KparShare {
			head += " kpar-share records/s | of ideal | CPU-s/M | reordered |"
			sep += "---:|---:|---:|---:|"
		}
		b.WriteString(head + "\n" + sep + "\n")
		for _, p := range r.IO {
			fmt.Fprintf(&b, "| %d | %.0f | %.0f%% | %.2f | %s | %.0f | %.0f%% | %.2f | %s | %d |", p.Concurrency,
				p.Kpar.SteadyPerS, 100*p.Kpar.IdealShare, p.Kpar.CPUPerMillion, reorderCell(p.Kpar.Order),
				p.Share.SteadyPerS, 100*p.Share.IdealShare, p.Share.CPUPerMillion, reorderCell(p.Share.Order), p.Share.Redelivered)
			if k := p.KparShare; k != nil {
				fmt.Fprintf(&b, " %.0f | %.0f%% | %.2f | %s |", k.SteadyPerS, 100*k.IdealShare, k.CPUPerMillion, reorderCell(k.Order))
			} else if e.KparShare {
				b.WriteString(" - | - | - | - |")
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	if n := r.Noop; n != nil && n.Share.Contender != "" {
		fmt.Fprintf(&b, "No-op, %d records, concurrency %d:\n\n", n.Kpar.Records, e.NoopConc)
		b.WriteString("| contender | records/s | first record after | CPU-s per million | peak RSS |\n|---|---:|---:|---:|---:|\n")
		rows := []struct {
			name string
			s    *Side
		}{{"kpar (consumer group, key order)", &n.Kpar}, {"share (bare franz-go)", &n.Share}, {"kpar-share", n.KparShare}}
		for _, row := range rows {
			if row.s == nil {
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | %.2f s | %.2f | %s |\n", row.name, spread(*row.s), row.s.FirstRecordS,
				row.s.CPUPerMillion, mib(row.s.PeakRSSKiB))
		}
		j := n.JavaShare
		fmt.Fprintf(&b, "| Kafka ShareConsumerPerformance (Java, %d threads): its own clock | %.0f over its whole run | - | %.2f | %s |\n\n",
			j.Threads, j.RecordsPerS, j.CPUPerMillion, mib(j.PeakRSSKiB))
		b.WriteString("ShareConsumerPerformance cannot be counted by the clock of the others: its rate is its own, from its start time to its " +
			"end time (group join and first fetch included), so it is in no ratio here.\n\n")
	}
	if m := r.RSS; m != nil && m.Share.Contender != "" {
		fmt.Fprintf(&b, "Memory over the %d-record backlog: kpar %s, share %s", m.Kpar.Records, mib(m.Kpar.PeakRSSKiB), mib(m.Share.PeakRSSKiB))
		if m.KparShare != nil {
			fmt.Fprintf(&b, ", kpar-share %s", mib(m.KparShare.PeakRSSKiB))
		}
		b.WriteString(".\n\n")
	}

	b.WriteString("### The lesson, from this run\n\n")
	var share, kpar []string
	for _, f := range r.ShareFindings {
		fmt.Fprintf(&b, "- %s\n", f.Sentence())
		label := f.Where + " " + f.What
		switch f.Better {
		case BetterShare:
			share = append(share, label)
		case BetterKpar:
			kpar = append(kpar, label)
		}
	}
	b.WriteString("\n")
	if len(share) == 0 {
		fmt.Fprintf(&b, "The bare share group beat kpar's consumer group on none of the %d figures", len(r.ShareFindings))
	} else {
		fmt.Fprintf(&b, "The bare share group beat kpar's consumer group on %d of %d figures (%s)", len(share), len(r.ShareFindings), strings.Join(share, "; "))
	}
	fmt.Fprintf(&b, "; kpar did better on %d; the rest were even.\n\n", len(kpar))
	b.WriteString(keyOrderLesson(r))
	return b.String()
}

// keyOrderLesson weighs what key order gave (reorders avoided) against
// what it cost (rate given up to the share group), per io concurrency.
func keyOrderLesson(r Result) string {
	var b strings.Builder
	for _, p := range r.IO {
		o := p.Share.Order
		if o == nil || p.Kpar.Order == nil {
			continue
		}
		fmt.Fprintf(&b, "- Concurrency %d: without key order the share group processed %d of %d records (%.1f%%) out of their key's order, "+
			"over %d keys; kpar's consumer group %d of %d. ", p.Concurrency, o.Reordered, o.Records, 100*o.Share(), o.Keys,
			p.Kpar.Order.Reordered, p.Kpar.Order.Records)
		switch d := ratio(p.Share.SteadyPerS, p.Kpar.SteadyPerS); {
		case d > 1+EvenBand:
			fmt.Fprintf(&b, "The share group's rate was %.2fx kpar's.\n", d)
		case d > 0 && d < 1-EvenBand:
			fmt.Fprintf(&b, "kpar's rate was %.2fx the share group's.\n", 1/d)
		default:
			fmt.Fprintf(&b, "The rates were within %.0f%% of each other.\n", 100*EvenBand)
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return "Order and rate, side by side:\n\n" + b.String() + "\n"
}

func reorderCell(o *Order) string {
	if o == nil {
		return "-"
	}
	return fmt.Sprintf("%d of %d", o.Reordered, o.Records)
}
