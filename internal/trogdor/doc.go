package trogdor

import (
	"fmt"

	"github.com/kpar/kpar/internal/doc"
)

// Doc is what a sweep says, computed once from r: where it saturated, the
// host the agents shared, sends Trogdor counted that never landed, and the
// kpar calibration; the steps in the body, every agent's figures in the
// details.
func Doc(r Result) doc.Doc {
	d := doc.Doc{Name: "trogdor", Title: fmt.Sprintf("Distributed produce sweep (Apache Kafka Trogdor %s)", r.TrogdorVersion), Command: r.Command, Answer: findings(r)}
	steps := &doc.Table{Head: []string{"agents", "records/s", "MB/s", "per agent records/s", "span ms", "worst p99 ms", "sent", "written"},
		Num: []bool{true, true, true, true, true, true, true, true}}
	for _, s := range r.Steps {
		steps.Rows = append(steps.Rows, []string{doc.Int(s.Agents), doc.Num(s.RecordsPerSec), doc.F2(s.MBPerSec), perAgent(s), doc.I64(s.SpanMs),
			doc.Int(s.WorstP99Ms), doc.I64(s.Records), doc.I64(s.Written)})
	}
	if k := r.Kpar; k != nil {
		steps.Rows = append(steps.Rows, []string{"kpar x1", doc.Num(k.RecordsPerSec), doc.F2(k.MBPerSec), "", doc.I64(k.Ms), doc.F1(k.P99LatencyMs), doc.I64(k.Records), doc.I64(k.Written)})
	}
	d.Body = []doc.Block{{Text: []string{fmt.Sprintf("Topic `%s` (%s), %s records per agent per step, agents bootstrap `%s`. Settings: %s. "+
		"Rates span each worker from its start (an admin client checking the topic, the producer's start) to its producer's close; MB are 10^6 value bytes.",
		r.Topic, doc.Plural(r.Partitions, "partition", "partitions"), doc.I64(r.Records), r.AgentBootstrap, r.Settings.Label())}},
		{Title: "Steps", Table: steps}}
	agents := &doc.Table{Head: []string{"step", "agent", "records/s", "MB/s", "avg ms", "p50 ms", "p95 ms", "p99 ms"},
		Num: []bool{true, false, true, true, true, true, true, true}}
	for _, s := range r.Steps {
		for _, a := range s.PerAgent {
			agents.Rows = append(agents.Rows, []string{doc.Int(s.Agents), a.Node, doc.Num(a.RecordsPerSec), doc.F2(a.MBPerSec), doc.F1(a.AvgLatencyMs),
				doc.Int(a.P50LatencyMs), doc.Int(a.P95LatencyMs), doc.Int(a.P99LatencyMs)})
		}
	}
	d.Details = []doc.Block{{Title: "Every agent", Table: agents}}
	if k := r.Kpar; k != nil {
		d.Details = append(d.Details, doc.Block{Text: []string{fmt.Sprintf("Calibration, one in-process kpar (franz-go) producer, same settings: %s records/s, %.2f MB/s, latency avg %.1f / p50 %.1f / p95 %.1f / p99 %.1f ms, %s written.",
			doc.Num(k.RecordsPerSec), k.MBPerSec, k.AvgLatencyMs, k.P50LatencyMs, k.P95LatencyMs, k.P99LatencyMs, doc.I64(k.Written))}})
	}
	return d
}

// findings are the sentences a sweep supports, each computed from the
// figures in it.
func findings(r Result) []doc.Finding {
	var out []doc.Finding
	if r.SharedHost {
		out = append(out, doc.Say("Every agent ran on this one host (%s): the steps share its cores, so the curve measures this host as much as the cluster.", cores(r)))
	}
	sat := r.Saturation
	switch {
	case len(r.Steps) < 2:
		out = append(out, doc.Say("One step only: no saturation point without a second."))
	case sat.Reached:
		out = append(out, doc.Say("Saturated at %d agent(s): going to %d added %+.1f%% records/s (threshold %.0f%%).",
			sat.Agents, sat.NextAgents, 100*sat.Gain, 100*sat.Threshold))
	default:
		out = append(out, doc.Say("Not saturated up to %d agents: the last step added %+.1f%% records/s (threshold %.0f%%).",
			sat.Agents, 100*sat.Gain, 100*sat.Threshold))
	}
	for _, s := range r.Steps {
		if s.Written != s.Records {
			out = append(out, doc.Say("Step %d: the agents reported %d records sent but the topic grew by %d (Trogdor counts failed sends as sent).", s.Agents, s.Records, s.Written))
		}
	}
	if r.Kpar != nil && r.KparPerTrogdor > 0 {
		out = append(out, doc.Say("Calibration: one kpar (franz-go) producer sent %.0f records/s where one Trogdor agent sent %.0f with the same settings: kpar's figure is %.2f times Trogdor's.",
			r.Kpar.RecordsPerSec, r.Kpar.RecordsPerSec/r.KparPerTrogdor, r.KparPerTrogdor))
	}
	return out
}

func cores(r Result) string {
	if r.Machine == nil || r.Machine.Cores == 0 {
		return "cores unknown"
	}
	return fmt.Sprintf("%d cores", r.Machine.Cores)
}

// perAgent is the range of the agents' records/s in a step.
func perAgent(s Step) string {
	if len(s.PerAgent) == 0 {
		return "-"
	}
	lo, hi := s.PerAgent[0].RecordsPerSec, s.PerAgent[0].RecordsPerSec
	for _, a := range s.PerAgent {
		lo, hi = min(lo, a.RecordsPerSec), max(hi, a.RecordsPerSec)
	}
	if len(s.PerAgent) == 1 {
		return doc.Num(lo)
	}
	return doc.Num(lo) + "-" + doc.Num(hi)
}
