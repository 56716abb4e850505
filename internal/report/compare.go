package report

import (
	"fmt"
	"strings"

	"github.com/kpar/kpar/internal/compare"
	"github.com/kpar/kpar/internal/results"
)

// Version 3 changed what a rate means (one clock for every contender,
// compare.Version's note): older files are refused, not misread.
var compareKind = kind{schema: compare.Schema, version: 3, current: compare.Version, oldest: 3, section: "compare", load: loadCompare}

func loadCompare(path string) (Part, error) {
	var r compare.Result
	if err := results.Read(path, compare.Schema, compare.Version, &r); err != nil {
		return Part{}, err
	}
	return comparePart(r)
}

// compareAnswer states the package's own judgements: the targets, where PC
// did better, and the share findings' tally.
func compareAnswer(r compare.Result) []string {
	r = compare.Rejudge(r) // never a stored verdict beside figures that contradict it
	var met, missed []string
	measured := 0
	for _, t := range r.Targets {
		if !t.Measured {
			continue
		}
		measured++
		s := fmt.Sprintf("%s (%.2fx)", t.What, t.Got)
		if t.Outcome == compare.OutcomeMixed {
			s = fmt.Sprintf("%s (%.2fx, passed in %d of %d repeats)", t.What, t.Got, t.Passed, len(t.Runs))
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
	if len(r.PCWins) == 0 {
		a += fmt.Sprintf(". PC did better on none of the %d figures compared.", r.PCCompared)
	} else {
		var w []string
		for _, x := range r.PCWins {
			w = append(w, x.Where+" "+x.What)
		}
		a += fmt.Sprintf(". PC did better on %s: %s.", plural(len(r.PCWins), "figure", "figures"), strings.Join(w, "; "))
	}
	out := []string{a}
	for _, f := range r.Failures {
		out = append(out, fmt.Sprintf("The %s part did not complete: %s", f.Part, firstLine(f.Reason)))
	}
	if n := len(r.ShareFindings); n > 0 {
		var share, kpar []string
		for _, f := range r.ShareFindings {
			switch f.Better {
			case compare.BetterShare:
				share = append(share, f.Where+" "+f.What)
			case compare.BetterKpar:
				kpar = append(kpar, f.Where+" "+f.What)
			}
		}
		s := fmt.Sprintf("Against a bare share group, kpar's consumer group did better on %d of %d figures", len(kpar), n)
		if len(share) > 0 {
			s += fmt.Sprintf(" and the share group on %d (%s)", len(share), strings.Join(share, "; "))
		} else {
			s += " and the share group on none"
		}
		out = append(out, s+"; the rest were even.")
	}
	return out
}

func side(s compare.Side) []string {
	if !s.Finished && s.Contender != "" {
		return []string{"did not finish: " + firstLine(s.DidNotFinish), "", "", ""}
	}
	return []string{num(s.SteadyPerS), pct(s.IdealShare), f2(s.CPUPerMillion), mib(s.PeakRSSKiB)}
}

func comparePart(r compare.Result) (Part, error) {
	r = compare.Rejudge(r)
	e := r.Env
	p := Part{Answer: compareAnswer(r)}
	p.Facts.Cores = e.CPUs
	p.Facts.addVersion("Confluent Parallel Consumer", e.PCVersion)
	p.Facts.addVersion("kafka-clients (PC's)", e.KafkaClientsVersion)
	p.Facts.addVersion("Java", strings.TrimSpace(e.JavaVersion+" "+e.JavaVM))
	share := ""
	if e.ShareMembers > 0 {
		share = fmt.Sprintf(", share groups (%d members each)", e.ShareMembers)
	}
	p.Blocks = append(p.Blocks, Block{Text: []string{fmt.Sprintf(
		"Each contender its own OS process on the same broker, topics and records: kpar's `parallel` consumer (key order), Confluent's Parallel Consumer %s (%s order, %s), a plain franz-go loop%s. "+
			"%d partitions, %d-byte values, %g ms handler for I/O runs. %s.",
		e.PCVersion, e.PCOrdering, e.PCCommitMode, share, e.Partitions, e.ValueSize, e.SleepMs, r.Note)}})

	var targets []string
	for _, t := range r.Targets {
		targets = append(targets, t.Verdict())
	}
	p.Blocks = append(p.Blocks, Block{Title: "Targets", List: true, Text: targets})
	wins := []string{fmt.Sprintf("On none of the %d figures compared.", r.PCCompared)}
	if len(r.PCWins) > 0 {
		wins = nil
		for _, w := range r.PCWins {
			wins = append(wins, w.Sentence())
		}
	}
	p.Blocks = append(p.Blocks, Block{Title: "Where PC did better", List: true, Text: wins})

	views, err := compare.Views(r)
	if err != nil {
		p.Blocks = append(p.Blocks, Block{Error: fmt.Sprintf("the comparison's charts could not be drawn: %v", err)})
	} else {
		p.Blocks = append(p.Blocks, chartBlocks(views, func(n string) string {
			if t, ok := map[string]string{"io_throughput": "I/O-bound: steady records/s vs concurrency", "cpu_per_million": "CPU per million records", "peak_rss": "Peak RSS"}[n]; ok {
				return t
			}
			return "Out-of-order window: " + strings.ReplaceAll(n, "_", " ")
		})...)
	}

	if len(r.IO) > 0 {
		t := &Table{Head: []string{"concurrency", "keys", "ideal records/s", "kpar records/s", "of ideal", "CPU-s/M", "peak RSS", "PC records/s", "of ideal", "CPU-s/M", "peak RSS",
			"share records/s", "of ideal", "CPU-s/M", "peak RSS", "kpar / PC"}}
		for range t.Head {
			t.Num = append(t.Num, true)
		}
		for _, pt := range r.IO {
			row := []string{inum(pt.Concurrency), inum(pt.Keys), num(pt.IdealPerS)}
			row = append(row, side(pt.Kpar)...)
			row = append(row, side(pt.PC)...)
			if pt.Share.Contender != "" {
				row = append(row, side(pt.Share)...)
			} else {
				row = append(row, "-", "-", "-", "-")
			}
			t.Rows = append(t.Rows, append(row, fmt.Sprintf("%.2fx", pt.Speedup)))
		}
		p.Blocks = append(p.Blocks, Block{Title: fmt.Sprintf("I/O-bound (%s records per run)", i64(e.IORecords)), Table: t})
	}
	if n := r.Noop; n != nil {
		t := &Table{Head: []string{"contender", "records/s", "CPU-s", "CPU-s per million", "peak RSS", "first record after"}, Num: []bool{false, true, true, true, true, true}}
		for _, s := range []struct {
			name string
			s    *compare.Side
		}{{"kpar", &n.Kpar}, {"PC", &n.PC}, {"plain loop, kgo's default fetch size", &n.PlainDefault}, {"plain loop, kpar's fetch size", &n.PlainSameFetch}, {"share (bare franz-go)", &n.Share}, {"kpar-share", n.KparShare}} {
			if s.s == nil || s.s.Contender == "" {
				continue
			}
			t.Rows = append(t.Rows, []string{s.name, num(s.s.SteadyPerS), f2(s.s.CPUSeconds), f2(s.s.CPUPerMillion), mib(s.s.PeakRSSKiB), fmt.Sprintf("%.2f s", s.s.FirstRecordS)})
		}
		if j := n.JavaShare; j.Records > 0 {
			t.Rows = append(t.Rows, []string{fmt.Sprintf("Kafka ShareConsumerPerformance (%d threads): its own clock, its whole run, in no ratio", j.Threads), num(j.RecordsPerS), f2(j.CPUSeconds), f2(j.CPUPerMillion), mib(j.PeakRSSKiB), "-"})
		}
		p.Blocks = append(p.Blocks, Block{Title: fmt.Sprintf("No-op handler (%s records, concurrency %d)", i64(e.NoopRecords), e.NoopConc), Table: t},
			Block{Text: []string{fmt.Sprintf("kpar ran at %.1fx PC's rate and %.2fx the faster plain loop's, at %.2fx PC's CPU per record.", n.VsPC, n.VsPlain, n.CPURatioPC)}})
	}
	if m := r.RSS; m != nil {
		t := &Table{Head: []string{"process", "peak RSS", "CPU-s"}, Num: []bool{false, true, true}}
		rows := []struct {
			name string
			s    *compare.Side
		}{{"kpar", &m.Kpar}, {"plain loop", &m.Plain}, {compare.PCLabel(m.PC), &m.PC}, {"share", &m.Share}, {"kpar-share", m.KparShare}}
		if hs := m.HeapSearch; hs != nil {
			for i := range hs.Steps {
				rows = append(rows, struct {
					name string
					s    *compare.Side
				}{compare.PCLabel(hs.Steps[i].Side), &hs.Steps[i].Side})
			}
		}
		for _, s := range rows {
			if s.s == nil || s.s.Contender == "" {
				continue
			}
			if !s.s.Finished {
				t.Rows = append(t.Rows, []string{s.name, "did not finish: " + firstLine(s.s.DidNotFinish), "-"})
				continue
			}
			t.Rows = append(t.Rows, []string{s.name, mib(s.s.PeakRSSKiB), f2(s.s.CPUSeconds)})
		}
		p.Blocks = append(p.Blocks, Block{Title: fmt.Sprintf("Memory over a %s-record backlog", i64(e.RSSRecords)), Table: t})
	}
	if len(r.Table.Rows) > 0 {
		t := &Table{Head: append(append([]string{""}, r.Table.Columns...), "source")}
		t.Small = make([]bool, len(t.Head))
		t.Small[len(t.Head)-1] = true
		for _, row := range r.Table.Rows {
			a := row.Aspect
			if row.Measured {
				a += " **(measured in this run)**"
			}
			t.Rows = append(t.Rows, append(append([]string{a}, row.Cells...), row.Source))
		}
		p.Blocks = append(p.Blocks, Block{Title: "The comparison table", Text: []string{"Static rows are facts about the code, with their source; measured rows come from this run."}},
			Block{Table: t})
	}
	if len(r.LOC) > 0 {
		var l []string
		for _, x := range r.LOC {
			l = append(l, fmt.Sprintf("%s: **%d lines**, %s", x.Approach, x.Lines, x.What))
		}
		p.Blocks = append(p.Blocks, Block{Title: "Lines of code for the same job (counted when the run started)", List: true, Text: l})
	}
	if len(r.ShareFindings) > 0 {
		var l []string
		for _, f := range r.ShareFindings {
			l = append(l, f.Sentence())
		}
		p.Blocks = append(p.Blocks, Block{Title: "Share groups vs a consumer group with a parallel consumer", List: true, Text: l})
	}
	if r.Window != nil {
		p.Blocks = append(p.Blocks, Block{Title: "The out-of-order window"})
		p.Blocks = append(p.Blocks, mdBlocks(r.Window.Markdown())...)
	}
	return p, nil
}
