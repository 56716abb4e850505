package trogdor

import (
	"fmt"
	"strings"

	"github.com/kpar/kpar/internal/results"
)

// Findings are the sentences a sweep supports, each computed from the
// figures in it.
func Findings(r Result) []string {
	var out []string
	if r.SharedHost {
		out = append(out, fmt.Sprintf("Every agent ran on this one host (%s): the steps share its cores, so the curve measures this host as much as the cluster.", cores(r)))
	}
	sat := r.Saturation
	switch {
	case len(r.Steps) < 2:
		out = append(out, "One step only: no saturation point without a second.")
	case sat.Reached:
		out = append(out, fmt.Sprintf("Saturated at %d agent(s): going to %d added %+.1f%% records/s (threshold %.0f%%).",
			sat.Agents, sat.NextAgents, 100*sat.Gain, 100*sat.Threshold))
	default:
		out = append(out, fmt.Sprintf("Not saturated up to %d agents: the last step added %+.1f%% records/s (threshold %.0f%%).",
			sat.Agents, 100*sat.Gain, 100*sat.Threshold))
	}
	for _, s := range r.Steps {
		if s.Written != s.Records {
			out = append(out, fmt.Sprintf("Step %d: the agents reported %d records sent but the topic grew by %d (Trogdor counts failed sends as sent).", s.Agents, s.Records, s.Written))
		}
	}
	if r.Kpar != nil && r.KparPerTrogdor > 0 {
		out = append(out, fmt.Sprintf("Calibration: one kpar (franz-go) producer sent %.0f records/s where one Trogdor agent sent %.0f with the same settings: kpar's figure is %.2f times Trogdor's.",
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

// Text is the terminal view.
func Text(r Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Trogdor %s produce sweep on %s (%d partitions), %d records per agent per step\n", r.TrogdorVersion, r.Topic, r.Partitions, r.Records)
	fmt.Fprintf(&b, "settings: %s\n\n", r.Settings.Label())
	fmt.Fprintf(&b, "%-7s %12s %9s %14s %10s %12s\n", "agents", "records/s", "MB/s", "per agent", "worst p99", "written")
	for _, s := range r.Steps {
		fmt.Fprintf(&b, "%-7d %12.0f %9.1f %14s %8dms %12d\n", s.Agents, s.RecordsPerSec, s.MBPerSec, perAgent(s), s.WorstP99Ms, s.Written)
	}
	if k := r.Kpar; k != nil {
		fmt.Fprintf(&b, "%-7s %12.0f %9.1f %14s %8.0fms %12d\n", "kpar x1", k.RecordsPerSec, k.MBPerSec, "", k.P99LatencyMs, k.Written)
	}
	b.WriteString("\n")
	for _, f := range Findings(r) {
		b.WriteString(f + "\n")
	}
	return b.String()
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
		return fmt.Sprintf("%.0f", lo)
	}
	return fmt.Sprintf("%.0f-%.0f", lo, hi)
}

// Markdown is the file view: findings, the steps, every agent's figures.
func Markdown(r Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Distributed produce sweep (Apache Kafka Trogdor %s)\n\n", r.TrogdorVersion)
	if len(r.Command) > 0 {
		fmt.Fprintf(&b, "Command: `%s`\n\n", strings.Join(r.Command, " "))
	}
	fmt.Fprintf(&b, "Topic `%s` (%d partitions), %d records per agent per step, agents bootstrap `%s`. Settings: %s. Rates span each worker from its start (an admin client checking the topic, the producer's start) to its producer's close; MB are 10^6 value bytes.\n\n",
		r.Topic, r.Partitions, r.Records, r.AgentBootstrap, r.Settings.Label())
	for _, f := range Findings(r) {
		fmt.Fprintf(&b, "- %s\n", f)
	}
	b.WriteString("\n| agents | records/s | MB/s | span ms | worst p99 ms | sent | written |\n|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range r.Steps {
		fmt.Fprintf(&b, "| %d | %.0f | %.2f | %d | %d | %d | %d |\n", s.Agents, s.RecordsPerSec, s.MBPerSec, s.SpanMs, s.WorstP99Ms, s.Records, s.Written)
	}
	b.WriteString("\n| step | agent | records/s | MB/s | avg ms | p50 ms | p95 ms | p99 ms |\n|---:|---|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range r.Steps {
		for _, a := range s.PerAgent {
			fmt.Fprintf(&b, "| %d | %s | %.0f | %.2f | %.1f | %d | %d | %d |\n", s.Agents, a.Node, a.RecordsPerSec, a.MBPerSec, a.AvgLatencyMs, a.P50LatencyMs, a.P95LatencyMs, a.P99LatencyMs)
		}
	}
	if k := r.Kpar; k != nil {
		fmt.Fprintf(&b, "\nCalibration, one in-process kpar (franz-go) producer, same settings: %.0f records/s, %.2f MB/s, latency avg %.1f / p50 %.1f / p95 %.1f / p99 %.1f ms, %d written.\n",
			k.RecordsPerSec, k.MBPerSec, k.AvgLatencyMs, k.P50LatencyMs, k.P95LatencyMs, k.P99LatencyMs, k.Written)
	}
	return b.String()
}

// Views are the files written beside the data.
func Views(r Result) []results.View {
	return []results.View{{Name: "trogdor.md", Bytes: []byte(Markdown(r))}}
}
