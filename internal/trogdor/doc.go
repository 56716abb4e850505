package trogdor

import (
	"fmt"

	"github.com/kpar/kpar/internal/doc"
)

// Doc is what a sweep says, computed once from r: the host the agents
// shared, where each curve saturated and what limited the agents, sends
// Trogdor counted that never landed, and the calibration; the chart of
// both curves and the steps in the body, every agent in the details.
func Doc(r Result) doc.Doc {
	d := doc.Doc{Name: "trogdor", Title: fmt.Sprintf("Distributed %s sweep (Apache Kafka Trogdor %s)", r.Workload, r.TrogdorVersion), Command: r.Command, Answer: findings(r)}
	steps := &doc.Table{Head: []string{"agents", "records/s", "MB/s", "per agent records/s", "span ms", "worst p99 ms", "records", "written", "in-process kpar records/s", "in-process p99 ms"},
		Num: []bool{true, true, true, true, true, true, true, true, true, true}}
	for _, s := range r.Steps {
		in, inP99 := "-", "-"
		if k := s.InProcess; k != nil {
			in = doc.Num(k.RecordsPerSec)
			if k.Latency != nil {
				inP99 = doc.F1(k.Latency.P99Ms)
			}
		}
		written := doc.I64(s.Written)
		if r.Workload == Consume {
			written = "-"
		}
		steps.Rows = append(steps.Rows, []string{doc.Int(s.Agents), doc.Num(s.RecordsPerSec), doc.F2(s.MBPerSec), perAgent(s), doc.I64(s.SpanMs),
			optF1(s.WorstP99Ms), doc.I64(s.Records), written, in, inP99})
	}
	d.Body = []doc.Block{{Text: []string{intro(r)}}}
	if c := Chart(r); c != nil {
		d.Body = append(d.Body, doc.Block{Chart: c})
	}
	d.Body = append(d.Body, doc.Block{Title: "Steps", Table: steps})
	agents := &doc.Table{Head: []string{"step", "agent", "records/s", "MB/s", "avg ms", "p50 ms", "p95 ms", "p99 ms"},
		Num: []bool{true, false, true, true, true, true, true, true}}
	for _, s := range r.Steps {
		for _, a := range s.PerAgent {
			row := []string{doc.Int(s.Agents), a.Node, doc.Num(a.RecordsPerSec), doc.F2(a.MBPerSec), "-", "-", "-", "-"}
			if l := a.Latency; l != nil {
				row[4], row[5], row[6], row[7] = doc.F1(l.AvgMs), doc.F1(l.P50Ms), doc.F1(l.P95Ms), doc.F1(l.P99Ms)
			}
			agents.Rows = append(agents.Rows, row)
		}
	}
	d.Details = []doc.Block{{Title: "Every agent", Table: agents, Text: []string{latencyNote(r.Workload)}}}
	return d
}

// Chart is the agents' records/s by step beside the in-process kpar
// clients' (when measured): one run, one broker, the same settings.
func Chart(r Result) *doc.Chart {
	if len(r.Steps) == 0 {
		return nil
	}
	c := &doc.Chart{Name: "trogdor-" + string(r.Workload), Title: fmt.Sprintf("%s: Trogdor agents vs kpar clients in one process", r.Workload), Kind: doc.Line,
		X: doc.Axis{Label: "agents (in-process: clients)", Log: true}, Y: doc.Axis{Label: "records/s"}}
	n, agents, in := curves(r.Steps)
	x := make([]float64, len(n))
	for i, v := range n {
		x[i] = float64(v)
	}
	c.Series = append(c.Series, doc.Series{Name: "agents (Trogdor " + r.TrogdorVersion + ")", X: x, Y: agents})
	if in != nil {
		c.Series = append(c.Series, doc.Series{Name: "in-process kpar", X: x, Y: in, Dashed: true})
	}
	return c
}

func intro(r Result) string {
	what := fmt.Sprintf("%s records per agent per step", doc.I64(r.Records))
	switch r.Workload {
	case Consume:
		what = fmt.Sprintf("every step reads the same %s records (%d agent(s) wrote %s each first), the partitions split among its agents, each agent a consumer of its own group; spans are kpar's clock, from posting the tasks to the group's commit of the last record (commits every 100 ms)",
			doc.I64(r.FillRecords), r.FillAgents, doc.I64(r.Records))
	case RoundTrip:
		what += ", each agent on a topic of its own, reading every record back (spans include both)"
	}
	in := "No in-process side: kpar has no round-trip client."
	if _, _, curve := curves(r.Steps); curve != nil {
		in = "In-process kpar: right after each N-agent step, N franz-go clients in this one process with the same settings and records."
	} else if r.Workload != RoundTrip {
		in = "No in-process side (run without --calibrate)."
	}
	return fmt.Sprintf("Topic `%s` (%s), %s, agents bootstrap `%s`. Settings: %s. "+
		"Agent spans include the worker's setup (clients, topic check) and close; MB are 10^6 value bytes. %s",
		r.Topic, doc.Plural(r.Partitions, "partition", "partitions"), what, r.AgentBootstrap, r.Settings.Label(), in)
}

func latencyNote(w Workload) string {
	switch w {
	case Consume:
		return "No consume latency: Trogdor's consume worker publishes its status only when it ends, a minute after it starts whatever it read; kpar stops it once its group's commits reach the end of its share, and counts from those commits."
	case RoundTrip:
		return "Trogdor's round trip reports no latency."
	}
	return "Produce latency is send to acknowledgement (Trogdor's per agent; kpar's over every in-process record)."
}

// findings are the sentences a sweep supports, each computed from the
// figures in it.
func findings(r Result) []doc.Finding {
	var out []doc.Finding
	if r.SharedHost {
		with := ""
		if r.InProcessSaturation != nil {
			with = ", as did kpar's in-process clients"
		}
		out = append(out, doc.Say("Every agent ran on this one host (%s)%s: the agents had no host of their own, so the curve measures this host as much as the cluster.", cores(r), with))
	}
	out = append(out, saturation("Agents", r.Saturation, len(r.Steps)))
	if s := r.InProcessSaturation; s != nil {
		out = append(out, saturation("In-process kpar clients", *s, len(r.Steps)))
		last := r.Steps[len(r.Steps)-1]
		if last.RecordsPerSec > 0 {
			out = append(out, doc.Say("At %d: %.0f records/s from the agents, %.0f from as many kpar clients in one process (%.2f times).",
				last.Agents, last.RecordsPerSec, last.InProcess.RecordsPerSec, last.InProcess.RecordsPerSec/last.RecordsPerSec))
		}
	}
	if b := r.Bottleneck; b.Kind != "" {
		out = append(out, doc.Say("Bottleneck at %d agent(s), judged from CPU shares: %s (%s).", b.Agents, b.Kind, b.Reason))
	}
	for _, s := range r.Steps {
		if r.Workload != Consume && s.Written < s.Records {
			out = append(out, doc.Say("Step %d: the agents reported %d records but the topic grew by %d (Trogdor counts failed sends as sent).", s.Agents, s.Records, s.Written))
		}
	}
	if r.KparPerTrogdor > 0 {
		out = append(out, doc.Say("Calibration: one kpar (franz-go) client did %.0f records/s where one Trogdor agent did %.0f with the same settings: kpar's figure is %.2f times Trogdor's.",
			r.Steps[0].InProcess.RecordsPerSec, r.Steps[0].InProcess.RecordsPerSec/r.KparPerTrogdor, r.KparPerTrogdor))
	}
	return out
}

func saturation(who string, sat Saturation, steps int) doc.Finding {
	switch {
	case steps < 2:
		return doc.Say("%s: one step only, no saturation point without a second.", who)
	case sat.Reached:
		return doc.Say("%s saturated at %d: going to %d added %+.1f%% records/s (threshold %.0f%%).", who, sat.Agents, sat.NextAgents, 100*sat.Gain, 100*sat.Threshold)
	}
	return doc.Say("%s: not saturated up to %d, the last step added %+.1f%% records/s (threshold %.0f%%).", who, sat.Agents, 100*sat.Gain, 100*sat.Threshold)
}

func cores(r Result) string {
	if r.Machine == nil || r.Machine.Cores == 0 {
		return "cores unknown"
	}
	return fmt.Sprintf("%d cores", r.Machine.Cores)
}

func optF1(v *float64) string {
	if v == nil {
		return "-"
	}
	return doc.F1(*v)
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
