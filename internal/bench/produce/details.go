package produce

import (
	"fmt"
	"sort"
	"strings"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/kpar/kpar/internal/clock"
	"github.com/kpar/kpar/internal/doc"
)

// details: the run's context, what limited each sweep, every sweep's
// steps, the other charts, the ceilings, the acks pairs, the anchors.
func details(r Result) []doc.Block {
	out := []doc.Block{{Title: "The run", Text: runContext(r)}}
	if len(r.Sweeps) > 1 {
		out = append(out, doc.Block{Title: "What limited each sweep", Table: limitsTable(r)})
		for _, sw := range r.Sweeps {
			out = append(out, doc.Block{Title: sweepTitle(sw), Table: stepsTable(sw)})
		}
	} else if len(r.Sweeps) == 1 && r.Sweeps[0].Cores != nil {
		out = append(out, doc.Block{Findings: []doc.Finding{doc.Say("Pinned cores: %s.", r.Sweeps[0].Cores.Reason)}})
	}
	if bad := deliveryFindings(r); len(bad) > 1 {
		out = append(out, doc.Block{Title: "Deliveries", Findings: bad})
	}
	if f, ok := networkFinding(r); ok {
		out = append(out, doc.Block{Findings: []doc.Finding{f}})
	}
	for _, c := range detailCharts(r) {
		out = append(out, doc.Block{Chart: c})
	}
	out = append(out, ceilingBlocks(r)...)
	if len(r.AcksCosts) > 1 {
		b := doc.Block{Title: "What acks=all costs against acks=1"}
		for _, c := range r.AcksCosts {
			b.Findings = append(b.Findings, doc.Say("%s (%s): %s", c.Label, c.Mode, c.Sentence))
		}
		out = append(out, b)
	}
	out = append(out, javaBlocks(r)...)
	out = append(out, kcatBlocks(r)...)
	if len(r.Notes) > 0 {
		out = append(out, doc.Block{Title: "Notes", List: r.Notes})
	}
	return out
}

// runContext is where, on what and how the run measured.
func runContext(r Result) []string {
	var b strings.Builder
	fmt.Fprintf(&b, "Run %s on %d cores (%s), broker %s. ", r.Started.Format("2006-01-02 15:04:05 MST"), r.Host.Cores, r.Host.GoVersion, strings.Join(r.Broker.Seeds, ","))
	if r.Broker.CPU == "proc" {
		fmt.Fprintf(&b, "Broker CPU was read from /proc for the JVM(s) kpar started (pids %v, summed), which share the machine with the bench.", r.Broker.PIDs)
	} else {
		b.WriteString("Broker CPU is unknown: the broker is not one kpar started on this machine.")
	}
	if r.Broker.Nodes > 0 {
		fmt.Fprintf(&b, " The cluster has %s; topics were created with replication factor %d.", doc.Plural(r.Broker.Nodes, "broker", "brokers"), r.ReplicationFactor)
	}
	out := []string{b.String()}
	if pn := r.Pinned; pn != nil {
		out = append(out, fmt.Sprintf("**Pinned:** the broker JVM(s) (pids %v) ran on CPU %s and the bench (pid %d, with every process it started) on CPU %s for the whole run; the CPUs each had before (%s) were %s afterwards.",
			pn.BrokerPIDs, cpuList(pn.Broker), pn.BenchPID, cpuList(pn.Bench), beforeList(pn.Before), map[bool]string{true: "restored", false: "NOT restored"}[pn.Restored]))
	}
	return append(out, inputText(r), fmt.Sprintf("Each step is the median of %s by records/s, after a %s-record warm-up that is not counted. "+
		"Timings come from a shared, noisy machine: treat differences under about 10%% as noise. The bottleneck is a heuristic from CPU shares: "+
		"with CPU to spare and at least as many producers as partitions it names the partitions, the serial unit of a topic.",
		doc.Plural(r.Repeat, "run", "runs"), doc.Int(r.WarmupRecords)))
}

func inputText(r Result) string {
	in := r.Input
	var parts []string
	for t, n := range r.Partitions {
		parts = append(parts, fmt.Sprintf("`%s` %s", t, doc.Plural(n, "partition", "partitions")))
	}
	sort.Strings(parts)
	avg := 0.0
	if in.Records > 0 {
		avg = float64(in.PayloadBytes) / float64(in.Records)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Input: %s records (%.1f MB, %.0f bytes each on average, key column %q, value %s) from `%s`, loaded in %.2f s (%s records/s).",
		doc.Int(in.Records), float64(in.PayloadBytes)/1e6, avg, in.KeyColumn, in.Value, in.File, in.LoadSeconds, doc.Num(in.LoadRecordsSec))
	if len(parts) > 0 {
		fmt.Fprintf(&b, " Topics: %s.", doc.Listing(parts))
	}
	if best := bestRate(r); best > 0 && in.LoadRecordsSec > 0 {
		fmt.Fprintf(&b, " Rows are loaded before any clock starts; even so, reading ran at %.1fx the best producer rate measured.", in.LoadRecordsSec/best)
	}
	if in.SkippedRows > 0 {
		fmt.Fprintf(&b, " %d malformed rows were skipped (--skip-bad); first: %s.", in.SkippedRows, in.FirstBadRows[0])
	}
	for _, sw := range r.Sweeps {
		if sw.RecordSize > 0 {
			fmt.Fprintf(&b, " Sized values (value=NB) are made from the rows: row i's bytes, then rows i+1, i+2, ... joined by a space, cut at N bytes (a longer row is cut); keys are unchanged, and a sized step sends at most %sB (--size-budget, by default the input's bytes), so larger values mean fewer records.", human(float64(r.SizeBudget)))
			break
		}
	}
	return b.String()
}

// limitsTable: each sweep's bottleneck with its reason, and the pinned
// cores' verdict, in one table instead of a list per sweep.
func limitsTable(r Result) *doc.Table {
	t := &doc.Table{Head: []string{"sweep", "judged at producers", "likely bottleneck", "why"}, Num: []bool{false, true, false, false}}
	if r.Pinned != nil {
		t.Head, t.Num = append(t.Head, "pinned cores"), append(t.Num, false)
	}
	names := legendNames(r.Sweeps, true)
	for i, sw := range r.Sweeps {
		row := []string{names[i], doc.Int(sw.Bottleneck.Producers), sw.Bottleneck.Kind, sw.Bottleneck.Reason}
		if r.Pinned != nil {
			reason := "-"
			if sw.Cores != nil {
				reason = sw.Cores.Reason
			}
			row = append(row, reason)
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// deliveries is a sweep's deliveries against the topic's end offsets, in a
// table cell and in a sentence.
func deliveries(sw Sweep) (string, string) {
	steps := sortedSteps(sw.Steps)
	if sw.Settings.NoFlush {
		var parts []string
		var recs, reached int64
		for _, s := range steps {
			recs, reached = recs+s.Records, reached+s.ReachedTopic
			parts = append(parts, fmt.Sprintf("%s: %d of %d records had no delivery report at exit, and %d reached the topic (%d were lost)",
				doc.Plural(s.Producers, "producer", "producers"), s.NoReport, s.Records, s.ReachedTopic, s.Records-s.ReachedTopic))
		}
		return fmt.Sprintf("no flush: %s of %s lost", doc.I64(recs-reached), doc.I64(recs)), "No flush before exit: " + strings.Join(parts, "; ") + "."
	}
	var recs, acked, failed, reached int64
	firstErr := ""
	for _, s := range steps {
		recs, acked, failed, reached = recs+s.Records, acked+s.Acked, failed+s.Failed, reached+s.ReachedTopic
		if firstErr == "" {
			firstErr = s.FirstError
		}
	}
	out := fmt.Sprintf("%s of %s records acked, %s failed; end offsets grew by %s.", doc.I64(acked), doc.I64(recs), doc.I64(failed), doc.I64(reached))
	word := doc.I64(acked-reached) + " fewer on the topic than acked"
	if reached > acked {
		word = doc.I64(reached-acked) + " more on the topic than acked"
	}
	switch {
	case failed > 0:
		return doc.I64(failed) + " failed", out + " First error: " + firstErr + "."
	case reached == acked:
		return "all on the topic", out + " Every acked record is on the topic."
	case sw.Settings.Acks == "0":
		return word, out + " With acks=0 an \"ack\" only means the request was written, so the counts may differ."
	case reached > acked && !sw.Settings.Idempotence:
		return word, out + fmt.Sprintf(" %d more records on the topic than acked: without idempotence a retried request that had landed writes twice, and this count cannot tell such records from others.", reached-acked)
	case reached > acked:
		return word, out + fmt.Sprintf(" %d more records on the topic than acked.", reached-acked)
	}
	return word, out + fmt.Sprintf(" %d fewer records on the topic than acked.", acked-reached)
}

// networkFinding sets the loopback interface against the clients' own
// bytes on the wire at the fastest step. Loopback counts each byte once per
// direction it crosses; what exceeds the clients' own bytes includes the
// followers' fetches between the local brokers, not measured apart here.
func networkFinding(r Result) (doc.Finding, bool) {
	var s Step
	for _, sw := range r.Sweeps {
		for _, st := range sw.Steps {
			if _, ok := st.LoopbackMBPerSec(); ok && st.RecordsPerSec > s.RecordsPerSec && !sw.Settings.NoFlush {
				s = st
			}
		}
	}
	lo, ok := s.LoopbackMBPerSec()
	if !ok {
		return doc.Finding{}, false
	}
	wire := s.WireMBPerSec()
	rest := "."
	if lo > wire && r.Broker.Nodes > 1 {
		rest = fmt.Sprintf("; the other %.1f MB/s is replication between the %d local brokers and any other local traffic, not measured apart.", lo-wire, r.Broker.Nodes)
	} else if lo > wire {
		rest = fmt.Sprintf("; the other %.1f MB/s is local traffic besides the clients' (one broker: no replication).", lo-wire)
	}
	return doc.Say("Network at the fastest step (%s, %s records/s): the loopback interface carried %.1f MB/s, the clients' own bytes on the wire (both directions) %.1f MB/s, %.2fx%s",
		doc.Plural(s.Producers, "producer", "producers"), doc.Num(s.RecordsPerSec), lo, wire, clock.Ratio(lo, wire), rest), true
}

func ceilingBlocks(r Result) []doc.Block {
	if len(r.Ceilings) == 0 {
		return []doc.Block{{Title: "The partition ceiling", Text: []string{"Not measured: this run swept one partition count; `--partitions 1,3,12,48` sweeps the ceiling."}}}
	}
	b := doc.Block{Title: "The partition ceiling"}
	t := &doc.Table{Head: []string{"sweep", "partitions", "best records/s", "MB/s", "at producers"}, Num: []bool{false, true, true, true, true}}
	names := ceilingNames(r)
	for i, c := range r.Ceilings {
		b.Findings = append(b.Findings, doc.Say("%s (%s): %s", c.Label, c.Mode, c.Sentence))
		for _, pt := range c.Points {
			t.Rows = append(t.Rows, []string{names[i], doc.Int(pt.Partitions), doc.Num(pt.RecordsPerSec), doc.F1(pt.MBPerSec), doc.Int(pt.Producers)})
		}
	}
	return []doc.Block{b, {Table: t}}
}

func javaBlocks(r Result) []doc.Block {
	j := r.Java
	if j == nil {
		return []doc.Block{{Title: "Against Apache Kafka's ProducerPerformance", Text: []string{"Not in this run (`--vs-java` was not given)."}}}
	}
	g50, g99 := "-", "-"
	if j.Go.Latency != nil {
		h := hdrhistogram.Import(j.Go.Latency)
		g50, g99 = doc.F1(float64(h.ValueAtQuantile(50))/1000), doc.F1(float64(h.ValueAtQuantile(99))/1000)
	}
	t := &doc.Table{Head: []string{"", "records/s", "CPU-s per million records", "p50 ms", "p99 ms"}, Num: []bool{false, true, true, true, true},
		Rows: [][]string{
			{"kpar (Go, 1 producer process)", doc.Num(j.GoRecordsPerSec), doc.F2(j.GoCPUPerMillion), g50, g99},
			{"ProducerPerformance (Java)", doc.Num(j.JavaRecordsPerSec), doc.F2(j.JavaCPUPerMillion), doc.F1(j.Java.P50Ms), doc.F1(j.Java.P99Ms)},
		}}
	text := []string{fmt.Sprintf("Same broker, topic `%s`, %s records, settings %s; both tools run as their own process and send unkeyed records from the same payloads. "+
		"CPU is each process's whole life from rusage (JVM start-up and Go start-up and loading included). Go/Java: %.2fx the records/s, %.2fx the CPU-s per million records.",
		j.Topic, doc.Int(j.Records), j.Settings.Label(), j.RecordsPerSecRatio, j.CPUPerMillionRatio)}
	if j.PayloadsSkipped > 0 {
		text = append(text, fmt.Sprintf("%d values contain line breaks and could not be given to --payload-file (one payload per line); Java drew from the rest.", j.PayloadsSkipped))
	}
	return []doc.Block{{Title: "Against Apache Kafka's ProducerPerformance", Table: t}, {Text: text}}
}

func kcatBlocks(r Result) []doc.Block {
	k := r.Kcat
	if k == nil {
		return []doc.Block{{Title: "Against kcat (librdkafka, C)", Text: []string{"Not in this run (`--vs-kcat` was not given)."}}}
	}
	t := &doc.Table{Head: []string{"whole process", "records/s", "CPU-s per million records", "wall s", "CPU-s"}, Num: []bool{false, true, true, true, true},
		Rows: [][]string{
			{"kpar (Go, 1 producer)", doc.Num(k.GoRecordsPerSec), doc.F2(k.GoCPUPerMillion), doc.F2(k.Go.WallSeconds), doc.F2(k.Go.ProcessCPUSeconds)},
			{"kcat (librdkafka)", doc.Num(k.KcatRecordsPerSec), doc.F2(k.KcatCPUPerMillion), doc.F2(k.Kcat.WallSeconds), doc.F2(k.Kcat.CPUSeconds)},
		}}
	if j := r.Java; j != nil {
		t.Rows = append(t.Rows, []string{"ProducerPerformance (Java)", doc.Num(k.JavaRecordsPerSec), doc.F2(k.JavaCPUPerMillion), doc.F2(j.Java.WallSeconds), doc.F2(j.Java.CPUSeconds)})
	}
	read := "kcat read the payload file ProducerPerformance reads (one value per line), kpar the CSV rows they came from"
	if k.Go.PayloadFile {
		read = "kcat and kpar read the payload file ProducerPerformance reads (one value per line), each while it sends"
	}
	text := fmt.Sprintf("Same broker, topic `%s`, %s records%s, settings %s, unkeyed; %s. "+
		"Each tool is its own process; records/s is records over the process's whole wall time and CPU its whole rusage (start-up and reading the input included), because kcat reports no rate of its own.",
		k.Topic, doc.Int(k.Records), sizeNote(k.RecordSize), k.Settings.Label(), read)
	if k.MaxBufferedRecords > 0 {
		text += fmt.Sprintf(" Both held at most %s records unacknowledged (franz-go's MaxBufferedRecords, librdkafka's queue.buffering.max.messages).", doc.Int(k.MaxBufferedRecords))
	}
	if len(k.Repeats) > 1 {
		var rs []string
		for _, rp := range k.Repeats {
			rs = append(rs, fmt.Sprintf("%.2fx/%.2fx", clock.Ratio(rp.GoRecordsPerSec, rp.KcatRecordsPerSec), clock.Ratio(rp.GoCPUPerMillion, rp.KcatCPUPerMillion)))
		}
		text += fmt.Sprintf(" The table is the median of %d repeats by the rate ratio (rate/CPU ratios per repeat: %s).", len(k.Repeats), strings.Join(rs, ", "))
	}
	if k.Kcat.Errors > 0 {
		text += fmt.Sprintf(" kcat printed %d error line(s); first: %s.", k.Kcat.Errors, k.Kcat.FirstError)
	}
	return []doc.Block{{Title: "Against kcat (librdkafka, C)", Table: t}, {Text: []string{text}}}
}

func sizeNote(size int) string {
	if size <= 0 {
		return ""
	}
	return fmt.Sprintf(" of %d value bytes", size)
}

func bestRate(r Result) float64 {
	best := 0.0
	for _, sw := range r.Sweeps {
		for _, s := range sw.Steps {
			best = max(best, s.RecordsPerSec)
		}
	}
	return best
}

// human prints 1234567 as "1.23M" (the stored ceiling and acks sentences).
func human(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}
