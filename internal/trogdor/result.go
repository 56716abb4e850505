package trogdor

import (
	"github.com/kpar/kpar/internal/results"
)

// Schema and SchemaVersion name the sweep's result file.
const (
	Schema        = "kpar.bench.trogdor"
	SchemaVersion = 1
	DataFile      = "trogdor.json"
)

// SaturationGain is the least relative gain in aggregate records/s the
// next step must add; below it the sweep has saturated (the producer
// sweep's rule, internal/bench/produce).
const SaturationGain = 0.10

// Result is one distributed produce sweep.
type Result struct {
	results.Header
	TrogdorVersion string   `json:"trogdor_version"`
	Settings       Settings `json:"settings"` // every agent's, and the calibration's
	Topic          string   `json:"topic"`
	Partitions     int      `json:"partitions"`
	Records        int64    `json:"records_per_agent"`
	WarmupRecords  int64    `json:"warmup_records_per_agent"` // sent by every agent before the first step, not measured
	AgentBootstrap string   `json:"agent_bootstrap"`
	// SharedHost: every agent ran on this one host (kpar trogdor up), so
	// the steps share its cores with each other (and with the broker when
	// it is local).
	SharedHost bool       `json:"shared_host"`
	Seed       int64      `json:"seed"`
	Steps      []Step     `json:"steps"`
	Saturation Saturation `json:"saturation"`
	// Kpar is the calibration: one in-process kpar (franz-go) producer with
	// the same settings and record count, run right after the 1-agent step.
	Kpar *KparRun `json:"kpar,omitempty"`
	// KparPerTrogdor is Kpar's records/s over the 1-agent step's agent's.
	KparPerTrogdor float64 `json:"kpar_per_trogdor,omitempty"`
}

// Step is one step: Agents agents, each sending Records records.
type Step struct {
	Agents   int        `json:"agents"`
	PerAgent []AgentRun `json:"per_agent"`
	Records  int64      `json:"records"` // the agents' totalSent, summed
	Written  int64      `json:"written"` // the topic's end offsets grew by this much
	// SpanMs runs from the first agent's worker start to the last one's
	// end (agent clocks; on one host one clock).
	SpanMs        int64   `json:"span_ms"`
	RecordsPerSec float64 `json:"records_per_sec"` // Records / SpanMs
	MBPerSec      float64 `json:"mb_per_sec"`      // value bytes, 10^6 per MB
	// WorstP99Ms is the highest p99 latency of any agent: Trogdor reports
	// percentiles per agent, which do not merge into a step's percentile.
	WorstP99Ms int `json:"worst_p99_ms"`
}

// AgentRun is one agent's worker in one step, as the agent reported it.
// Its span includes the worker's setup (an admin client checking the topic,
// the producer's start) and its close.
type AgentRun struct {
	Node          string  `json:"node"`
	Records       int64   `json:"records"` // Trogdor's totalSent: send callbacks completed
	StartedMs     int64   `json:"started_ms"`
	DoneMs        int64   `json:"done_ms"`
	RecordsPerSec float64 `json:"records_per_sec"`
	MBPerSec      float64 `json:"mb_per_sec"`
	AvgLatencyMs  float64 `json:"avg_latency_ms"`
	P50LatencyMs  int     `json:"p50_latency_ms"`
	P95LatencyMs  int     `json:"p95_latency_ms"`
	P99LatencyMs  int     `json:"p99_latency_ms"`
}

// KparRun is the calibration's kpar producer: from client creation to its
// close after the last acknowledgement, the span Trogdor's worker has.
type KparRun struct {
	Records       int64   `json:"records"` // acknowledged without error
	Written       int64   `json:"written"`
	Ms            int64   `json:"ms"`
	RecordsPerSec float64 `json:"records_per_sec"`
	MBPerSec      float64 `json:"mb_per_sec"`
	AvgLatencyMs  float64 `json:"avg_latency_ms"`
	P50LatencyMs  float64 `json:"p50_latency_ms"`
	P95LatencyMs  float64 `json:"p95_latency_ms"`
	P99LatencyMs  float64 `json:"p99_latency_ms"`
}

// Saturation names where adding agents stopped adding throughput.
type Saturation struct {
	Reached bool `json:"reached"`
	// Agents is the step after which the next added less than
	// SaturationGain (when Reached), else the largest step.
	Agents     int     `json:"agents"`
	NextAgents int     `json:"next_agents,omitempty"`
	Gain       float64 `json:"gain"` // the next step's relative gain (Reached), or the last step's
	Threshold  float64 `json:"threshold"`
}

func rate(records, ms int64) float64 {
	if ms <= 0 {
		return 0
	}
	return float64(records) / (float64(ms) / 1000)
}

// fill computes the step's figures from its agents' runs.
func (s *Step) fill(recordBytes int) {
	s.Records, s.WorstP99Ms = 0, 0
	var first, last int64
	for i := range s.PerAgent {
		a := &s.PerAgent[i]
		a.RecordsPerSec = rate(a.Records, a.DoneMs-a.StartedMs)
		a.MBPerSec = a.RecordsPerSec * float64(recordBytes) / 1e6
		s.Records += a.Records
		if i == 0 || a.StartedMs < first {
			first = a.StartedMs
		}
		last = max(last, a.DoneMs)
		s.WorstP99Ms = max(s.WorstP99Ms, a.P99LatencyMs)
	}
	s.SpanMs = last - first
	s.RecordsPerSec = rate(s.Records, s.SpanMs)
	s.MBPerSec = s.RecordsPerSec * float64(recordBytes) / 1e6
}

// FindSaturation scans steps in agent order: the first step that adds less
// than SaturationGain to the one before marks the one before as the
// saturation point.
func FindSaturation(steps []Step) Saturation {
	sat := Saturation{Threshold: SaturationGain}
	if len(steps) == 0 {
		return sat
	}
	for i := 1; i < len(steps); i++ {
		prev := steps[i-1].RecordsPerSec
		if prev <= 0 {
			continue
		}
		gain := steps[i].RecordsPerSec/prev - 1
		if gain < SaturationGain {
			sat.Reached, sat.Agents, sat.NextAgents, sat.Gain = true, steps[i-1].Agents, steps[i].Agents, gain
			return sat
		}
		sat.Gain = gain
	}
	sat.Agents = steps[len(steps)-1].Agents
	return sat
}

// Analyze computes the saturation point and the calibration ratio.
func (r *Result) Analyze() {
	r.Saturation = FindSaturation(r.Steps)
	r.KparPerTrogdor = 0
	if r.Kpar != nil {
		for _, s := range r.Steps {
			if s.Agents == 1 && len(s.PerAgent) == 1 && s.PerAgent[0].RecordsPerSec > 0 {
				r.KparPerTrogdor = r.Kpar.RecordsPerSec / s.PerAgent[0].RecordsPerSec
			}
		}
	}
}
