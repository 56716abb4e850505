package report

import (
	"fmt"
	"strings"

	"github.com/kpar/kpar/internal/bench/consume"
	"github.com/kpar/kpar/internal/results"
)

var consumeKind = kind{schema: consume.Schema, version: 4, current: consume.Version, section: "consume", load: loadConsume}

func loadConsume(path string) (Part, error) {
	var r consume.Result
	if err := results.Read(path, consume.Schema, consume.Version, &r); err != nil {
		return Part{}, err
	}
	return consumePart(r), nil
}

func meets(ok bool) string {
	if ok {
		return "meets"
	}
	return "misses"
}

// consumeAnswer states the package's own verdicts: the io run against the
// ideal, the no-op run against the plain loop, the memory peak.
func consumeAnswer(r consume.Result) []string {
	var out []string
	if io := r.IO; io != nil {
		out = append(out, fmt.Sprintf("With a %g ms handler at concurrency %d (%s order, %d keys) the parallel consumer reached **%s of the ideal** %s records/s, which %s the %s target; bound by %s.",
			io.SleepMs, io.Concurrency, io.Order, io.Keys, pct(io.SteadyEfficiency), num(io.IdealPerS), meets(io.MeetsTarget), pct(io.Target), io.BoundBy))
	}
	// "it" only once the io sentence named the parallel consumer.
	subject, its := "it", "its"
	if r.IO == nil {
		subject, its = "the parallel consumer", "the parallel consumer's"
	}
	var s []string
	if c := r.CPU; c != nil {
		s = append(s, fmt.Sprintf("with a no-op handler %s ran at **%s of a plain franz-go loop** (%s vs %s records/s), which %s the %s target",
			subject, pct(c.Ratio), num(c.Parallel.RecordsPerS), num(c.Plain.RecordsPerS), meets(c.MeetsTarget), pct(c.Target)))
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
	p := Part{Answer: consumeAnswer(r)}
	p.Facts.Cores = r.CPUs
	p.Blocks = append(p.Blocks, Block{Text: []string{fmt.Sprintf("Brokers %s. %s.", strings.Join(r.Brokers, ","), r.Note)}})
	if io := r.IO; io != nil {
		m := io.Result
		p.Blocks = append(p.Blocks,
			plotBlock("I/O-bound: records/s against the ideal", bars(fmt.Sprintf("%g ms handler, concurrency %d, %s order", io.SleepMs, io.Concurrency, io.Order), "records/s",
				[]string{"ideal (configured sleep)", "ideal (measured handler)", "steady", "whole run"},
				[]float64{io.IdealPerS, io.IdealMeasPS, m.SteadyPerS, m.RecordsPerS})),
			Block{Table: &Table{Head: []string{"records", "partitions", "keys", "order", "concurrency", "sleep ms", "measured handler ms", "steady records/s", "of ideal", "whole-run records/s", "first record after", "CPU cores", "bound by"},
				Num: []bool{true, true, true, false, true, true, true, true, true, true, true, true, false},
				Rows: [][]string{{i64(m.Records), inum(io.Partitions), inum(io.Keys), io.Order, inum(io.Concurrency), fmt.Sprintf("%g", io.SleepMs), f2(m.MeanHandler),
					num(m.SteadyPerS), pct(io.SteadyEfficiency), num(m.RecordsPerS), fmt.Sprintf("%.0f ms", 1e3*m.FirstS), f2(io.CPUCores), io.BoundBy}}}})
	}
	if c := r.CPU; c != nil {
		rows := [][]string{}
		var labels []string
		var vals []float64
		for _, x := range []struct {
			name, short string
			m           consume.Measurement
		}{{"parallel consumer", "parallel", c.Parallel}, {"plain loop, kgo's default fetch size", "plain, default fetch", c.PlainDefault},
			{"plain loop, the parallel run's fetch size", "plain, same fetch", c.PlainSameFetch}} {
			rows = append(rows, []string{x.name, num(x.m.RecordsPerS), f2(x.m.Seconds), f2(x.m.CPUSeconds), num(perRecordNs(x.m))})
			labels = append(labels, x.short)
			vals = append(vals, x.m.RecordsPerS)
		}
		p.Blocks = append(p.Blocks,
			plotBlock("No-op handler: against a plain franz-go loop", bars(fmt.Sprintf("no-op, concurrency %d", c.Concurrency), "records/s", labels, vals)),
			Block{Table: &Table{Head: []string{"no-op run", "records/s", "seconds", "CPU-s", "CPU ns per record"}, Num: []bool{false, true, true, true, true}, Rows: rows}},
			Block{Text: []string{fmt.Sprintf("The reference is the faster plain loop (%s): the parallel consumer reached %s of it, target %s (%s).",
				c.Plain.Name, pct(c.Ratio), pct(c.Target), meets(c.MeetsTarget))}})
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
	if m.Records == 0 {
		return 0
	}
	return 1e9 * m.CPUSeconds / float64(m.Records)
}
