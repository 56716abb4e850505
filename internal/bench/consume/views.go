package consume

import (
	"fmt"
	"strings"
	"time"

	"github.com/kpar/kpar/internal/clock"
	"github.com/kpar/kpar/internal/results"
)

// Views are the files computed from r alone: consume.md.
func Views(r Result) []results.View {
	return []results.View{{Name: "consume.md", Bytes: []byte(Markdown(r))}}
}

// spread is "median (min-max)" of a rate, records/s.
func spread(s clock.Spread) string {
	if s.Min == s.Max {
		return fmt.Sprintf("%.0f", s.Median)
	}
	return fmt.Sprintf("%.0f (%.0f-%.0f)", s.Median, s.Min, s.Max)
}

// pctSpread is "median% (min-max%)" of a share.
func pctSpread(s clock.Spread) string {
	if s.Min == s.Max {
		return fmt.Sprintf("%.1f%%", 100*s.Median)
	}
	return fmt.Sprintf("%.1f%% (%.1f-%.1f%%)", 100*s.Median, 100*s.Min, 100*s.Max)
}

// repeats is "1 run" or "3 repeats".
func repeats(n int) string {
	if n == 1 {
		return "1 run"
	}
	return fmt.Sprintf("%d repeats", n)
}

// windowRange is the measured windows' range in seconds and the records
// counted in them, e.g. "1080000 records in 10.8-11.2 s".
func windowRange(ms []Measurement) string {
	var secs []float64
	var recs []float64
	for _, m := range ms {
		secs = append(secs, m.Window.Seconds)
		recs = append(recs, float64(m.Window.EndRecords-m.Window.WarmupRecords))
	}
	s, r := clock.SpreadOf(secs), clock.SpreadOf(recs)
	rs := fmt.Sprintf("%.0f", r.Median)
	if r.Min != r.Max {
		rs = fmt.Sprintf("%.0f-%.0f", r.Min, r.Max)
	}
	if s.Min == s.Max {
		return fmt.Sprintf("%s records in %.1f s", rs, s.Median)
	}
	return fmt.Sprintf("%s records in %.1f-%.1f s", rs, s.Min, s.Max)
}

func (io *IO) measurements() []Measurement {
	var ms []Measurement
	for _, r := range io.Repeats {
		ms = append(ms, r.Result)
	}
	return ms
}

func (c *CPU) measurements(pick func(CPURepeat) Measurement) []Measurement {
	var ms []Measurement
	for _, r := range c.Repeats {
		ms = append(ms, pick(r))
	}
	return ms
}

// ratios lists each repeat's ratio as a percentage.
func ratios(reps []CPURepeat, pick func(CPURepeat) float64) string {
	var out []string
	for _, r := range reps {
		out = append(out, fmt.Sprintf("%.1f%%", 100*pick(r)))
	}
	return strings.Join(out, ", ")
}

// medianNsPerRecord is the median over ms of the CPU spent per record
// counted (whole run: start to the n-th record).
func medianNsPerRecord(ms []Measurement) float64 {
	var xs []float64
	for _, m := range ms {
		xs = append(xs, perRecordNs(m))
	}
	return clock.SpreadOf(xs).Median
}

func firstSpread(ms []Measurement) clock.Spread {
	var xs []float64
	for _, m := range ms {
		xs = append(xs, 1e3*m.Window.FirstS)
	}
	return clock.SpreadOf(xs)
}

// clockRule is the one sentence that says how every rate here was measured.
func clockRule(rep Result) string {
	return fmt.Sprintf("Every rate counts distinct records in the process that handles them, from the first observation at %.0f%% of "+
		"the records (warm-up) to the n-th; a window shorter than %.0f s is refused. The figure shown is the median of the repeats "+
		"with the range beside it; a target is met only when every repeat is past it.", 100*clock.Warmup, rep.MinWindowS)
}

// Markdown is the summary of a result: every figure and every sentence's
// verdict comes from r.
func Markdown(rep Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Parallel consumer bench\n\n")
	fmt.Fprintf(&b, "Brokers %s, %d CPUs, started %s. %s. %s\n\n", strings.Join(rep.Brokers, ","), rep.CPUs,
		rep.Started.Format(time.RFC3339), rep.Note, clockRule(rep))
	if io := rep.IO; io != nil && len(io.Repeats) > 0 {
		ms := io.measurements()
		med := io.Repeats[io.MedianRepeat]
		fmt.Fprintf(&b, "## I/O-bound\n\n")
		fmt.Fprintf(&b, "%d records, %d partitions, %d keys, %s order, concurrency %d, handler sleep %.1f ms, %s (%s each): "+
			"**%s records/s**, %s of the ideal %.0f records/s (%d lanes, set by %s, over the sleep). Target %.0f%%: **%s**.\n\n",
			ms[0].Window.Records, io.Partitions, io.Keys, io.Order, io.Concurrency, io.SleepMs, repeats(len(ms)), windowRange(ms),
			spread(io.Rate), pctSpread(io.Efficiency), io.IdealPerS, io.Lanes, io.LanesBy, 100*io.Target, io.Verdict)
		fmt.Fprintf(&b, "In the median repeat (%d of %d) ", io.MedianRepeat+1, len(io.Repeats))
		if med.Result.MeanHandler > 0 && med.IdealMeasPS > 0 {
			fmt.Fprintf(&b, "the handler's sleep took %.2f ms on average, so the ideal at the measured latency was %.0f records/s, "+
				"of which the rate reached %.1f%%; ", med.Result.MeanHandler, med.IdealMeasPS, 100*med.Result.PerS()/med.IdealMeasPS)
		}
		fmt.Fprintf(&b, "the consumer used %.2f CPU cores of %d and its first record came %.0f ms after start (group join, first fetch). "+
			"Bound by: %s. %s.\n\n", med.CPUCores, rep.CPUs, 1e3*med.Result.Window.FirstS, io.BoundBy, io.mode())
		fmt.Fprintf(&b, "| repeat | records/s | of ideal | window s | mean handler ms | CPU cores | target |\n|---|---|---|---|---|---|---|\n")
		for i, r := range io.Repeats {
			fmt.Fprintf(&b, "| %d | %.0f | %.1f%% | %.2f | %.2f | %.2f | %s |\n", i+1, r.Result.PerS(), 100*r.Efficiency,
				r.Result.Window.Seconds, r.Result.MeanHandler, r.CPUCores, pastWord(r.Met))
		}
		b.WriteString("\n")
	}
	if c := rep.CPU; c != nil && len(c.Repeats) > 0 {
		par := c.measurements(func(r CPURepeat) Measurement { return r.Parallel })
		same := c.measurements(func(r CPURepeat) Measurement { return r.PlainSameFetch })
		def := c.measurements(func(r CPURepeat) Measurement { return r.PlainDefault })
		fmt.Fprintf(&b, "## CPU-light (no-op handler)\n\n")
		fmt.Fprintf(&b, "%d records each, concurrency %d, %s, the contenders interleaved (kpar, plain loop with kpar's fetch size, "+
			"plain loop with kgo's default, then again). kpar: **%s records/s** (%s). Plain franz-go loop with kpar's fetch size "+
			"(FetchMaxBytes %d): %s records/s (%s); with kgo's default fetch size: %s records/s (%s).\n\n",
			par[0].Window.Records, c.Concurrency, repeats(len(c.Repeats)), spread(c.Parallel), windowRange(par),
			c.SameFetchBytes, spread(c.PlainSameFetch), windowRange(same), spread(c.PlainDefault), windowRange(def))
		if cal := rep.Calibration; cal != nil {
			fmt.Fprintf(&b, "The record count was sized by a calibration run: the plain loop with kgo's default fetch size, the fastest contender, "+
				"read %d records at %.0f records/s, so %d records give it a window of about %.1f x the %.0f s minimum.\n\n",
				cal.Records, cal.PerS, cal.Chosen, cal.Margin, rep.MinWindowS)
		}
		fmt.Fprintf(&b, "Ratios within each repeat: kpar / plain with kpar's fetch size %s (median %.1f%%); kpar / plain with kgo's default %s "+
			"(median %.1f%%); kpar / the faster plain loop of the repeat **%s** (median %.1f%%). Target %.0f%% of the faster plain loop: **%s**.\n\n",
			ratios(c.Repeats, func(r CPURepeat) float64 { return r.RatioSame }), 100*c.RatioSame.Median,
			ratios(c.Repeats, func(r CPURepeat) float64 { return r.RatioDefault }), 100*c.RatioDefault.Median,
			ratios(c.Repeats, func(r CPURepeat) float64 { return r.Ratio }), 100*c.Ratio.Median, 100*c.Target, c.Verdict)
		fmt.Fprintf(&b, "CPU per record over the whole run (median): kpar %.0f ns, plain with kpar's fetch size %.0f ns, plain with kgo's default %.0f ns.\n\n",
			medianNsPerRecord(par), medianNsPerRecord(same), medianNsPerRecord(def))
		fmt.Fprintf(&b, "| repeat | kpar records/s | plain, kpar's fetch | plain, default fetch | kpar / faster plain | target |\n|---|---|---|---|---|---|\n")
		for i, r := range c.Repeats {
			fmt.Fprintf(&b, "| %d | %.0f | %.0f | %.0f | %.1f%% | %s |\n", i+1, r.Parallel.PerS(), r.PlainSameFetch.PerS(), r.PlainDefault.PerS(),
				100*r.Ratio, pastWord(r.Met))
		}
		b.WriteString("\n")
	}
	if r := rep.RSS; r != nil {
		fmt.Fprintf(&b, "## Memory under a backlog\n\n")
		fmt.Fprintf(&b, "A child process consumed a %d-record backlog in %.2f s with MaxBuffered=%d, MaxBufferedPerPartition=%d, "+
			"%s and %s: **peak RSS %.1f MiB**.\n", r.Records, r.Seconds, r.MaxBuffered, r.PerPart, r.fetchPhrase("the library's default FetchMaxBytes", "FetchMaxBytes %d"),
			r.gogcPhrase("default GOGC", "GOGC="), float64(r.PeakRSSKiB)/1024)
	}
	return b.String()
}

// pastWord says whether one repeat was past its target.
func pastWord(met bool) string {
	if met {
		return "past"
	}
	return "short"
}

func perRecordNs(m Measurement) float64 {
	if m.Window.EndRecords == 0 {
		return 0
	}
	return 1e9 * m.CPUSeconds / float64(m.Window.EndRecords)
}

func (r *RSS) fetchPhrase(def, set string) string {
	if r.FetchMax > 0 {
		return fmt.Sprintf(set, r.FetchMax)
	}
	return def
}

func (r *RSS) gogcPhrase(def, prefix string) string {
	if r.GOGC != "" {
		return prefix + r.GOGC
	}
	return def
}

// Text is the terminal summary of a result, from r alone.
func Text(rep Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "brokers %s (%s); rates: distinct records from %.0f%% of n to n, median (min-max) over the repeats, windows of at least %.0f s\n",
		strings.Join(rep.Brokers, ","), rep.Note, 100*clock.Warmup, rep.MinWindowS)
	if io := rep.IO; io != nil && len(io.Repeats) > 0 {
		ms := io.measurements()
		med := io.Repeats[io.MedianRepeat]
		fmt.Fprintf(&b, "io:  %d records, %d partitions, %d keys, %s order, concurrency %d, handler sleep %v, %s (%s each)\n",
			ms[0].Window.Records, io.Partitions, io.Keys, io.Order, io.Concurrency, io.sleep(), repeats(len(ms)), windowRange(ms))
		fmt.Fprintf(&b, "     %s rec/s -> %s of the ideal %.0f rec/s (target %.0f%%: %s)\n",
			spread(io.Rate), pctSpread(io.Efficiency), io.IdealPerS, 100*io.Target, io.Verdict)
		fmt.Fprintf(&b, "     median repeat %d: mean handler %.2f ms (ideal at that latency %.0f rec/s); CPU %.2f cores of %d; first record after %.0f ms\n",
			io.MedianRepeat+1, med.Result.MeanHandler, med.IdealMeasPS, med.CPUCores, rep.CPUs, 1e3*med.Result.Window.FirstS)
		fmt.Fprintf(&b, "     bound by: %s (MaxBuffered %d, per partition %d)\n", io.BoundBy, io.MaxBuffered, io.PerPart)
		fmt.Fprintf(&b, "     %s\n", io.mode())
	}
	if c := rep.CPU; c != nil && len(c.Repeats) > 0 {
		par := c.measurements(func(r CPURepeat) Measurement { return r.Parallel })
		same := c.measurements(func(r CPURepeat) Measurement { return r.PlainSameFetch })
		def := c.measurements(func(r CPURepeat) Measurement { return r.PlainDefault })
		fmt.Fprintf(&b, "cpu: %d records each, concurrency %d, %s interleaved\n", par[0].Window.Records, c.Concurrency, repeats(len(c.Repeats)))
		if cal := rep.Calibration; cal != nil {
			fmt.Fprintf(&b, "     sized by calibration: the fastest contender read %d records at %.0f rec/s\n", cal.Records, cal.PerS)
		}
		fmt.Fprintf(&b, "     kpar no-op                        %s rec/s (%s), first record after %s ms (group join)\n",
			spread(c.Parallel), windowRange(par), spread(firstSpread(par)))
		fmt.Fprintf(&b, "     plain franz-go, kpar's fetch size %s rec/s (%s), FetchMaxBytes %d\n", spread(c.PlainSameFetch), windowRange(same), c.SameFetchBytes)
		fmt.Fprintf(&b, "     plain franz-go, kgo's default     %s rec/s (%s)\n", spread(c.PlainDefault), windowRange(def))
		fmt.Fprintf(&b, "     kpar / plain, kpar's fetch size: %s; / plain, default: %s\n",
			ratios(c.Repeats, func(r CPURepeat) float64 { return r.RatioSame }), ratios(c.Repeats, func(r CPURepeat) float64 { return r.RatioDefault }))
		fmt.Fprintf(&b, "     kpar / faster plain per repeat: %s (median %.1f%%; target %.0f%%: %s)\n",
			ratios(c.Repeats, func(r CPURepeat) float64 { return r.Ratio }), 100*c.Ratio.Median, 100*c.Target, c.Verdict)
		fmt.Fprintf(&b, "     CPU per record (whole run, median): kpar %.0f ns, plain same fetch %.0f ns, plain default %.0f ns\n",
			medianNsPerRecord(par), medianNsPerRecord(same), medianNsPerRecord(def))
	}
	if r := rep.RSS; r != nil {
		fmt.Fprintf(&b, "rss: child consumed a %d-record backlog in %.2fs with MaxBuffered=%d, per partition %d, FetchMaxBytes %s, GOGC %s: peak RSS %.1f MiB\n",
			r.Records, r.Seconds, r.MaxBuffered, r.PerPart, r.fetchPhrase("library default", "%d B"), r.gogcPhrase("default", ""), float64(r.PeakRSSKiB)/1024)
	}
	return b.String()
}

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
