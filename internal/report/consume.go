package report

import (
	"fmt"
	"strings"

	"github.com/kpar/kpar/internal/bench/consume"
	"github.com/kpar/kpar/internal/clock"
	"github.com/kpar/kpar/internal/results"
)

var consumeKind = kind{schema: consume.Schema, version: 5, current: consume.Version, section: "consume", load: loadConsume}

func loadConsume(path string) (Part, error) {
	var r consume.Result
	if err := results.Read(path, consume.Schema, consume.Version, &r); err != nil {
		return Part{}, err
	}
	return consumePart(r), nil
}

// consumeAnswer states the package's own verdicts: the io run against the
// ideal, the no-op run against the plain loop, the memory peak.
func consumeAnswer(r consume.Result) []string {
	r = consume.Rejudge(r) // never a stored verdict beside figures that contradict it
	var out []string
	if io := r.IO; io != nil {
		rng := ""
		if n := len(io.Repeats); n > 1 {
			rng = fmt.Sprintf(" (median of %d repeats, range %s-%s)", n, pct(io.Efficiency.Min), pct(io.Efficiency.Max))
		}
		out = append(out, fmt.Sprintf("With a %g ms handler at concurrency %d (%s order, %d keys) the parallel consumer reached **%s of the ideal** %s records/s%s; the %s target: %s; bound by %s.",
			io.SleepMs, io.Concurrency, io.Order, io.Keys, pct(io.Efficiency.Median), num(io.IdealPerS), rng, pct(io.Target), io.Verdict, io.BoundBy))
	}
	// "it" only once the io sentence named the parallel consumer.
	subject, its := "it", "its"
	if r.IO == nil {
		subject, its = "the parallel consumer", "the parallel consumer's"
	}
	var s []string
	if c := r.CPU; c != nil {
		rng := ""
		if n := len(c.Repeats); n > 1 {
			rng = fmt.Sprintf(", median of %d repeats, range %s-%s", n, pct(c.Ratio.Min), pct(c.Ratio.Max))
		}
		s = append(s, fmt.Sprintf("with a no-op handler %s ran at **%s of a plain franz-go loop** (the faster of two fetch sizes in each repeat%s; %s vs %s records/s), the %s target: %s",
			subject, pct(c.Ratio.Median), rng, num(c.Parallel.Median), num(max(c.PlainSameFetch.Median, c.PlainDefault.Median)), pct(c.Target), c.Verdict))
		its = "its"
	}
	if m := r.RSS; m != nil {
		s = append(s, fmt.Sprintf("%s peak RSS over a %s-record backlog was **%s**", its, i64(m.Records), mib(m.PeakRSSKiB)))
	}
	if len(s) > 0 {
		t := strings.Join(s, "; ") + "."
		out = append(out, strings.ToUpper(t[:1])+t[1:])
	}
	if len(out) == 0 {
		out = append(out, "This run measured nothing (no io, cpu or rss part).")
	}
	return out
}

func consumePart(r consume.Result) Part {
	r = consume.Rejudge(r)
	p := Part{Answer: consumeAnswer(r)}
	p.Facts.Cores = r.CPUs
	p.Blocks = append(p.Blocks, Block{Text: []string{fmt.Sprintf("Brokers %s. %s. Rates: distinct records from the warm-up (10%% of the records) to the last, windows of at least %g s.", strings.Join(r.Brokers, ","), r.Note, r.MinWindowS)}})
	if io := r.IO; io != nil && len(io.Repeats) > 0 {
		med := io.Repeats[io.MedianRepeat]
		p.Blocks = append(p.Blocks,
			plotBlock("I/O-bound: records/s against the ideal", bars(fmt.Sprintf("%g ms handler, concurrency %d, %s order", io.SleepMs, io.Concurrency, io.Order), "records/s",
				[]string{"ideal (configured sleep)", "ideal (measured handler, median repeat)", "median repeat"},
				[]float64{io.IdealPerS, med.IdealMeasPS, med.Result.PerS()})))
		t := &Table{Head: []string{"repeat", "records", "partitions", "keys", "order", "concurrency", "sleep ms", "measured handler ms", "records/s", "of ideal", "window s", "first record after", "CPU cores"},
			Num: []bool{true, true, true, true, false, true, true, true, true, true, true, true, true}}
		for i, rp := range io.Repeats {
			m := rp.Result
			t.Rows = append(t.Rows, []string{inum(i + 1), i64(m.Window.Records), inum(io.Partitions), inum(io.Keys), io.Order, inum(io.Concurrency), fmt.Sprintf("%g", io.SleepMs), f2(m.MeanHandler),
				num(m.PerS()), pct(rp.Efficiency), f2(m.Window.Seconds), fmt.Sprintf("%.0f ms", 1e3*m.Window.FirstS), f2(rp.CPUCores)})
		}
		p.Blocks = append(p.Blocks, Block{Table: t}, Block{Text: []string{fmt.Sprintf("Bound by (median repeat): %s.", io.BoundBy)}})
	}
	if c := r.CPU; c != nil && len(c.Repeats) > 0 {
		rows := [][]string{}
		var labels []string
		var vals []float64
		for _, x := range []struct {
			name, short string
			s           func(consume.CPURepeat) consume.Measurement
		}{{"parallel consumer", "parallel", func(r consume.CPURepeat) consume.Measurement { return r.Parallel }},
			{"plain loop, kgo's default fetch size", "plain, default fetch", func(r consume.CPURepeat) consume.Measurement { return r.PlainDefault }},
			{"plain loop, the parallel run's fetch size", "plain, same fetch", func(r consume.CPURepeat) consume.Measurement { return r.PlainSameFetch }}} {
			var rates, secs, cpus, ns []float64
			for _, rp := range c.Repeats {
				m := x.s(rp)
				rates, secs, cpus, ns = append(rates, m.PerS()), append(secs, m.Window.Seconds), append(cpus, m.CPUSeconds), append(ns, perRecordNs(m))
			}
			rs := clock.SpreadOf(rates)
			rows = append(rows, []string{x.name, num(rs.Median), num(rs.Min) + "-" + num(rs.Max), f2(clock.SpreadOf(secs).Median), f2(clock.SpreadOf(cpus).Median), num(clock.SpreadOf(ns).Median)})
			labels = append(labels, x.short)
			vals = append(vals, rs.Median)
		}
		var per []string
		for _, rp := range c.Repeats {
			per = append(per, pct(rp.Ratio))
		}
		p.Blocks = append(p.Blocks,
			plotBlock("No-op handler: against a plain franz-go loop", bars(fmt.Sprintf("no-op, concurrency %d, median of %d", c.Concurrency, len(c.Repeats)), "records/s", labels, vals)),
			Block{Table: &Table{Head: []string{"no-op run", "median records/s", "range", "window s", "CPU-s", "CPU ns per record"}, Num: []bool{false, true, true, true, true, true}, Rows: rows}},
			Block{Text: []string{fmt.Sprintf("The reference is the faster plain loop of each repeat: the parallel consumer reached %s of it (per repeat: %s), target %s: %s.",
				pct(c.Ratio.Median), strings.Join(per, ", "), pct(c.Target), c.Verdict)}})
	}
	if m := r.RSS; m != nil {
		fetch := "the library's default FetchMaxBytes"
		if m.FetchMax > 0 {
			fetch = fmt.Sprintf("FetchMaxBytes %d", m.FetchMax)
		}
		p.Blocks = append(p.Blocks, Block{Title: "Memory under a backlog", Table: &Table{
			Head: []string{"backlog records", "MaxBuffered", "per partition", "fetch size", "seconds", "peak RSS"},
			Num:  []bool{true, true, true, false, true, true},
			Rows: [][]string{{i64(m.Records), inum(m.MaxBuffered), inum(m.PerPart), fetch, f2(m.Seconds), mib(m.PeakRSSKiB)}}}})
	}
	return p
}

func perRecordNs(m consume.Measurement) float64 {
	if m.Window.EndRecords == 0 {
		return 0
	}
	return 1e9 * m.CPUSeconds / float64(m.Window.EndRecords)
}
