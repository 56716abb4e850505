package produce

import (
	"fmt"
	"sort"
	"strings"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

func sortSteps(steps []Step) []Step {
	s := append([]Step(nil), steps...)
	sort.Slice(s, func(i, j int) bool { return s[i].Producers < s[j].Producers })
	return s
}

// Summary is a short Markdown report; every number and verdict in it comes
// from r.
func Summary(r Result) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("# kpar bench produce\n\n")
	p("Run %s on %d cores (%s), broker %s. ", r.Started.Format("2006-01-02 15:04:05 MST"), r.Host.Cores, r.Host.GoVersion, strings.Join(r.Broker.Seeds, ","))
	if r.Broker.CPU == "proc" {
		p("Broker CPU was read from /proc for the JVM(s) kpar started (pids %v, summed), which share the machine with the bench. ", r.Broker.PIDs)
	} else {
		p("Broker CPU is unknown: the broker is not one kpar started on this machine. ")
	}
	if r.Broker.Nodes > 0 {
		p("The cluster has %d broker(s); topics were created with replication factor %d.", r.Broker.Nodes, r.ReplicationFactor)
	}
	p("\n\n")
	if pn := r.Pinned; pn != nil {
		p("**Pinned:** the broker JVM(s) (pids %v) ran on CPU %s and the bench (pid %d, with every process it started) on CPU %s for the whole run; the CPUs each had before (%s) were %s afterwards. ",
			pn.BrokerPIDs, cpuList(pn.Broker), pn.BenchPID, cpuList(pn.Bench), beforeList(pn.Before), map[bool]string{true: "restored", false: "NOT restored"}[pn.Restored])
		p("%s\n\n", coreTally(r.Sweeps))
	}
	in := r.Input
	avg := 0.0
	if in.Records > 0 {
		avg = float64(in.PayloadBytes) / float64(in.Records)
	}
	p("Input: %s records (%.1f MB, %.0f bytes each on average, key column %q, value %s) from `%s`, loaded in %.2f s (%s records/s).",
		human(float64(in.Records)), float64(in.PayloadBytes)/1e6, avg, in.KeyColumn, in.Value, in.File, in.LoadSeconds, human(in.LoadRecordsSec))
	if best := bestRate(r); best > 0 && in.LoadRecordsSec > 0 {
		p(" Rows are loaded before any clock starts; even so, reading ran at %.1fx the best producer rate measured.", in.LoadRecordsSec/best)
	}
	if in.SkippedRows > 0 {
		p(" %d malformed rows were skipped (--skip-bad); first: %s.", in.SkippedRows, in.FirstBadRows[0])
	}
	for _, sw := range r.Sweeps {
		if sw.RecordSize > 0 {
			p(" Sized values (value=NB) are made from the rows: row i's bytes, then rows i+1, i+2, ... joined by a space, cut at N bytes (a longer row is cut); keys are unchanged, and a sized step sends at most %sB (--size-budget, by default the input's bytes), so larger values mean fewer records (see each section's records per step).", human(float64(r.SizeBudget)))
			break
		}
	}
	p("\n\nEach step is the median of %d run(s) by records/s, after a %d-record warm-up that is not counted. Timings come from a shared, noisy machine: treat differences under about 10%% as noise.\n", r.Repeat, r.WarmupRecords)

	for _, sw := range r.Sweeps {
		steps := sortSteps(sw.Steps)
		if len(steps) == 0 {
			continue
		}
		p("\n## %s (%s, %s records per step)\n\n", sw.Label, sw.Mode, human(float64(sw.Records)))
		first, last := steps[0], steps[len(steps)-1]
		p("- %d producer(s): %s records/s (%.1f MB/s); %d producers: %s records/s (%.1f MB/s), %.2fx the first step.\n",
			first.Producers, human(first.RecordsPerSec), first.MBPerSec, last.Producers, human(last.RecordsPerSec), last.MBPerSec, ratio(last.RecordsPerSec, first.RecordsPerSec))
		sat := sw.Saturation
		if sat.Reached {
			p("- Saturation at %d producer(s): going to %d added %+.1f%%, under the %.0f%% bar.\n", sat.Producers, sat.NextProducers, sat.Gain*100, SaturationGain*100)
		} else if len(steps) > 1 {
			p("- No saturation within the sweep: the last step still added %+.1f%%.\n", sat.Gain*100)
		}
		bn := sw.Bottleneck
		p("- Likely bottleneck: **%s** (%s).\n", bn.Kind, bn.Reason)
		if !sw.Settings.NoFlush {
			p("- Latency p50/p99/p99.9: %.1f/%.1f/%.1f ms at %d producer(s), %.1f/%.1f/%.1f ms at %d.\n",
				first.LatencyP50Ms, first.LatencyP99Ms, first.LatencyP999Ms, first.Producers, last.LatencyP50Ms, last.LatencyP99Ms, last.LatencyP999Ms, last.Producers)
			p("- Client CPU: %.2f CPU-s per million records at %d producer(s), %.2f at %d.\n", first.BenchCPUPerMillion(), first.Producers, last.BenchCPUPerMillion(), last.Producers)
			if a, ok := first.BrokerCPUPerMillion(); ok {
				z, _ := last.BrokerCPUPerMillion()
				p("- Broker CPU: %.2f CPU-s per million records at %d producer(s), %.2f at %d (%.2f and %.2f cores busy).\n",
					a, first.Producers, z, last.Producers, *first.BrokerCPUSeconds/first.ElapsedSeconds, *last.BrokerCPUSeconds/last.ElapsedSeconds)
			}
			if s := networkSentence(last, r.Broker.Nodes); s != "" {
				p("- %s\n", s)
			}
		}
		if sw.Cores != nil {
			p("- Pinned cores: %s.\n", sw.Cores.Reason)
		}
		p("- %s\n", deliverySentence(sw, steps))
	}
	if len(r.Ceilings) > 0 {
		p("\n## Where the ceiling is: partitions\n\n")
		for _, c := range r.Ceilings {
			p("- %s (%s): %s\n", c.Label, c.Mode, c.Sentence)
		}
	}
	if len(r.AcksCosts) > 0 {
		p("\n## What acks=all costs against acks=1\n\n")
		for _, c := range r.AcksCosts {
			p("- %s (%s): %s\n", c.Label, c.Mode, c.Sentence)
		}
	}
	if j := r.Java; j != nil {
		p("\n## Against Apache Kafka's ProducerPerformance\n\n")
		p("Same broker, topic `%s`, %s records, settings %s; both tools run as their own process and send unkeyed records from the same payloads. CPU is each process's whole life from rusage (JVM start-up and Go start-up and loading included).\n\n",
			j.Topic, human(float64(j.Records)), j.Settings.Label())
		p("| | records/s | CPU-s per million records | p50 ms | p99 ms |\n|---|---|---|---|---|\n")
		g50, g99 := "-", "-"
		if j.Go.Latency != nil {
			h := hdrhistogram.Import(j.Go.Latency)
			g50 = fmt.Sprintf("%.1f", float64(h.ValueAtQuantile(50))/1000)
			g99 = fmt.Sprintf("%.1f", float64(h.ValueAtQuantile(99))/1000)
		}
		p("| kpar (Go, 1 producer) | %s | %.2f | %s | %s |\n", human(j.GoRecordsPerSec), j.GoCPUPerMillion, g50, g99)
		p("| ProducerPerformance (Java) | %s | %.2f | %.0f | %.0f |\n\n", human(j.JavaRecordsPerSec), j.JavaCPUPerMillion, j.Java.P50Ms, j.Java.P99Ms)
		p("Go/Java ratio: %.2fx the records/s, %.2fx the CPU-s per million records. ", j.RecordsPerSecRatio, j.CPUPerMillionRatio)
		switch {
		case j.RecordsPerSecRatio >= 1 && j.CPUPerMillionRatio < 1:
			p("One kpar producer met the goal: at least Java's rate with less client CPU.\n")
		case j.RecordsPerSecRatio >= 1:
			p("One kpar producer matched Java's rate but spent more client CPU: the goal is not met.\n")
		case j.CPUPerMillionRatio < 1:
			p("kpar spent less client CPU but did not reach Java's rate in this run: the goal is not met.\n")
		default:
			p("kpar was slower and spent more CPU in this run: the goal is not met.\n")
		}
		if j.PayloadsSkipped > 0 {
			p("\n%d values contain line breaks and could not be given to --payload-file (one payload per line); Java drew from the rest.\n", j.PayloadsSkipped)
		}
	}
	if k := r.Kcat; k != nil {
		p("\n## Against kcat (librdkafka, C)\n\n")
		p("Same broker, topic `%s`, %s records%s, settings %s, unkeyed; kcat read the payload file ProducerPerformance reads (one value per line), kpar the CSV rows they came from. Each tool is its own process; records/s is records over the process's whole wall time and CPU its whole rusage (start-up and reading the input included), because kcat reports no rate of its own.\n\n",
			k.Topic, human(float64(k.Records)), sizeNote(k.RecordSize), k.Settings.Label())
		p("| whole process | records/s | CPU-s per million records | wall s | CPU-s |\n|---|---|---|---|---|\n")
		p("| kpar (Go, 1 producer) | %s | %.2f | %.2f | %.2f |\n", human(k.GoRecordsPerSec), k.GoCPUPerMillion, k.Go.WallSeconds, k.Go.ProcessCPUSeconds)
		p("| kcat (librdkafka) | %s | %.2f | %.2f | %.2f |\n", human(k.KcatRecordsPerSec), k.KcatCPUPerMillion, k.Kcat.WallSeconds, k.Kcat.CPUSeconds)
		if j := r.Java; j != nil {
			p("| ProducerPerformance (Java) | %s | %.2f | %.2f | %.2f |\n", human(k.JavaRecordsPerSec), k.JavaCPUPerMillion, j.Java.WallSeconds, j.Java.CPUSeconds)
		}
		p("\n**Target** (one kpar producer >= %.1fx kcat's records/s at <= %.1fx its CPU-s per million, in every repeat): %s.", TargetRate, TargetCPU, k.Verdict)
		if len(k.Repeats) > 1 {
			var rs []string
			for _, rp := range k.Repeats {
				rs = append(rs, fmt.Sprintf("%.2fx/%.2fx", ratio(rp.GoRecordsPerSec, rp.KcatRecordsPerSec), ratio(rp.GoCPUPerMillion, rp.KcatCPUPerMillion)))
			}
			p(" The table is the median of %d repeats by the rate ratio (rate/CPU ratios per repeat: %s).", len(k.Repeats), strings.Join(rs, ", "))
		}
		if k.Kcat.Errors > 0 {
			p(" kcat printed %d error line(s); first: %s.", k.Kcat.Errors, k.Kcat.FirstError)
		}
		p("\n")
	}
	for _, n := range r.Notes {
		p("\nNote: %s\n", n)
	}
	return b.String()
}

func sizeNote(size int) string {
	if size <= 0 {
		return ""
	}
	return fmt.Sprintf(" of %d value bytes", size)
}

// networkSentence sets the loopback interface against the clients' own
// bytes on the wire at one step.
func networkSentence(s Step, nodes int) string {
	lo, ok := s.LoopbackMBPerSec()
	if !ok {
		return ""
	}
	wire := s.WireMBPerSec()
	out := fmt.Sprintf("Network at %d producer(s): the loopback interface carried %.1f MB/s, the clients' own bytes on the wire (both directions) %.1f MB/s",
		s.Producers, lo, wire)
	if wire > 0 {
		out += fmt.Sprintf(", %.2fx", lo/wire)
	}
	switch {
	case lo <= wire:
		return out + "."
	case nodes > 1:
		// Loopback counts each byte once per direction it crosses; what
		// exceeds the clients' own bytes includes the followers' fetches
		// between the local brokers, not measured apart here.
		return out + fmt.Sprintf("; the other %.1f MB/s is replication between the %d local brokers and any other local traffic, not measured apart.", lo-wire, nodes)
	}
	return out + fmt.Sprintf("; the other %.1f MB/s is local traffic besides the clients' (one broker: no replication).", lo-wire)
}

// coreTally counts which pinned side filled first over the sweeps.
func coreTally(sweeps []Sweep) string {
	n := map[string]int{}
	total := 0
	for _, sw := range sweeps {
		if sw.Cores != nil {
			n[sw.Cores.First]++
			total++
		}
	}
	if total == 0 {
		return ""
	}
	return fmt.Sprintf("Which pinned side filled its CPUs (%.0f%% or more of them) first, over %d sweep(s): the broker's in %d, the client's in %d, both at once in %d, other processes' work in %d, none in %d.",
		100*CoreFull, total, n["broker"], n["client"], n["both"], n["others"], n["neither"])
}

func beforeList(m map[int]string) string {
	pids := make([]int, 0, len(m))
	for pid := range m {
		pids = append(pids, pid)
	}
	sort.Ints(pids)
	var s []string
	for _, pid := range pids {
		s = append(s, fmt.Sprintf("pid %d: %s", pid, m[pid]))
	}
	return strings.Join(s, "; ")
}

func deliverySentence(sw Sweep, steps []Step) string {
	if sw.Settings.NoFlush {
		var parts []string
		for _, s := range steps {
			parts = append(parts, fmt.Sprintf("%d producer(s): %d of %d records had no delivery report at exit, and %d reached the topic (%d were lost)",
				s.Producers, s.NoReport, s.Records, s.ReachedTopic, s.Records-s.ReachedTopic))
		}
		return "No flush before exit: " + strings.Join(parts, "; ") + "."
	}
	var recs, acked, failed, reached int64
	firstErr := ""
	for _, s := range steps {
		recs += s.Records
		acked += s.Acked
		failed += s.Failed
		reached += s.ReachedTopic
		if firstErr == "" {
			firstErr = s.FirstError
		}
	}
	out := fmt.Sprintf("Deliveries: %d of %d records acked, %d failed; end offsets grew by %d.", acked, recs, failed, reached)
	switch {
	case failed > 0:
		out += " First error: " + firstErr + "."
	case reached == acked:
		out += " Every acked record is on the topic."
	case sw.Settings.Acks == "0":
		out += " With acks=0 an \"ack\" only means the request was written, so the counts may differ."
	case reached > acked && !sw.Settings.Idempotence:
		out += fmt.Sprintf(" %d more records on the topic than acked: without idempotence a retried request that had landed writes twice, and this count cannot tell such records from others.", reached-acked)
	case reached > acked:
		out += fmt.Sprintf(" %d more records on the topic than acked.", reached-acked)
	default:
		out += fmt.Sprintf(" %d fewer records on the topic than acked.", acked-reached)
	}
	return out
}

func bestRate(r Result) float64 {
	best := 0.0
	for _, sw := range r.Sweeps {
		for _, s := range sw.Steps {
			if s.RecordsPerSec > best {
				best = s.RecordsPerSec
			}
		}
	}
	return best
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// human prints 1234567 as "1.23M".
func human(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}
