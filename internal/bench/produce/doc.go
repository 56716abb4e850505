package produce

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/kpar/kpar/internal/clock"
	"github.com/kpar/kpar/internal/doc"
)

// Doc is everything `kpar bench produce` says about r, computed once from
// it: the answer (how far producers scaled and why they stopped, where the
// partition ceiling stops moving, the anchors' verdicts), the throughput and
// ceiling charts and one compact table in the body, and in the details the
// run's context, every sweep's steps, the other charts and the anchors'
// tables.
func Doc(r Result) doc.Doc {
	d := doc.Doc{Name: "summary", Title: "kpar bench produce", Command: r.Command, Answer: answer(r)}
	d.Body = append(d.Body, doc.Block{Chart: throughputChart(r)})
	if len(r.Ceilings) > 0 {
		d.Body = append(d.Body, doc.Block{Chart: ceilingChart(r)})
	}
	if len(r.Sweeps) == 1 {
		d.Body = append(d.Body, doc.Block{Title: sweepTitle(r.Sweeps[0]), Table: stepsTable(r.Sweeps[0])})
	} else if len(r.Sweeps) > 1 {
		d.Body = append(d.Body, doc.Block{Title: "Every sweep", Table: sweepsTable(r)})
	}
	if fs := acrossSweeps(r); len(fs) > 0 {
		d.Body = append(d.Body, doc.Block{Findings: fs})
	}
	d.Details = details(r)
	return d
}

// answer: the first sweep's scaling, the ceiling and the two anchors.
func answer(r Result) []doc.Finding {
	out := []doc.Finding{scalingFinding(r)}
	if f, ok := ceilingFinding(r); ok {
		out = append(out, f)
	}
	if k := r.Kcat; k != nil {
		out = append(out, kcatFinding(*k))
	}
	if j := r.Java; j != nil {
		out = append(out, javaFinding(*j))
	}
	return out
}

// scalingFinding: how far the first sweep scaled and why it stopped (the
// others are in the sweeps table).
func scalingFinding(r Result) doc.Finding {
	if len(r.Sweeps) == 0 || len(r.Sweeps[0].Steps) == 0 {
		return doc.Say("This run measured no sweep.")
	}
	sw := r.Sweeps[0]
	steps := sortedSteps(sw.Steps)
	first, last := steps[0], steps[len(steps)-1]
	var b strings.Builder
	if len(r.Sweeps) > 1 {
		fmt.Fprintf(&b, "In the first sweep (%s), ", sw.Label)
	}
	fmt.Fprintf(&b, "%s sent %s records/s (%s MB/s) and %d sent %s (%s MB/s), %.2fx as much", doc.Plural(first.Producers, "producer", "producers"),
		doc.Num(first.RecordsPerSec), doc.F1(first.MBPerSec), last.Producers, doc.Num(last.RecordsPerSec), doc.F1(last.MBPerSec), clock.Ratio(last.RecordsPerSec, first.RecordsPerSec))
	if s := sw.Saturation; s.Reached {
		fmt.Fprintf(&b, "; adding producers stopped paying after %d: going to %d added %+.1f%%, under the %.0f%% bar.", s.Producers, s.NextProducers, 100*s.Gain, 100*SaturationGain)
	} else if len(steps) > 1 {
		fmt.Fprintf(&b, ", with no saturation within the sweep: the last step still added %+.1f%%.", 100*s.Gain)
	} else {
		b.WriteString(".")
	}
	if bn := sw.Bottleneck; bn.Kind != "" {
		fmt.Fprintf(&b, " The likely limit at %s: **%s** (%s).", doc.Plural(bn.Producers, "producer", "producers"), bn.Kind, bn.Reason)
	}
	return doc.Say("%s", doc.Sentence(b.String()))
}

// ceilingFinding: one ceiling's own sentence, or where each stops moving.
func ceilingFinding(r Result) (doc.Finding, bool) {
	switch len(r.Ceilings) {
	case 0:
		return doc.Finding{}, false
	case 1:
		return doc.Say("%s", r.Ceilings[0].Sentence), true
	}
	names := ceilingNames(r)
	var parts []string
	for i, c := range r.Ceilings {
		if c.StopsAt > 0 {
			at := c.Points[max(0, slices.IndexFunc(c.Points, func(p CeilingPoint) bool { return p.Partitions == c.StopsAt }))]
			parts = append(parts, fmt.Sprintf("%s at %s (%s records/s)", names[i], doc.Plural(c.StopsAt, "partition", "partitions"), doc.Num(at.RecordsPerSec)))
		} else {
			last := c.Points[len(c.Points)-1]
			parts = append(parts, fmt.Sprintf("%s still moving at %d (%+.1f%% over the count before)", names[i], last.Partitions, 100*c.LastGain))
		}
	}
	return doc.Say("The ceiling (the best rate over the producer counts) stops moving with partitions, where no larger count beats it by %.0f%% or more: %s.",
		100*SaturationGain, strings.Join(parts, "; ")), true
}

// kcatTarget is the kcat target as a finding names it.
var kcatTarget = fmt.Sprintf("one kpar producer >= %.1fx kcat's records/s at <= %.1fx its CPU-s per million, in every repeat", TargetRate, TargetCPU)

func kcatFinding(k KcatComparison) doc.Finding {
	reps := k.Repeats
	if len(reps) == 0 {
		reps = []KcatRepeat{k.repeat()}
	}
	s := k.says(reps, "kcat's (librdkafka)")
	return doc.Judged(kcatTarget, k.Target.String(), "%s", strings.ToUpper(s[:1])+s[1:])
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func javaFinding(j JavaComparison) doc.Finding {
	verdict := "missed"
	if j.RecordsPerSecRatio >= 1 && j.CPUPerMillionRatio < 1 {
		verdict = "met"
	}
	return doc.Judged("at least Java's records/s with less client CPU", verdict,
		"One kpar producer ran at %.2fx Apache Kafka's ProducerPerformance (Java) records/s with %.2fx its CPU-s per million records (whole process, same payloads)",
		j.RecordsPerSecRatio, j.CPUPerMillionRatio)
}

// sweepsTable is one row per sweep: its best rate, where it saturated, what
// limited it, which pinned side filled first and whether every record landed.
func sweepsTable(r Result) *doc.Table {
	t := &doc.Table{Head: []string{"sweep", "records/step", "best records/s", "at producers", "MB/s", "last/first", "saturated at", "likely bottleneck"},
		Num: []bool{false, true, true, true, true, true, false, false}}
	if r.Pinned != nil {
		t.Head, t.Num = append(t.Head, "filled first"), append(t.Num, false)
	}
	t.Head, t.Num = append(t.Head, "deliveries"), append(t.Num, false)
	names := legendNames(r.Sweeps, true)
	for i, sw := range r.Sweeps {
		steps := sortedSteps(sw.Steps)
		if len(steps) == 0 {
			continue
		}
		best := slices.MaxFunc(steps, func(a, b Step) int { return cmp.Compare(a.RecordsPerSec, b.RecordsPerSec) })
		sat := fmt.Sprintf("none (%+.1f%% last)", 100*sw.Saturation.Gain)
		if sw.Saturation.Reached {
			sat = fmt.Sprintf("%d (%+.1f%% at %d)", sw.Saturation.Producers, 100*sw.Saturation.Gain, sw.Saturation.NextProducers)
		}
		row := []string{names[i], doc.Int(sw.Records), doc.Num(best.RecordsPerSec), doc.Int(best.Producers), doc.F1(best.MBPerSec),
			fmt.Sprintf("%.2fx", clock.Ratio(steps[len(steps)-1].RecordsPerSec, steps[0].RecordsPerSec)), sat, sw.Bottleneck.Kind}
		if r.Pinned != nil {
			first := "-"
			if sw.Cores != nil {
				first = sw.Cores.First
			}
			row = append(row, first)
		}
		word, _ := deliveries(sw)
		t.Rows = append(t.Rows, append(row, word))
	}
	return t
}

// stepsTable is one sweep's steps.
func stepsTable(sw Sweep) *doc.Table {
	t := &doc.Table{Head: []string{"producers", "records/s", "MB/s", "vs 1st step", "p50 ms", "p99 ms", "p99.9 ms", "client CPU-s/M", "broker CPU-s/M", "broker cores", "other load, cores", "acked", "failed", "on the topic"},
		Num: []bool{true, true, true, true, true, true, true, true, true, true, true, true, true, true}}
	steps := sortedSteps(sw.Steps)
	for _, s := range steps {
		broker, other, perM := "unknown", "unknown", "unknown"
		if v, ok := s.BrokerCPUPerMillion(); ok {
			perM = doc.F2(v)
		}
		if v, ok := s.cores(s.BrokerCPUSeconds); ok {
			broker = doc.F2(v)
			if s.MachineBusyCPUSeconds != nil {
				o := (*s.MachineBusyCPUSeconds - *s.BrokerCPUSeconds - s.BenchCPUSeconds) / s.ElapsedSeconds
				other = doc.F2(max(o, 0))
			}
		}
		t.Rows = append(t.Rows, []string{doc.Int(s.Producers), doc.Num(s.RecordsPerSec), doc.F1(s.MBPerSec), fmt.Sprintf("%.2fx", clock.Ratio(s.RecordsPerSec, steps[0].RecordsPerSec)),
			doc.F1(s.LatencyP50Ms), doc.F1(s.LatencyP99Ms), doc.F1(s.LatencyP999Ms), doc.F2(s.BenchCPUPerMillion()), perM, broker, other,
			doc.I64(s.Acked), doc.I64(s.Failed), doc.I64(s.ReachedTopic)})
	}
	return t
}

func sweepTitle(sw Sweep) string {
	return fmt.Sprintf("Sweep %s (%s, %s records per step)", sw.Label, sw.Mode, doc.Int(sw.Records))
}

// acrossSweeps: what holds over the sweeps, said once: deliveries, the
// pinned side that filled first, the cost of acks=all.
func acrossSweeps(r Result) []doc.Finding {
	var out []doc.Finding
	switch bad := deliveryFindings(r); {
	case len(bad) == 0 && len(r.Sweeps) > 0:
		out = append(out, doc.Say("Every acked record is on the topic in %s, and no delivery failed.", doc.Plural(len(r.Sweeps), "sweep", "sweeps")))
	case len(bad) == 1:
		out = append(out, bad...)
	case len(bad) > 1:
		out = append(out, doc.Say("In %d of %s the topic's count differs from the acks or deliveries failed (the deliveries column; each sweep's counts are in the details).", len(bad), doc.Plural(len(r.Sweeps), "sweep", "sweeps")))
	}
	if s := coreTally(r.Sweeps); s != "" {
		out = append(out, doc.Say("%s", s))
	}
	switch len(r.AcksCosts) {
	case 0:
	case 1:
		out = append(out, doc.Say("%s", r.AcksCosts[0].Sentence))
	default:
		lo, hi := r.AcksCosts[0].MinRatio, r.AcksCosts[0].MaxRatio
		for _, c := range r.AcksCosts {
			lo, hi = min(lo, c.MinRatio), max(hi, c.MaxRatio)
		}
		out = append(out, doc.Say("At RF %d, acks=all ran at %.2fx to %.2fx acks=1's records/s over %d pairs of sweeps that differ only in acks (each pair in the details).",
			r.ReplicationFactor, lo, hi, len(r.AcksCosts)))
	}
	return out
}

// deliveryFindings are the sweeps whose records did not all land as acked.
func deliveryFindings(r Result) []doc.Finding {
	var out []doc.Finding
	for _, sw := range r.Sweeps {
		if word, sentence := deliveries(sw); word != "all on the topic" {
			out = append(out, doc.Say("%s: %s", sw.Label, sentence))
		}
	}
	return out
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
	return fmt.Sprintf("Which pinned side filled its CPUs (%.0f%% or more of them) first, over %s: the broker's in %d, the client's in %d, both at once in %d, other processes' work in %d, none in %d.",
		100*CoreFull, doc.Plural(total, "sweep", "sweeps"), n["broker"], n["client"], n["both"], n["others"], n["neither"])
}

func beforeList(m map[int]string) string {
	var s []string
	for _, pid := range slices.Sorted(maps.Keys(m)) {
		s = append(s, fmt.Sprintf("pid %d: %s", pid, m[pid]))
	}
	return strings.Join(s, "; ")
}
