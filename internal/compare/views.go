package compare

import (
	"fmt"
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

// Verdict is the sentence of one target, from its data.
func (t Target) Verdict() string {
	if !t.Measured {
		return fmt.Sprintf("%s: not measured (%s).", t.What, t.Why)
	}
	word := "met"
	if !t.Met {
		word = "missed"
	}
	s := fmt.Sprintf("%s: **%s**, kpar reached %.2fx", t.What, word, t.Got)
	if t.CPUFraction > 0 {
		s += fmt.Sprintf(" at %.2fx PC's CPU per record", t.CPUFraction)
	}
	if t.Why != "" {
		s += " (" + t.Why + ")"
	}
	return s + "."
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

	fmt.Fprintf(&b, "## Targets (issue 9)\n\n")
	for _, t := range r.Targets {
		fmt.Fprintf(&b, "- %s\n", t.Verdict())
	}
	fmt.Fprintf(&b, "\n## Where PC did better\n\n")
	if len(r.PCWins) == 0 {
		fmt.Fprintf(&b, "Nowhere in this run: kpar was faster and used less CPU and memory on every measured figure.\n\n")
	}
	for _, w := range r.PCWins {
		fmt.Fprintf(&b, "- %s\n", w.Sentence())
	}
	if len(r.PCWins) > 0 {
		b.WriteString("\n")
	}

	if len(r.IO) > 0 {
		fmt.Fprintf(&b, "## I/O-bound\n\n%d records per run, %d partitions, key order, handler sleep %.0f ms. Rates are steady "+
			"(first record to the last); the ideal is min(concurrency, keys) / the handler's measured mean time.\n\n",
			e.IORecords, e.Partitions, e.SleepMs)
		b.WriteString("| concurrency | keys | kpar records/s | of ideal | PC records/s | of ideal | kpar / PC | kpar CPU-s/M | PC CPU-s/M | kpar handler ms | PC handler ms |\n")
		b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, p := range r.IO {
			fmt.Fprintf(&b, "| %d | %d | %.0f | %.0f%% | %.0f | %.0f%% | %.2fx | %.2f | %.2f | %.2f | %.2f |\n",
				p.Concurrency, p.Keys, p.Kpar.SteadyPerS, 100*p.Kpar.IdealShare, p.PC.SteadyPerS, 100*p.PC.IdealShare,
				p.Speedup, p.Kpar.CPUPerMillion, p.PC.CPUPerMillion, p.Kpar.MeanHandlerMs, p.PC.MeanHandlerMs)
		}
		b.WriteString("\n![throughput](io_throughput.svg)\n\n")
	}
	if n := r.Noop; n != nil {
		fmt.Fprintf(&b, "## No-op handler\n\n%d records, concurrency %d for both libraries.\n\n", n.Kpar.Records, e.NoopConc)
		b.WriteString("| contender | records/s | CPU-s | CPU-s per million | peak RSS | first record after |\n|---|---:|---:|---:|---:|---:|\n")
		plainName := func(sd Side) string {
			if sd.FetchMaxBytes > 0 {
				return fmt.Sprintf("plain loop, FetchMaxBytes %d (kpar's)", sd.FetchMaxBytes)
			}
			return "plain loop, kgo's default FetchMaxBytes (50 MiB)"
		}
		rows := []Side{n.Kpar, n.PC, n.PlainDefault, n.PlainSameFetch}
		if n.PlainDefault.Contender == "" { // data from before both plain loops were kept
			rows = []Side{n.Kpar, n.PC, n.Plain}
		}
		for _, sd := range rows {
			name := sd.Contender
			if name == Plain {
				name = plainName(sd)
			}
			fmt.Fprintf(&b, "| %s | %.0f | %.2f | %.2f | %s | %.2f s |\n", name, sd.SteadyPerS, sd.CPUSeconds, sd.CPUPerMillion, mib(sd.PeakRSSKiB), sd.FirstRecordS)
		}
		fmt.Fprintf(&b, "\nThe reference plain loop is the faster of the two (%s). kpar ran at %.1fx PC's rate and %.2fx the plain loop's, at %.2fx PC's CPU per record.\n\n",
			plainName(n.Plain), n.VsPC, n.VsPlain, n.CPURatioPC)
		b.WriteString("![CPU per record](cpu_per_million.svg)\n\n")
	}
	if m := r.RSS; m != nil {
		fmt.Fprintf(&b, "## Memory under a %d-record backlog\n\nPeak RSS (rusage maxrss) of each process:\n\n", m.Kpar.Records)
		b.WriteString("| process | peak RSS | records/s | CPU-s |\n|---|---:|---:|---:|\n")
		for _, s := range []struct {
			name string
			s    Side
		}{{"kpar", m.Kpar}, {"plain loop", m.Plain}, {fmt.Sprintf("PC, JVM default heap (max %.0f MiB)", float64(m.PC.MaxHeapBytes)/(1<<20)), m.PC}} {
			fmt.Fprintf(&b, "| %s | %s | %.0f | %.2f |\n", s.name, mib(s.s.PeakRSSKiB), s.s.SteadyPerS, s.s.CPUSeconds)
		}
		from := ""
		if m.CapFromKpar {
			from = ", kpar's peak RSS rounded up to whole MiB"
		}
		if m.PCCapped.Finished {
			fmt.Fprintf(&b, "| PC, -Xmx%s | %s | %.0f | %.2f |\n\n", m.CapHeap, mib(m.PCCapped.PeakRSSKiB), m.PCCapped.SteadyPerS, m.PCCapped.CPUSeconds)
			fmt.Fprintf(&b, "With its heap capped at -Xmx%s%s, PC still finished the backlog.\n\n", m.CapHeap, from)
		} else {
			fmt.Fprintf(&b, "| PC, -Xmx%s | did not finish | - | - |\n\n", m.CapHeap)
			fmt.Fprintf(&b, "With its heap capped at -Xmx%s%s, PC **did not finish** the backlog (after %.1f s): %s\n\n",
				m.CapHeap, from, m.PCCapped.WallSeconds, firstLine(m.PCCapped.DidNotFinish))
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
	for _, p := range r.IO {
		fmt.Fprintf(&b, "io c=%-5d kpar %8.0f rec/s (%3.0f%% of ideal), PC %8.0f rec/s (%3.0f%%): kpar/PC %.2fx; CPU-s/M kpar %.2f, PC %.2f\n",
			p.Concurrency, p.Kpar.SteadyPerS, 100*p.Kpar.IdealShare, p.PC.SteadyPerS, 100*p.PC.IdealShare, p.Speedup, p.Kpar.CPUPerMillion, p.PC.CPUPerMillion)
	}
	if n := r.Noop; n != nil {
		fmt.Fprintf(&b, "no-op      kpar %8.0f rec/s, PC %8.0f, plain %8.0f: kpar/PC %.1fx, kpar/plain %.2fx; CPU-s/M kpar %.2f, PC %.2f, plain %.2f\n",
			n.Kpar.SteadyPerS, n.PC.SteadyPerS, n.Plain.SteadyPerS, n.VsPC, n.VsPlain, n.Kpar.CPUPerMillion, n.PC.CPUPerMillion, n.Plain.CPUPerMillion)
	}
	if m := r.RSS; m != nil {
		capped := "did not finish: " + firstLine(m.PCCapped.DidNotFinish)
		if m.PCCapped.Finished {
			capped = "finished, " + mib(m.PCCapped.PeakRSSKiB)
		}
		fmt.Fprintf(&b, "rss        kpar %s, plain %s, PC %s (default heap); PC -Xmx%s: %s\n",
			mib(m.Kpar.PeakRSSKiB), mib(m.Plain.PeakRSSKiB), mib(m.PC.PeakRSSKiB), m.CapHeap, capped)
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
