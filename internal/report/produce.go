package report

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/kpar/kpar/internal/bench/produce"
	"github.com/kpar/kpar/internal/results"
)

// Version 3 kept every v2 field's meaning (produce.Version's note): v2
// files read, without the v3 additions.
var produceKind = kind{schema: produce.Schema, version: 4, current: produce.Version, oldest: 4, section: "produce", load: loadProduce}

func loadProduce(path string) (Part, error) {
	var r produce.Result
	if err := results.Read(path, produce.Schema, produce.Version, &r); err != nil {
		return Part{}, err
	}
	return producePart(r), nil
}

// rederive recomputes every verdict and sentence the result stores from its
// measured figures (saturation, bottleneck, pinned cores, the anchors'
// ratios and the kcat target, the ceilings, the cost of acks=all), so the
// page never shows a stored verdict beside a figure that contradicts it.
func rederive(r produce.Result) produce.Result {
	sweeps := make([]produce.Sweep, len(r.Sweeps))
	for i, sw := range r.Sweeps {
		sw.Steps = append([]produce.Step(nil), sw.Steps...)
		sw.Saturation = produce.FindSaturation(sw.Steps)
		parts := 0
		if len(sw.Settings.Topics) > 0 {
			parts = r.Partitions[sw.Settings.Topics[0]]
		}
		if parts == 0 {
			parts = sw.Partitions
		}
		sw.Bottleneck = produce.FindBottleneck(sw.Steps, sw.Saturation, r.Host.Cores, parts)
		if r.Pinned != nil {
			sw.Cores = produce.FindCores(sw.Steps, r.Pinned.Pin)
		}
		sweeps[i] = sw
	}
	r.Sweeps = sweeps
	if r.Java != nil {
		j := *r.Java
		j.Compute()
		r.Java = &j
	}
	if r.Kcat != nil {
		k := *r.Kcat
		k.Compute()
		r.Kcat = &k
	}
	r.Ceilings = produce.FindCeilings(r.Sweeps)
	r.AcksCosts = produce.FindAcksCosts(r.Sweeps, r.ReplicationFactor)
	return r
}

func producePart(r produce.Result) Part {
	r = rederive(r)
	p := Part{Answer: produceAnswer(r)}
	p.Facts.Cores = r.Host.Cores
	p.Facts.addVersion("Go", r.Host.GoVersion)

	var parts []string
	for t, n := range r.Partitions {
		parts = append(parts, fmt.Sprintf("`%s` %d partitions", t, n))
	}
	sort.Strings(parts)
	in := r.Input
	p.Blocks = append(p.Blocks, Block{Text: []string{fmt.Sprintf(
		"%s records (%.1f MB) from `%s`, into %s; broker %s, its CPU %s. Each step is the median of %s by records/s, after a %s-record warm-up. "+
			"The bottleneck is a heuristic from CPU shares: with CPU to spare and at least as many producers as partitions it names the partitions, "+
			"the serial unit of a topic.",
		inum(in.Records), float64(in.PayloadBytes)/1e6, in.File, listing(parts), strings.Join(r.Broker.Seeds, ","), brokerCPUWords(r.Broker),
		plural(r.Repeat, "run", "runs"), inum(r.WarmupRecords))}})

	views := produce.Views(r)
	if len(r.Ceilings) == 0 {
		// One partition count: the ceiling chart would be empty (said in words below).
		views = slices.DeleteFunc(views, func(v results.View) bool { return strings.HasPrefix(v.Name, "ceiling.") })
	}
	p.Blocks = append(p.Blocks, chartBlocks(views, func(n string) string {
		if t, ok := map[string]string{"throughput": "Throughput vs producers", "broker_cpu": "Broker CPU vs producers", "broker_cpu_per_million": "Broker CPU per record vs producers",
			"latency": "Latency vs producers", "network": "Bytes on the wire vs producers", "cores": "Cores busy vs producers", "ceiling": "The partition ceiling"}[n]; ok {
			return t
		}
		return strings.ReplaceAll(n, "_", " ")
	})...)

	for _, sw := range r.Sweeps {
		t := &Table{Head: []string{"producers", "records/s", "MB/s", "vs 1st step", "p50 ms", "p99 ms", "client CPU-s/M", "broker cores", "other load, cores", "acked", "failed", "on the topic"},
			Num: []bool{true, true, true, true, true, true, true, true, true, true, true, true}}
		steps := append([]produce.Step(nil), sw.Steps...)
		sort.Slice(steps, func(i, j int) bool { return steps[i].Producers < steps[j].Producers })
		for _, s := range steps {
			broker, other := "unknown", "unknown"
			if s.BrokerCPUSeconds != nil && s.ElapsedSeconds > 0 {
				broker = f2(*s.BrokerCPUSeconds / s.ElapsedSeconds)
				if s.MachineBusyCPUSeconds != nil {
					o := (*s.MachineBusyCPUSeconds - *s.BrokerCPUSeconds - s.BenchCPUSeconds) / s.ElapsedSeconds
					other = f2(max(o, 0))
				}
			}
			t.Rows = append(t.Rows, []string{inum(s.Producers), num(s.RecordsPerSec), f1(s.MBPerSec), fmt.Sprintf("%.2fx", ratioOf(s.RecordsPerSec, steps[0].RecordsPerSec)),
				f1(s.LatencyP50Ms), f1(s.LatencyP99Ms), f2(s.BenchCPUPerMillion()), broker, other, i64(s.Acked), i64(s.Failed), i64(s.ReachedTopic)})
		}
		notes := []string{saturationSentence(sw), fmt.Sprintf("Likely bottleneck at %d producers: **%s** (%s).", sw.Bottleneck.Producers, sw.Bottleneck.Kind, sw.Bottleneck.Reason)}
		if c := sw.Cores; c != nil && c.Reason != "" {
			notes = append(notes, fmt.Sprintf("Pinned cores: %s filled first (%s).", c.First, c.Reason))
		}
		p.Blocks = append(p.Blocks, Block{Title: sweepTitle(sw), Table: t}, Block{List: true, Text: notes})
	}
	if j := r.Java; j != nil {
		t := &Table{Head: []string{"", "records/s", "CPU-s per million records", "p50 ms", "p99 ms"}, Num: []bool{false, true, true, true, true},
			Rows: [][]string{
				{"kpar (Go, 1 producer process)", num(j.GoRecordsPerSec), f2(j.GoCPUPerMillion), "", ""},
				{"ProducerPerformance (Java)", num(j.JavaRecordsPerSec), f2(j.JavaCPUPerMillion), f1(j.Java.P50Ms), f1(j.Java.P99Ms)},
			}}
		p.Blocks = append(p.Blocks, Block{Title: "The Java anchor", Table: t}, Block{Text: []string{fmt.Sprintf(
			"Same broker, topic `%s`, %s records, settings %s, unkeyed, each tool its own process; CPU is each process's whole life. Go/Java: %.2fx the records/s at %.2fx the CPU per record.",
			j.Topic, inum(j.Records), j.Settings.Label(), j.RecordsPerSecRatio, j.CPUPerMillionRatio)}})
	} else {
		p.Blocks = append(p.Blocks, Block{Title: "The Java anchor", Text: []string{"Not in this run (`--vs-java` was not given)."}})
	}
	if k := r.Kcat; k != nil {
		t := &Table{Head: []string{"", "records/s (whole process)", "CPU-s per million records"}, Num: []bool{false, true, true},
			Rows: [][]string{
				{"kpar (Go, 1 producer process)", num(k.GoRecordsPerSec), f2(k.GoCPUPerMillion)},
				{"kcat (librdkafka, C)", num(k.KcatRecordsPerSec), f2(k.KcatCPUPerMillion)},
			}}
		if k.JavaRecordsPerSec > 0 {
			t.Rows = append(t.Rows, []string{"ProducerPerformance (Java), same run", num(k.JavaRecordsPerSec), f2(k.JavaCPUPerMillion)})
		}
		p.Blocks = append(p.Blocks, Block{Title: "The C anchor (kcat, librdkafka)", Table: t}, Block{Text: []string{sentence(k.Verdict)}})
		if k.Kcat.Errors > 0 {
			p.Blocks = append(p.Blocks, Block{Text: []string{fmt.Sprintf("kcat reported %d errors; the first: %s", k.Kcat.Errors, k.Kcat.FirstError)}})
		}
	} else {
		p.Blocks = append(p.Blocks, Block{Title: "The C anchor (kcat, librdkafka)", Text: []string{"Not in this run (no kcat comparison in the data)."}})
	}
	if len(r.Ceilings) > 0 {
		var l []string
		t := &Table{Head: []string{"sweep", "partitions", "best records/s", "MB/s", "at producers"}, Num: []bool{false, true, true, true, true}}
		for _, c := range r.Ceilings {
			l = append(l, c.Sentence)
			for _, pt := range c.Points {
				t.Rows = append(t.Rows, []string{c.Label, inum(pt.Partitions), num(pt.RecordsPerSec), f1(pt.MBPerSec), inum(pt.Producers)})
			}
		}
		p.Blocks = append(p.Blocks, Block{Title: "The partition ceiling", List: true, Text: l}, Block{Table: t})
	} else {
		p.Blocks = append(p.Blocks, Block{Title: "The partition ceiling", Text: []string{"Not measured: this run swept one partition count (" + listing(parts) + "); `--partitions 1,3,12,48` sweeps the ceiling."}})
	}
	if len(r.AcksCosts) > 0 {
		var l []string
		for _, c := range r.AcksCosts {
			l = append(l, c.Sentence)
		}
		p.Blocks = append(p.Blocks, Block{Title: "What acks=all costs against acks=1", List: true, Text: l})
	}
	if len(r.Notes) > 0 {
		p.Blocks = append(p.Blocks, Block{Title: "Notes", List: true, Text: r.Notes})
	}
	return p
}

func sweepTitle(sw produce.Sweep) string {
	t := fmt.Sprintf("Sweep %s (%s", sw.Label, sw.Mode)
	if sw.Partitions > 0 {
		t += fmt.Sprintf(", %d partitions", sw.Partitions)
	}
	if sw.RecordSize > 0 {
		t += fmt.Sprintf(", %d-byte values", sw.RecordSize)
	}
	return t + ")"
}

func brokerCPUWords(b produce.Broker) string {
	if b.CPU == "proc" {
		return "read from /proc (a broker kpar started on this machine)"
	}
	return "unknown (not a broker kpar started here)"
}

func ratioOf(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func saturationSentence(sw produce.Sweep) string {
	s := sw.Saturation
	if s.Reached {
		return fmt.Sprintf("Adding producers stopped paying after %d: going to %d added %+.1f%%, under the %.0f%% bar.", s.Producers, s.NextProducers, 100*s.Gain, 100*produce.SaturationGain)
	}
	return fmt.Sprintf("No saturation within the sweep: the last step (to %d producers) still added %+.1f%%.", s.Producers, 100*s.Gain)
}

// produceAnswer: how far producers scaled and why they stopped, from the
// first sweep (the others are in the tables), and the Java anchor.
func produceAnswer(r produce.Result) []string {
	if len(r.Sweeps) == 0 || len(r.Sweeps[0].Steps) == 0 {
		return []string{"This run measured no sweep."}
	}
	sw := r.Sweeps[0]
	steps := append([]produce.Step(nil), sw.Steps...)
	sort.Slice(steps, func(i, j int) bool { return steps[i].Producers < steps[j].Producers })
	first, last := steps[0], steps[len(steps)-1]
	a := fmt.Sprintf("%s sent %s records/s and %d sent %s, %.2fx as much", plural(first.Producers, "producer", "producers"), num(first.RecordsPerSec),
		last.Producers, num(last.RecordsPerSec), ratioOf(last.RecordsPerSec, first.RecordsPerSec))
	if s := sw.Saturation; s.Reached {
		a += fmt.Sprintf("; adding producers stopped paying after %d (going to %d changed the rate by %+.0f%%).", s.Producers, s.NextProducers, 100*s.Gain)
	} else {
		a += fmt.Sprintf(", with no saturation within the sweep (the last step added %+.0f%%).", 100*s.Gain)
	}
	a += fmt.Sprintf(" The likely limit: **%s** (%s).", sw.Bottleneck.Kind, sw.Bottleneck.Reason)
	var anchors []string
	if j := r.Java; j != nil {
		anchors = append(anchors, fmt.Sprintf("%.2fx Java's ProducerPerformance rate at %.2fx its CPU per record", j.RecordsPerSecRatio, j.CPUPerMillionRatio))
	}
	if k := r.Kcat; k != nil {
		anchors = append(anchors, fmt.Sprintf("%.2fx kcat's (librdkafka) at %.2fx its CPU", k.RecordsPerSecRatio, k.CPUPerMillionRatio))
	}
	out := []string{a}
	switch {
	case len(r.Ceilings) > 0:
		out = append(out, r.Ceilings[0].Sentence)
	case len(anchors) > 0:
		out = append(out, "One kpar producer ran at "+strings.Join(anchors, ", and ")+".")
	}
	return out
}
