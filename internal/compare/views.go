package compare

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kpar/kpar/internal/results"
)

// Views are the files computed from r alone: compare.md and the charts
// (SVG and PNG).
func Views(r Result) ([]results.View, error) {
	vs := []results.View{{Name: "compare.md", Bytes: []byte(Markdown(r))}}
	if r.Window != nil {
		vs = append(vs, r.Window.Charts()...)
	}
	cs, err := charts(r)
	if err != nil {
		return nil, fmt.Errorf("charts: %w", err)
	}
	for _, ch := range cs {
		for _, ext := range []string{".svg", ".png"} {
			p := ch.plot
			vs = append(vs, results.View{Name: ch.name + ext, Save: func(path string) error { return p.Save(chartW, chartH, path) }})
		}
	}
	return vs, nil
}

// Verdict is the sentence of one target, from its data: met only when
// every repeat passed, mixed with the count when some did.
func (t Target) Verdict() string {
	reason := ""
	if t.Reason != "" {
		reason = " Why this target: " + t.Reason + "."
	}
	if !t.Measured {
		return fmt.Sprintf("%s: not measured (%s).%s", t.What, t.Why, reason)
	}
	word := t.Outcome
	switch {
	case word == "" && t.Met:
		word = OutcomeMet
	case word == "":
		word = OutcomeMissed
	case word == OutcomeMixed:
		word = fmt.Sprintf("mixed (%d of %d repeats passed)", t.Passed, len(t.Runs))
	}
	s := fmt.Sprintf("%s: **%s**, kpar reached %.2fx", t.What, word, t.Got)
	if len(t.Runs) > 1 {
		each := make([]string, len(t.Runs))
		for i, v := range t.Runs {
			each[i] = fmt.Sprintf("%.2fx", v)
		}
		s += fmt.Sprintf(" (median of %d repeats: %s)", len(t.Runs), strings.Join(each, ", "))
	}
	if t.CPUFraction > 0 {
		s += fmt.Sprintf(" at %.2fx PC's CPU per record", t.CPUFraction)
	}
	if t.Why != "" {
		s += " (" + t.Why + ")"
	}
	return s + "." + reason
}

// noPCWins is the sentence when PC did better on no figure, from the
// count compared.
func noPCWins(r Result) string {
	if r.PCCompared == 0 {
		return "No figure of kpar and PC was compared in this run."
	}
	return fmt.Sprintf("On none of the %d figures compared (rates, CPU per record, peak RSS): kpar did at least as well on each.", r.PCCompared)
}

// spread is a rate with its min-max over the repeats.
func spread(s Side) string {
	if len(s.Repeats) < 2 {
		return fmt.Sprintf("%.0f", s.SteadyPerS)
	}
	return fmt.Sprintf("%.0f (%.0f-%.0f)", s.SteadyPerS, s.RateMin, s.RateMax)
}

// ratios is a median ratio with its repeats' spread.
func ratios(med float64, runs []float64) string {
	if len(runs) < 2 {
		return fmt.Sprintf("%.2fx", med)
	}
	return fmt.Sprintf("%.2fx (%.2f-%.2f)", med, slices.Min(runs), slices.Max(runs))
}

// PlainName names a plain loop by its fetch size.
func PlainName(sd Side) string {
	if sd.FetchMaxBytes > 0 {
		return fmt.Sprintf("plain loop, FetchMaxBytes %d (kpar's)", sd.FetchMaxBytes)
	}
	return "plain loop, kgo's default FetchMaxBytes (50 MiB)"
}

// Sentence states plainly where PC did better, with both numbers.
func (w PCWin) Sentence() string {
	if w.Unit == "records/s" {
		return fmt.Sprintf("%s: PC was faster than kpar, %.0f records/s against kpar's %.0f (%.2fx).", w.Where, w.PC, w.Kpar, w.PC/w.Kpar)
	}
	return fmt.Sprintf("%s: PC needed less than kpar, %s %.2f %s against kpar's %.2f.", w.Where, w.What, w.PC, w.Unit, w.Kpar)
}

func mib(k int64) string { return fmt.Sprintf("%.0f MiB", kib2mib(k)) }

// Markdown is compare.md: every figure and every verdict comes from r.
func Markdown(r Result) string {
	var b strings.Builder
	e := r.Env
	fmt.Fprintf(&b, "# kpar vs Confluent's Parallel Consumer\n\n")
	fmt.Fprintf(&b, "Brokers %s, %d CPUs, started %s, %.0f s. %s.\n\n", strings.Join(e.Brokers, ","), e.CPUs,
		r.Started.Format(time.RFC3339), r.Finished.Sub(r.Started).Seconds(), r.Note)
	fmt.Fprintf(&b, "Contenders, each its own OS process, on the same topics and records: kpar's `parallel` consumer "+
		"(key order, library defaults otherwise%s); Confluent Parallel Consumer %s with kafka-clients %s "+
		"(%s order, %s, batch size 1, as its README recommends) on Java %s (%s), JVM flags %s, default max heap %.0f MiB; "+
		"a plain franz-go poll loop (no group, no commits) as the floor.\n\n",
		kparBuffers(e), e.PCVersion, e.KafkaClientsVersion, e.PCOrdering, e.PCCommitMode, e.JavaVersion, e.JavaVM,
		jvmFlags(e.JVMFlags), float64(e.JVMDefaultMaxHeap)/(1<<20))
	if len(r.Command) > 0 {
		fmt.Fprintf(&b, "Reproduce: `%s`\n\n", strings.Join(r.Command, " "))
	}

	if len(r.Failures) > 0 {
		fmt.Fprintf(&b, "## Parts that did not complete\n\n")
		for _, f := range r.Failures {
			fmt.Fprintf(&b, "- **%s**: %s\n", f.Part, cell(f.Reason))
		}
		b.WriteString("\nTheir figures are absent below; every other part completed.\n\n")
	}
	fmt.Fprintf(&b, "## Targets\n\nA target is met only when every repeat passed it.\n\n")
	for _, t := range r.Targets {
		fmt.Fprintf(&b, "- %s\n", t.Verdict())
	}
	fmt.Fprintf(&b, "\n## Where PC did better\n\n")
	if len(r.PCWins) == 0 {
		fmt.Fprintf(&b, "%s\n\n", noPCWins(r))
	}
	for _, w := range r.PCWins {
		fmt.Fprintf(&b, "- %s\n", w.Sentence())
	}
	if len(r.PCWins) > 0 {
		b.WriteString("\n")
	}

	if len(r.IO) > 0 {
		fmt.Fprintf(&b, "## I/O-bound\n\n%d records per run, %d partitions, key order, handler sleep %.0f ms. Rates count distinct "+
			"records from the warm-up to the last (%s); the ideal is min(concurrency, keys) / the handler's "+
			"measured mean time.\n\n", e.IORecords, e.Partitions, e.SleepMs, repeatsPhrase(e.Repeat))
		b.WriteString("| concurrency | keys | kpar records/s | of ideal | PC records/s | of ideal | kpar / PC | kpar CPU-s/M | PC CPU-s/M | kpar handler ms | PC handler ms |\n")
		b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, p := range r.IO {
			fmt.Fprintf(&b, "| %d | %d | %s | %.0f%% | %s | %.0f%% | %s | %.2f | %.2f | %.2f | %.2f |\n",
				p.Concurrency, p.Keys, spread(p.Kpar), 100*p.Kpar.IdealShare, spread(p.PC), 100*p.PC.IdealShare,
				ratios(p.Speedup, p.SpeedupRuns), p.Kpar.CPUPerMillion, p.PC.CPUPerMillion, p.Kpar.MeanHandlerMs, p.PC.MeanHandlerMs)
		}
		b.WriteString("\n![throughput](io_throughput.svg)\n\n")
	}
	if n := r.Noop; n != nil {
		fmt.Fprintf(&b, "## No-op handler\n\n%d records, concurrency %d for both libraries.\n\n", n.Kpar.Records, e.NoopConc)
		b.WriteString("| contender | records/s | window | CPU-s | CPU-s per million | peak RSS | first record after |\n|---|---:|---:|---:|---:|---:|---:|\n")
		for _, sd := range []Side{n.Kpar, n.PC, n.PlainDefault, n.PlainSameFetch} {
			name := sd.Contender
			if name == Plain {
				name = PlainName(sd)
			}
			fmt.Fprintf(&b, "| %s | %s | %.1f s | %.2f | %.2f | %s | %.2f s |\n", name, spread(sd), sd.Window.Seconds, sd.CPUSeconds,
				sd.CPUPerMillion, mib(sd.PeakRSSKiB), sd.FirstRecordS)
		}
		fmt.Fprintf(&b, "\nThe reference plain loop is the faster of the two by median rate (%s); each repeat sets kpar against that repeat's faster loop. "+
			"kpar ran at %s PC's rate and %s the plain loop's, at %.2fx PC's CPU per record (medians, min-max over the repeats).\n\n",
			PlainName(n.Plain), ratios(n.VsPC, n.VsPCRuns), ratios(n.VsPlain, n.VsPlainRuns), n.CPURatioPC)
		b.WriteString("![CPU per record](cpu_per_million.svg)\n\n")
	}
	if m := r.RSS; m != nil {
		fmt.Fprintf(&b, "## Memory under a %d-record backlog\n\nPeak RSS (rusage maxrss) of each process, one run each:\n\n", m.Kpar.Records)
		b.WriteString("| process | peak RSS | CPU-s |\n|---|---:|---:|\n")
		rows := []struct {
			name string
			s    Side
		}{{"kpar", m.Kpar}, {"plain loop", m.Plain}, {fmt.Sprintf("%s (max %.0f MiB)", PCLabel(m.PC), float64(m.PC.MaxHeapBytes)/(1<<20)), m.PC}}
		if hs := m.HeapSearch; hs != nil {
			for _, st := range hs.Steps {
				rows = append(rows, struct {
					name string
					s    Side
				}{PCLabel(st.Side), st.Side})
			}
		}
		for _, row := range rows {
			if !row.s.Finished {
				fmt.Fprintf(&b, "| %s | did not finish (after %.1f s): %s | - |\n", row.name, row.s.WallSeconds, cell(firstLine(row.s.DidNotFinish)))
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | %.2f |\n", row.name, mib(row.s.PeakRSSKiB), row.s.CPUSeconds)
		}
		b.WriteString("\n")
		if hs := m.HeapSearch; hs != nil {
			b.WriteString(heapSentence(*hs) + "\n\n")
		}
		b.WriteString("![peak RSS](peak_rss.svg)\n\n")
	}

	fmt.Fprintf(&b, "## Comparison table\n\nStatic facts carry their source; rows marked (measured) come from this run.\n\n")
	b.WriteString("| | " + strings.Join(r.Table.Columns, " | ") + " | source |\n|---|")
	b.WriteString(strings.Repeat("---|", len(r.Table.Columns)+1) + "\n")
	for _, row := range r.Table.Rows {
		aspect := row.Aspect
		if row.Measured {
			aspect += " (measured)"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", cell(aspect), cell(strings.Join(row.Cells, " | ")), cell(row.Source))
	}
	if len(r.LOC) > 0 {
		b.WriteString("\n### Lines of code\n\nNon-blank, non-comment lines of the code each approach needs for the same job " +
			"(consume with concurrent handlers and commit; the handler's own work left out), counted when this run started:\n\n")
		for _, l := range r.LOC {
			fmt.Fprintf(&b, "- %s: **%d lines**, %s; from %s\n", l.Approach, l.Lines, l.What, strings.Join(l.Regions, ", "))
		}
	}
	if len(r.ShareFindings) > 0 {
		b.WriteString("\n" + shareMarkdown(r))
	}
	if r.Window != nil {
		b.WriteString("\n## The out-of-order window\n\n" + r.Window.Markdown())
	}
	return b.String()
}

// cell keeps a table cell on one line (pipes inside Cells are the column
// separators joined above, so only newlines are replaced).
func cell(s string) string { return strings.ReplaceAll(s, "\n", " ") }

func kparBuffers(e Env) string {
	if e.KparMaxBuffered == 0 && e.KparPerPart == 0 {
		return ""
	}
	return fmt.Sprintf("; MaxBuffered %d, MaxBufferedPerPartition %d (0: default)", e.KparMaxBuffered, e.KparPerPart)
}

func jvmFlags(f []string) string {
	if len(f) == 0 {
		return "none (the JVM's defaults)"
	}
	return "`" + strings.Join(f, " ") + "`"
}

// Text is the terminal summary, from r alone.
func Text(r Result) string {
	var b strings.Builder
	e := r.Env
	fmt.Fprintf(&b, "kpar vs Confluent Parallel Consumer %s (kafka-clients %s, Java %s, JVM flags %s) vs a plain franz-go loop; %d CPUs (%s)\n",
		e.PCVersion, e.KafkaClientsVersion, e.JavaVersion, jvmFlags(e.JVMFlags), e.CPUs, r.Note)
	for _, f := range r.Failures {
		fmt.Fprintf(&b, "FAILED %s: %s\n", f.Part, firstLine(f.Reason))
	}
	for _, p := range r.IO {
		fmt.Fprintf(&b, "io c=%-5d kpar %s rec/s (%.0f%% of ideal), PC %s rec/s (%.0f%%): kpar/PC %s; CPU-s/M kpar %.2f, PC %.2f\n",
			p.Concurrency, spread(p.Kpar), 100*p.Kpar.IdealShare, spread(p.PC), 100*p.PC.IdealShare, ratios(p.Speedup, p.SpeedupRuns),
			p.Kpar.CPUPerMillion, p.PC.CPUPerMillion)
	}
	if n := r.Noop; n != nil {
		fmt.Fprintf(&b, "no-op      kpar %s rec/s, PC %s, plain (kgo default fetch) %s, plain (kpar's fetch) %s: kpar/PC %s, kpar/plain %s; CPU-s/M kpar %.2f, PC %.2f, plain %.2f\n",
			spread(n.Kpar), spread(n.PC), spread(n.PlainDefault), spread(n.PlainSameFetch), ratios(n.VsPC, n.VsPCRuns), ratios(n.VsPlain, n.VsPlainRuns),
			n.Kpar.CPUPerMillion, n.PC.CPUPerMillion, n.Plain.CPUPerMillion)
	}
	if m := r.RSS; m != nil {
		fmt.Fprintf(&b, "rss        kpar %s, plain %s, PC %s (default heap)\n", mib(m.Kpar.PeakRSSKiB), mib(m.Plain.PeakRSSKiB), mib(m.PC.PeakRSSKiB))
		if hs := m.HeapSearch; hs != nil {
			fmt.Fprintf(&b, "pc heap    %s\n", heapSentence(*hs))
		}
	}
	for _, t := range r.Targets {
		fmt.Fprintf(&b, "target: %s\n", strings.ReplaceAll(t.Verdict(), "**", ""))
	}
	for _, w := range r.PCWins {
		fmt.Fprintf(&b, "PC better: %s\n", w.Sentence())
	}
	for _, f := range r.ShareFindings {
		fmt.Fprintf(&b, "share vs kpar: %s\n", f.Sentence())
	}
	for _, l := range r.LOC {
		fmt.Fprintf(&b, "lines of code: %s %d\n", l.Approach, l.Lines)
	}
	return b.String()
}

// heapSentence states the heap search's finding from its steps.
func heapSentence(hs HeapSearch) string {
	fetch := fmt.Sprintf("with kpar's fetch sizes (fetch.max.bytes %s, max.partition.fetch.bytes %s)",
		bytesOrDefault(hs.FetchMaxBytes), bytesOrDefault(hs.MaxPartitionFetchBytes))
	start := fmt.Sprintf("from -Xmx%dm", hs.StartMiB)
	if hs.StartFromKpar {
		start += " (kpar's peak RSS)"
	}
	tried := make([]string, len(hs.Steps))
	for i, st := range hs.Steps {
		word := "finished"
		if !st.Side.Finished {
			word = "did not finish"
		}
		tried[i] = fmt.Sprintf("%d MiB %s", st.HeapMiB, word)
	}
	steps := fmt.Sprintf("%d %s %s, each bounded to %.0f s: %s", len(hs.Steps), plural(len(hs.Steps), "run", "runs"), start,
		hs.StepTimeoutS, strings.Join(tried, ", "))
	switch {
	case len(hs.Steps) == 0:
		return "PC's heap search made no run."
	case hs.NeedsMiB == 0:
		return fmt.Sprintf("PC did not finish this backlog %s with any heap tried, up to %d MiB (%s).", fetch, hs.FailedMiB, steps)
	case hs.FailedMiB == 0:
		return fmt.Sprintf("PC needs at most %d MiB of heap for this backlog %s: it finished with every heap tried (%s).", hs.NeedsMiB, fetch, steps)
	}
	return fmt.Sprintf("PC needs more than %d and at most %d MiB of heap for this backlog %s: it finished with %d MiB and not with %d MiB (%s).",
		hs.FailedMiB, hs.NeedsMiB, fetch, hs.NeedsMiB, hs.FailedMiB, steps)
}

// repeatsPhrase says what a rate figure is made of.
func repeatsPhrase(n int) string {
	if n <= 1 {
		return "one run each"
	}
	return fmt.Sprintf("median of %d runs each, min-max beside it", n)
}
