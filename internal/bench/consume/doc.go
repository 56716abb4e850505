package consume

import (
	"fmt"
	"strings"
	"time"

	"github.com/kpar/kpar/internal/clock"
	"github.com/kpar/kpar/internal/doc"
)

// Doc is what a result says: the io run against its ideal, the no-op run
// against the plain loops, the memory peak. The verdicts are judged again
// from the measurements (Rejudge), so a stored verdict the figures beside it
// contradict is never shown.
func Doc(r Result) doc.Doc {
	r = Rejudge(r)
	d := doc.Doc{Name: "consume", Title: "Parallel consumer bench", Command: r.Command, Answer: answer(r),
		Details: []doc.Block{{Title: "How it was measured", Text: []string{setup(r)}}}}
	var summary [][]string
	if io := r.IO; io != nil && len(io.Repeats) > 0 {
		d.Body = append(d.Body, doc.Block{Chart: ioChart(io)})
		d.Details = append(d.Details, ioDetails(r)...)
		summary = append(summary, summaryRow(fmt.Sprintf("I/O-bound, %g ms handler: kpar", io.SleepMs), each(io.Repeats, func(r IORepeat) Measurement { return r.Result })))
	}
	if c := r.CPU; c != nil && len(c.Repeats) > 0 {
		d.Body = append(d.Body, doc.Block{Chart: cpuChart(c)})
		d.Details = append(d.Details, cpuDetails(r)...)
		for _, x := range contenders {
			summary = append(summary, summaryRow("no-op: "+x.name, each(c.Repeats, x.pick)))
		}
	}
	if len(summary) > 0 {
		d.Body = append(d.Body, doc.Block{Table: &doc.Table{
			Head: []string{"run", "records/s", "range", "window s", "CPU ns per record", "first record ms"},
			Num:  []bool{false, true, true, true, true, true}, Rows: summary}})
	}
	if m := r.RSS; m != nil {
		fetch, gogc := "the library's default FetchMaxBytes", "default GOGC"
		if m.FetchMax > 0 {
			fetch = fmt.Sprintf("FetchMaxBytes %d", m.FetchMax)
		}
		if m.GOGC != "" {
			gogc = "GOGC=" + m.GOGC
		}
		d.Details = append(d.Details, doc.Block{Title: "Memory under a backlog", Findings: []doc.Finding{doc.Say(
			"A child process consumed a %s-record backlog in %s s with MaxBuffered=%s, MaxBufferedPerPartition=%s, %s and %s: **peak RSS %s**.",
			doc.I64(m.Records), doc.F2(m.Seconds), doc.Int(m.MaxBuffered), doc.Int(m.PerPart), fetch, gogc, doc.MiB(m.PeakRSSKiB))}})
	}
	return d
}

// answer states the package's verdicts: the io run against the ideal, the
// no-op run against the plain loop, the memory peak.
func answer(r Result) []doc.Finding {
	var out []doc.Finding
	if io := r.IO; io != nil && len(io.Repeats) > 0 {
		out = append(out, doc.Judged(doc.Pct(io.Target)+" of the ideal", io.Verdict.Word,
			"With a %g ms handler at concurrency %d (%s order, %s keys) the parallel consumer reached **%s of the ideal** %s records/s%s; bound by %s.",
			io.SleepMs, io.Concurrency, io.Order, doc.Int(io.Keys), doc.Pct(io.Efficiency.Median), doc.Num(io.IdealPerS),
			medianOf(len(io.Repeats), io.Efficiency, " (", ")"), io.BoundBy))
	}
	// "it" only once a sentence before named the parallel consumer.
	subject := "the parallel consumer"
	if len(out) > 0 {
		subject = "it"
	}
	if c := r.CPU; c != nil && len(c.Repeats) > 0 {
		out = append(out, doc.Judged(doc.Pct(c.Target)+" of the faster plain loop", c.Verdict.Word,
			"With a no-op handler %s ran at **%s of a plain franz-go loop** (the faster of two fetch sizes in each repeat%s; %s vs %s records/s).",
			subject, doc.Pct(c.Ratio.Median), medianOf(len(c.Repeats), c.Ratio, ", ", ""), doc.Num(c.Parallel.Median),
			doc.Num(max(c.PlainSameFetch.Median, c.PlainDefault.Median))))
		subject = "it"
	}
	if m := r.RSS; m != nil {
		its := "the parallel consumer's"
		if subject == "it" {
			its = "its"
		}
		out = append(out, doc.Say("%s", doc.Sentence(fmt.Sprintf("%s peak RSS over a %s-record backlog was **%s**", its, doc.I64(m.Records), doc.MiB(m.PeakRSSKiB)))))
	}
	if len(out) == 0 {
		out = append(out, doc.Say("This run measured nothing (no io, cpu or rss part)."))
	}
	return out
}

// medianOf says, between open and close, of how many repeats s is the
// median and its range; nothing for one repeat.
func medianOf(n int, s clock.Spread, open, close string) string {
	if n < 2 {
		return ""
	}
	return fmt.Sprintf("%smedian of %d repeats, range %s-%s%s", open, n, doc.Pct(s.Min), doc.Pct(s.Max), close)
}

// setup is how every rate was measured, and where.
func setup(r Result) string {
	started := ""
	if !r.Started.IsZero() {
		started = ", started " + r.Started.Format(time.RFC3339)
	}
	return fmt.Sprintf("Brokers %s, %s%s. %s. Every rate counts distinct records in the process that handles them, from the first "+
		"observation at %s of the records (warm-up) to the n-th; a window shorter than %g s is refused. The figure shown is the median "+
		"of the repeats with the range beside it; a target is met only when every repeat is past it.",
		strings.Join(r.Brokers, ","), doc.Plural(r.CPUs, "CPU", "CPUs"), started, r.Note, doc.Pct(clock.Warmup), r.MinWindowS)
}

func ioChart(io *IO) *doc.Chart {
	var rates, measured, ideal []float64
	for _, rp := range io.Repeats {
		rates, measured, ideal = append(rates, rp.Result.PerS()), append(measured, rp.IdealMeasPS), append(ideal, io.IdealPerS)
	}
	return &doc.Chart{Name: "consume-io", Kind: doc.Bars,
		Title: fmt.Sprintf("I/O-bound: records/s against the ideal (%g ms handler, concurrency %d, %s order)", io.SleepMs, io.Concurrency, io.Order),
		X:     repeatAxis(len(io.Repeats)), Y: doc.Axis{Label: "throughput", Unit: "records/s"},
		Series: []doc.Series{{Name: "kpar", Y: rates}, {Name: "ideal, measured handler", Y: measured},
			{Name: "ideal, configured sleep", Y: ideal}}}
}

// contenders are the no-op run's three, in the order they run.
var contenders = []struct {
	name string
	pick func(CPURepeat) Measurement
}{
	{"kpar", func(r CPURepeat) Measurement { return r.Parallel }},
	{"plain franz-go, kpar's fetch size", func(r CPURepeat) Measurement { return r.PlainSameFetch }},
	{"plain franz-go, kgo's default fetch", func(r CPURepeat) Measurement { return r.PlainDefault }},
}

func cpuChart(c *CPU) *doc.Chart {
	ch := &doc.Chart{Name: "consume-cpu", Kind: doc.Bars,
		Title: fmt.Sprintf("No-op handler: against a plain franz-go loop (concurrency %d)", c.Concurrency),
		X:     repeatAxis(len(c.Repeats)), Y: doc.Axis{Label: "throughput", Unit: "records/s"}}
	for _, x := range contenders {
		s := doc.Series{Name: x.name}
		for _, m := range each(c.Repeats, x.pick) {
			s.Y = append(s.Y, m.PerS())
		}
		ch.Series = append(ch.Series, s)
	}
	return ch
}

// summaryRow is one contender's medians over its repeats.
func summaryRow(name string, ms []Measurement) []string {
	var rates, secs, ns, first []float64
	for _, m := range ms {
		rates, secs = append(rates, m.PerS()), append(secs, m.Window.Seconds)
		ns, first = append(ns, 1e9*m.CPUSeconds/float64(max(m.Window.EndRecords, 1))), append(first, 1e3*m.Window.FirstS)
	}
	rs, rng := clock.SpreadOf(rates), ""
	if rs.Min != rs.Max {
		rng = doc.Num(rs.Min) + "-" + doc.Num(rs.Max)
	}
	return []string{name, doc.Num(rs.Median), rng, doc.F2(clock.SpreadOf(secs).Median), doc.Num(clock.SpreadOf(ns).Median),
		doc.Num(clock.SpreadOf(first).Median)}
}

func ioDetails(r Result) []doc.Block {
	io := r.IO
	ms := each(io.Repeats, func(r IORepeat) Measurement { return r.Result })
	med := io.Repeats[io.MedianRepeat]
	s := fmt.Sprintf("In the median repeat (%d of %d) ", io.MedianRepeat+1, len(io.Repeats))
	if med.Result.MeanHandler > 0 && med.IdealMeasPS > 0 {
		s += fmt.Sprintf("the handler's sleep took %s ms on average, so the ideal at the measured latency was %s records/s, of which "+
			"the rate reached %s; ", doc.F2(med.Result.MeanHandler), doc.Num(med.IdealMeasPS), pct1(med.Result.PerS()/med.IdealMeasPS))
	}
	f := []doc.Finding{doc.Say("%s records, %d partitions, %s keys, %s order, concurrency %d, handler sleep %g ms, %s, %s records in each window; "+
		"the ideal %s records/s is %s, set by %s, over the sleep.", doc.I64(ms[0].Window.Records), io.Partitions, doc.Int(io.Keys), io.Order,
		io.Concurrency, io.SleepMs, doc.Plural(len(ms), "run", "repeats"), windows(ms), doc.Num(io.IdealPerS), doc.Plural(io.Lanes, "lane", "lanes"), io.LanesBy),
		doc.Say("%sthe consumer used %s CPU cores of %d and its first record came %s ms after start (group join, first fetch).",
			s, doc.F2(med.CPUCores), r.CPUs, doc.Num(1e3*med.Result.Window.FirstS)),
		doc.Say("Bound by (median repeat): %s, with MaxBuffered %s and MaxBufferedPerPartition %s. %s.",
			io.BoundBy, doc.Int(io.MaxBuffered), doc.Int(io.PerPart), io.mode())}
	t := &doc.Table{Head: []string{"repeat", "records/s", "of ideal", "window s", "mean handler ms", "CPU cores", "first record ms", "target"},
		Num: []bool{true, true, true, true, true, true, true, false}}
	for i, rp := range io.Repeats {
		m := rp.Result
		t.Rows = append(t.Rows, []string{doc.Int(i + 1), doc.Num(m.PerS()), pct1(rp.Efficiency), doc.F2(m.Window.Seconds),
			doc.F2(m.MeanHandler), doc.F2(rp.CPUCores), doc.Num(1e3 * m.Window.FirstS), past[rp.Met]})
	}
	return []doc.Block{{Title: "I/O-bound", Findings: f}, {Title: "I/O-bound, repeat by repeat", Table: t}}
}

func cpuDetails(r Result) []doc.Block {
	c := r.CPU
	f := []doc.Finding{doc.Say("%s records each, concurrency %d, %s, the contenders interleaved (kpar, plain loop with kpar's fetch size "+
		"(FetchMaxBytes %d), plain loop with kgo's default, then again); kpar's windows counted %s records.", doc.I64(c.Repeats[0].Parallel.Window.Records),
		c.Concurrency, doc.Plural(len(c.Repeats), "run", "repeats"), c.SameFetchBytes, windows(each(c.Repeats, contenders[0].pick)))}
	if cal := r.Calibration; cal != nil {
		f = append(f, doc.Say("The record count was sized by a calibration run: the fastest contender read %s records at %s records/s, "+
			"so %s records give it a window of about %s x the %g s minimum.", doc.I64(cal.Records), doc.Num(cal.PerS), doc.I64(cal.Chosen), doc.F1(cal.Margin), r.MinWindowS))
		for _, n := range cal.Resized {
			f = append(f, doc.Say("A repeat ran faster than calibrated and its window came out short, so the cpu part restarted with %s records each; "+
				"every repeat shown ran on the last count.", doc.I64(n)))
		}
	}
	t := &doc.Table{Head: []string{"repeat", "kpar records/s", "plain, kpar's fetch", "plain, default fetch", "kpar / plain, kpar's fetch",
		"kpar / plain, default fetch", "kpar / faster plain", "target"}, Num: []bool{true, true, true, true, true, true, true, false}}
	for i, rp := range c.Repeats {
		t.Rows = append(t.Rows, []string{doc.Int(i + 1), doc.Num(rp.Parallel.PerS()), doc.Num(rp.PlainSameFetch.PerS()),
			doc.Num(rp.PlainDefault.PerS()), pct1(rp.RatioSame), pct1(rp.RatioDefault), pct1(rp.Ratio), past[rp.Met]})
	}
	t.Rows = append(t.Rows, []string{"median", doc.Num(c.Parallel.Median), doc.Num(c.PlainSameFetch.Median), doc.Num(c.PlainDefault.Median),
		pct1(c.RatioSame.Median), pct1(c.RatioDefault.Median), pct1(c.Ratio.Median), c.Verdict.String()})
	return []doc.Block{{Title: "CPU-light (no-op handler)", Findings: f}, {Title: "CPU-light, repeat by repeat", Table: t}}
}

// past says whether one repeat was past its target.
var past = map[bool]string{true: "past", false: "short"}

// each picks one measurement of every repeat.
func each[R any](reps []R, pick func(R) Measurement) []Measurement {
	ms := make([]Measurement, len(reps))
	for i, r := range reps {
		ms[i] = pick(r)
	}
	return ms
}

// windows is the records the measured windows counted (n less the
// warm-up, more where a poll batch crossed an event), "N" or "min-max".
func windows(ms []Measurement) string {
	var xs []float64
	for _, m := range ms {
		xs = append(xs, float64(m.Window.EndRecords-m.Window.WarmupRecords))
	}
	if s := clock.SpreadOf(xs); s.Min != s.Max {
		return doc.Num(s.Min) + "-" + doc.Num(s.Max)
	}
	return doc.Num(xs[0])
}

// repeatAxis is a bar chart's X: one group per repeat.
func repeatAxis(n int) doc.Axis {
	a := doc.Axis{Label: "repeat"}
	for i := range n {
		a.Categories = append(a.Categories, doc.Int(i+1))
	}
	return a
}

// pct1 is a share as a percentage with one decimal.
func pct1(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) }

// mode says how the io run committed.
func (io *IO) mode() string {
	every := "back to back"
	if io.CommitIntervalMs > 0 {
		every = fmt.Sprintf("every %v", time.Duration(io.CommitIntervalMs*1e6))
	}
	if io.Transactional {
		return "Exactly-once (parallel.NewTransform): one output per record, written in the transactions that commit the records, " + every
	}
	return "At-least-once (parallel.New), commits " + every
}
