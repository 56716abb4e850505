package compare

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kpar/kpar/internal/compare/stuck"
	"github.com/kpar/kpar/internal/doc"
)

// The charts' file stems, each written as .svg and .png when its part ran.
const (
	ChartIO  = "io_throughput"
	ChartCPU = "cpu_per_million"
	ChartRSS = "peak_rss"
)

// ChartNames are the charts a comparison whose every part ran writes.
var ChartNames = []string{ChartIO, ChartCPU, ChartRSS}

// Doc is the comparison's one document: every sentence, table and chart
// about r, computed from r alone.
func Doc(r Result) doc.Doc {
	d := doc.Doc{Name: "compare", Title: "kpar vs Confluent's Parallel Consumer", Command: r.Command, Answer: answer(r)}
	targets := doc.Block{Title: "Targets", Text: []string{"A target is met only when every repeat passed it."}}
	for _, t := range r.Targets {
		targets.Findings = append(targets.Findings, targetFinding(t))
	}
	d.Body = append(d.Body, targets)
	if len(r.IO) > 0 {
		d.Body = append(d.Body, doc.Block{Title: "Rate against concurrency", Chart: ioChart(r)}, ioTable(r))
	}
	d.Details = slices.Concat(setup(r), failures(r), []doc.Block{whyTargets(r), pcWins(r)}, noopBlocks(r), rssBlocks(r),
		tableBlocks(r), shareBlocks(r), deadLetterBlock(r.DeadLetters))
	if r.Window != nil {
		w := stuck.Doc(*r.Window)
		d.Details = append(d.Details, doc.Block{Title: w.Title, Findings: w.Answer})
		d.Details = append(append(d.Details, w.Body...), w.Details...)
	}
	return d
}

// answer is the headline: the targets' tally, where PC did better, the
// share lesson's tally and the parts that did not complete.
func answer(r Result) []doc.Finding {
	var met, missed []string
	measured := 0
	for _, t := range r.Targets {
		if !t.Measured {
			continue
		}
		measured++
		s := fmt.Sprintf("%s (%sx)", t.What, doc.F2(t.Got))
		if t.Outcome == OutcomeMixed {
			s = fmt.Sprintf("%s (%sx, passed in %d of %d repeats)", t.What, doc.F2(t.Got), t.Passed, len(t.Runs))
		}
		if t.Met {
			met = append(met, s)
		} else {
			missed = append(missed, s)
		}
	}
	a := fmt.Sprintf("kpar met %d of the %d targets this run measured", len(met), measured)
	if len(met) > 0 {
		a += " (" + strings.Join(met, "; ") + ")"
	}
	if len(missed) > 0 {
		a += "; missed: " + strings.Join(missed, "; ")
	}
	out := []doc.Finding{doc.Say("%s.", a), doc.Say("%s", pcWinsSentence(r))}
	if n := len(r.ShareFindings); n > 0 {
		share, kpar := shareTally(r)
		s := fmt.Sprintf("Against a bare share group, kpar's consumer group did better on %d of %d figures and the share group on ", len(kpar), n)
		if len(share) > 0 {
			s += fmt.Sprintf("%d (%s)", len(share), strings.Join(share, "; "))
		} else {
			s += "none"
		}
		out = append(out, doc.Say("%s; the rest were even.", s))
	}
	if len(r.Failures) > 0 {
		parts := join(r.Failures, "; ", func(f Failure) string { return fmt.Sprintf("%s (%s)", f.Part, firstLine(f.Reason)) })
		out = append(out, doc.Say("Parts that did not complete: %s; their figures are absent, every other part completed.", parts))
	}
	return out
}

// pcWinsSentence names the figures where PC did better, or says there
// were none, with the count compared.
func pcWinsSentence(r Result) string {
	switch {
	case len(r.PCWins) > 0:
		return fmt.Sprintf("PC did better on %s of %d compared: %s.", doc.Plural(len(r.PCWins), "figure", "figures"), r.PCCompared,
			join(r.PCWins, "; ", func(x PCWin) string { return x.Where + " " + x.What }))
	case r.PCCompared == 0:
		return "No figure of kpar and PC was compared in this run."
	}
	return fmt.Sprintf("PC did better on none of the %d figures compared (rates, CPU per record, peak RSS): kpar did at least as well on each.", r.PCCompared)
}

// targetFinding states one target with its verdict: met only when every
// repeat passed, mixed with the count when some did.
func targetFinding(t Target) doc.Finding {
	where, bar, _ := strings.Cut(t.What, ": ")
	if !t.Measured {
		return doc.Judged(bar, "not measured", "%s: not measured (%s)", where, t.Why)
	}
	verdict := t.Outcome
	switch {
	case verdict == "" && t.Met:
		verdict = OutcomeMet
	case verdict == "":
		verdict = OutcomeMissed
	case verdict == OutcomeMixed:
		verdict = fmt.Sprintf("mixed (%d of %d)", t.Passed, len(t.Runs))
	}
	s := fmt.Sprintf("%s: kpar reached %sx", where, doc.F2(t.Got))
	if len(t.Runs) > 1 {
		s += fmt.Sprintf(" (median of %d repeats: %s)", len(t.Runs), join(t.Runs, ", ", func(v float64) string { return doc.F2(v) + "x" }))
	}
	if t.CPUFraction > 0 {
		s += fmt.Sprintf(" at %sx PC's CPU per record", doc.F2(t.CPUFraction))
	}
	if t.Why != "" {
		s += " (" + t.Why + ")"
	}
	return doc.Judged(bar, verdict, "%s", s)
}

func whyTargets(r Result) doc.Block {
	b := doc.Block{Title: "Why these targets"}
	for _, t := range r.Targets {
		if t.Reason != "" {
			b.List = append(b.List, fmt.Sprintf("%s: %s.", t.What, t.Reason))
		}
	}
	return b
}

func pcWins(r Result) doc.Block {
	b := doc.Block{Title: "Where PC did better"}
	if len(r.PCWins) == 0 {
		b.Text = []string{pcWinsSentence(r)}
	}
	for _, w := range r.PCWins {
		if w.Unit == "records/s" {
			b.List = append(b.List, fmt.Sprintf("%s: PC was faster than kpar, %s records/s against kpar's %s (%sx).", w.Where, doc.Num(w.PC), doc.Num(w.Kpar), doc.F2(w.PC/w.Kpar)))
		} else {
			b.List = append(b.List, fmt.Sprintf("%s: PC needed less than kpar, %s %s %s against kpar's %s.", w.Where, w.What, doc.F2(w.PC), w.Unit, doc.F2(w.Kpar)))
		}
	}
	return b
}

func setup(r Result) []doc.Block {
	e := r.Env
	buffers := ""
	if e.KparMaxBuffered != 0 || e.KparPerPart != 0 {
		buffers = fmt.Sprintf("; MaxBuffered %d, MaxBufferedPerPartition %d (0: default)", e.KparMaxBuffered, e.KparPerPart)
	}
	return []doc.Block{{Title: "Setup", Text: []string{
		fmt.Sprintf("Brokers %s, %d CPUs, started %s, %.0f s. %s.", strings.Join(e.Brokers, ","), e.CPUs,
			r.Started.Format(time.RFC3339), r.Finished.Sub(r.Started).Seconds(), r.Note),
		fmt.Sprintf("Contenders, each its own OS process, on the same topics and records: kpar's `parallel` consumer "+
			"(key order, library defaults otherwise%s); Confluent Parallel Consumer %s with kafka-clients %s "+
			"(%s order, %s, batch size 1, as its README recommends) on Java %s (%s), JVM flags %s, default max heap %.0f MiB; "+
			"a plain franz-go poll loop (no group, no commits) as the floor.",
			buffers, e.PCVersion, e.KafkaClientsVersion, e.PCOrdering, e.PCCommitMode, e.JavaVersion, e.JavaVM,
			jvmFlags(e.JVMFlags), float64(e.JVMDefaultMaxHeap)/(1<<20))}}}
}

func failures(r Result) []doc.Block {
	if len(r.Failures) == 0 {
		return nil
	}
	b := doc.Block{Title: "Parts that did not complete"}
	for _, f := range r.Failures {
		b.List = append(b.List, fmt.Sprintf("**%s**: %s", f.Part, oneLine(f.Reason)))
	}
	return []doc.Block{b}
}

// oneLine keeps a cell or a list item on one line.
func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

func jvmFlags(f []string) string {
	if len(f) == 0 {
		return "none (the JVM's defaults)"
	}
	return "`" + strings.Join(f, " ") + "`"
}

// spread is a rate with its min-max over the repeats.
func spread(s Side) string {
	if len(s.Repeats) < 2 {
		return doc.Num(s.SteadyPerS)
	}
	return fmt.Sprintf("%s (%s-%s)", doc.Num(s.SteadyPerS), doc.Num(s.RateMin), doc.Num(s.RateMax))
}

// ratios is a median ratio with its repeats' spread.
func ratios(med float64, runs []float64) string {
	if len(runs) < 2 {
		return doc.F2(med) + "x"
	}
	return fmt.Sprintf("%sx (%s-%s)", doc.F2(med), doc.F2(slices.Min(runs)), doc.F2(slices.Max(runs)))
}

// numeric is a table whose columns from first on are numbers.
func numeric(first int, head ...string) *doc.Table {
	t := &doc.Table{Head: head, Num: make([]bool, len(head))}
	for i := first; i < len(head); i++ {
		t.Num[i] = true
	}
	return t
}

// named is a Side as its table row names it; nil: no row.
type named struct {
	name string
	s    *Side
}

// sideRows adds a row to t per side present: its name, then cells of it.
func sideRows(t *doc.Table, rows []named, cells func(Side) []string) {
	for _, r := range rows {
		if r.s != nil {
			t.Rows = append(t.Rows, append([]string{r.name}, cells(*r.s)...))
		}
	}
}

// plainName names a plain loop by its fetch size.
func plainName(sd Side) string {
	if sd.FetchMaxBytes > 0 {
		return fmt.Sprintf("plain loop, FetchMaxBytes %d (kpar's)", sd.FetchMaxBytes)
	}
	return "plain loop, kgo's default FetchMaxBytes (50 MiB)"
}

func ioTable(r Result) doc.Block {
	t := numeric(0, "concurrency", "keys", "kpar records/s", "of ideal", "PC records/s", "of ideal", "kpar / PC",
		"kpar CPU-s/M", "PC CPU-s/M", "kpar handler ms", "PC handler ms")
	for _, p := range r.IO {
		t.Rows = append(t.Rows, []string{doc.Int(p.Concurrency), doc.Int(p.Keys), spread(p.Kpar), doc.Pct(p.Kpar.IdealShare), spread(p.PC),
			doc.Pct(p.PC.IdealShare), ratios(p.Speedup, p.SpeedupRuns), doc.F2(p.Kpar.CPUPerMillion), doc.F2(p.PC.CPUPerMillion),
			doc.F2(p.Kpar.MeanHandlerMs), doc.F2(p.PC.MeanHandlerMs)})
	}
	e := r.Env
	return doc.Block{Title: "I/O-bound", Table: t, Text: []string{fmt.Sprintf("%s records per run, %d partitions, key order, handler sleep %.0f ms. "+
		"Rates count distinct records from the warm-up to the last (%s); the ideal is min(concurrency, keys) / the handler's measured mean time.",
		doc.I64(e.IORecords), e.Partitions, e.SleepMs, repeatsPhrase(e.Repeat))}}
}

func noopBlocks(r Result) []doc.Block {
	n := r.Noop
	if n == nil {
		return nil
	}
	t := numeric(1, "contender", "records/s", "window", "CPU-s", "CPU-s per million", "peak RSS", "first record after")
	sideRows(t, []named{{Kpar, &n.Kpar}, {PC, &n.PC}, {plainName(n.PlainDefault), &n.PlainDefault}, {plainName(n.PlainSameFetch), &n.PlainSameFetch}},
		func(sd Side) []string {
			return []string{spread(sd), doc.F1(sd.Window.Seconds) + " s", doc.F2(sd.CPUSeconds), doc.F2(sd.CPUPerMillion),
				doc.MiB(sd.PeakRSSKiB), doc.F2(sd.FirstRecordS) + " s"}
		})
	return []doc.Block{
		{Title: "No-op handler", Text: []string{fmt.Sprintf("%s records, concurrency %d for both libraries.", doc.I64(n.Kpar.Records), r.Env.NoopConc)}, Table: t},
		{Text: []string{fmt.Sprintf("The reference plain loop is the faster of the two by median rate (%s); each repeat sets kpar against that repeat's faster loop. "+
			"kpar ran at %s PC's rate and %s the plain loop's, at %sx PC's CPU per record (medians, min-max over the repeats).",
			plainName(n.Plain), ratios(n.VsPC, n.VsPCRuns), ratios(n.VsPlain, n.VsPlainRuns), doc.F2(n.CPURatioPC))}},
		{Title: "CPU per million records", Chart: cpuChart(r)},
	}
}

func rssBlocks(r Result) []doc.Block {
	m := r.RSS
	if m == nil {
		return nil
	}
	t := numeric(1, "process", "peak RSS", "CPU-s")
	rows := []named{{"kpar", &m.Kpar}, {"plain loop", &m.Plain}, {fmt.Sprintf("%s (max %.0f MiB)", PCLabel(m.PC), float64(m.PC.MaxHeapBytes)/(1<<20)), &m.PC}}
	if hs := m.HeapSearch; hs != nil {
		for _, st := range hs.Steps {
			rows = append(rows, named{PCLabel(st.Side), &st.Side})
		}
	}
	sideRows(t, rows, func(s Side) []string {
		if !s.Finished {
			return []string{fmt.Sprintf("did not finish (after %s s): %s", doc.F1(s.WallSeconds), firstLine(s.DidNotFinish)), "-"}
		}
		return []string{doc.MiB(s.PeakRSSKiB), doc.F2(s.CPUSeconds)}
	})
	b := []doc.Block{{Title: fmt.Sprintf("Memory under a %s-record backlog", doc.I64(m.Kpar.Records)),
		Text: []string{"Peak RSS (rusage maxrss) of each process, one run each."}, Table: t}}
	if hs := m.HeapSearch; hs != nil {
		b = append(b, doc.Block{Text: []string{heapSentence(*hs)}})
	}
	return append(b, doc.Block{Title: "Peak RSS", Chart: rssChart(r)})
}

func tableBlocks(r Result) []doc.Block {
	t := &doc.Table{Head: append(append([]string{""}, r.Table.Columns...), "source")}
	for _, row := range r.Table.Rows {
		aspect := row.Aspect
		if row.Measured {
			aspect += " (measured)"
		}
		t.Rows = append(t.Rows, append(append([]string{aspect}, row.Cells...), row.Source))
	}
	b := []doc.Block{{Title: "Comparison table", Text: []string{"Static facts carry their source; rows marked (measured) come from this run."}, Table: t}}
	if len(r.LOC) > 0 {
		l := doc.Block{Title: "Lines of code", Text: []string{"Non-blank, non-comment lines of the code each approach needs for the same job " +
			"(consume with concurrent handlers and commit; the handler's own work left out), counted when this run started."}}
		for _, x := range r.LOC {
			l.List = append(l.List, fmt.Sprintf("%s: **%d lines**, %s; from %s", x.Approach, x.Lines, x.What, strings.Join(x.Regions, ", ")))
		}
		b = append(b, l)
	}
	return b
}

// heapSentence states the heap search's finding from its steps.
func heapSentence(hs HeapSearch) string {
	fetch := fmt.Sprintf("with kpar's fetch sizes (fetch.max.bytes %s, max.partition.fetch.bytes %s)",
		bytesOrDefault(hs.FetchMaxBytes), bytesOrDefault(hs.MaxPartitionFetchBytes))
	start := fmt.Sprintf("from -Xmx%dm", hs.StartMiB)
	if hs.StartFromKpar {
		start += " (kpar's peak RSS)"
	}
	tried := join(hs.Steps, ", ", func(st HeapStep) string {
		return fmt.Sprintf("%d MiB %s", st.HeapMiB, map[bool]string{true: "finished", false: "did not finish"}[st.Side.Finished])
	})
	steps := fmt.Sprintf("%s %s, each bounded to %.0f s: %s", doc.Plural(len(hs.Steps), "run", "runs"), start, hs.StepTimeoutS, tried)
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

// join is f of every x, joined with sep.
func join[T any](xs []T, sep string, f func(T) string) string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return strings.Join(out, sep)
}
