package trogdor

import (
	"fmt"
	"slices"

	"github.com/kpar/kpar/internal/results"
)

// Kind is this result's schema, the version this kpar writes and its data
// file. Version 2: the workload, in-process kpar clients in every step
// (Step.InProcess), latency absent where Trogdor reports none, per-step CPU
// and a bottleneck.
var Kind = results.Kind{Schema: "kpar.bench.trogdor", Version: 2, File: "trogdor.json"}

// SaturationGain is the least relative gain in aggregate records/s the
// next step must add; below it the sweep has saturated (the producer
// sweep's rule, internal/bench/produce).
const SaturationGain = 0.10

// Result is one distributed sweep.
type Result struct {
	results.Header
	TrogdorVersion string   `json:"trogdor_version"`
	Workload       Workload `json:"workload"`
	Settings       Settings `json:"settings"` // every agent's, and the in-process clients'
	Topic          string   `json:"topic"`
	Partitions     int      `json:"partitions"`
	// Records is what each agent sends per step (produce, roundtrip) or
	// sent into the topic before the steps (consume: FillAgents agents).
	Records       int64 `json:"records_per_agent"`
	WarmupRecords int64 `json:"warmup_records_per_agent"` // sent by every agent before the first step, not measured
	// FillRecords is what every consume step reads: the records the fill
	// wrote (FillAgents x Records); 0 for the other workloads.
	FillRecords    int64  `json:"fill_records,omitempty"`
	FillAgents     int    `json:"fill_agents,omitempty"`
	AgentBootstrap string `json:"agent_bootstrap"`
	// SharedHost: every agent ran on this one host (kpar trogdor up), so
	// the steps share its cores with each other (and with the broker when
	// it is local).
	SharedHost bool       `json:"shared_host"`
	Seed       int64      `json:"seed"`
	Steps      []Step     `json:"steps"`
	Saturation Saturation `json:"saturation"` // of the agents' curve
	// InProcessSaturation is the in-process curve's, when it was measured.
	InProcessSaturation *Saturation `json:"in_process_saturation,omitempty"`
	// KparPerTrogdor is the 1-agent step's in-process records/s over its
	// agent's: the calibration (0 without a 1-agent step or in-process run).
	KparPerTrogdor float64    `json:"kpar_per_trogdor,omitempty"`
	Bottleneck     Bottleneck `json:"bottleneck"`
}

// Step is one step: Agents agents, each running the workload.
type Step struct {
	Agents   int        `json:"agents"`
	PerAgent []AgentRun `json:"per_agent"`
	// Records are the agents' counts summed: sent (produce), read
	// (consume), sent and read back (roundtrip).
	Records int64 `json:"records"`
	// Written is what the topics' end offsets grew by (produce, roundtrip;
	// 0 for consume, which writes nothing).
	Written int64 `json:"written"`
	// SpanMs runs from the first agent's start to the last one's end.
	SpanMs        int64   `json:"span_ms"`
	RecordsPerSec float64 `json:"records_per_sec"` // Records / SpanMs
	MBPerSec      float64 `json:"mb_per_sec"`      // value bytes, 10^6 per MB
	// WorstP99Ms is the highest p99 of any agent (nil: no latency
	// reported): Trogdor reports percentiles per agent, which do not merge.
	WorstP99Ms *float64 `json:"worst_p99_ms,omitempty"`
	CPU        *CPU     `json:"cpu,omitempty"`
	// InProcess is Agents kpar (franz-go) clients in this one process, run
	// right after the agents with the same settings and records.
	InProcess *KparRun `json:"in_process,omitempty"`
}

// Latency is one client's latency as reported: produce, send to
// acknowledgement.
type Latency struct {
	AvgMs float64 `json:"avg_ms"`
	P50Ms float64 `json:"p50_ms"`
	P95Ms float64 `json:"p95_ms"`
	P99Ms float64 `json:"p99_ms"`
}

// AgentRun is one agent's worker in one step. Produce and roundtrip spans
// are the agent's (worker start to end, its setup and close included);
// consume spans are kpar's clock, from posting the task to the group's
// committed offsets reaching the last record (committed every 100 ms), and
// its Records are those committed offsets' advance.
type AgentRun struct {
	Node          string   `json:"node"`
	Records       int64    `json:"records"`
	StartedMs     int64    `json:"started_ms"`
	DoneMs        int64    `json:"done_ms"`
	RecordsPerSec float64  `json:"records_per_sec"`
	MBPerSec      float64  `json:"mb_per_sec"`
	Latency       *Latency `json:"latency,omitempty"` // nil: none reported (consume, roundtrip)
}

// KparRun is a step's in-process kpar clients: from the first client's
// creation to the last one's close.
type KparRun struct {
	Clients       int      `json:"clients"`
	Records       int64    `json:"records"` // acknowledged (produce) or read (consume)
	Written       int64    `json:"written"` // the topic grew by (produce)
	Ms            int64    `json:"ms"`
	RecordsPerSec float64  `json:"records_per_sec"`
	MBPerSec      float64  `json:"mb_per_sec"`
	Latency       *Latency `json:"latency,omitempty"` // produce: send to acknowledgement, every record
}

// CPU is what the step's processes used on average over its wall time
// (kpar's clock, posting to the last task done): nil where unknown.
type CPU struct {
	WallMs      int64    `json:"wall_ms"`
	BrokerCores *float64 `json:"broker_cores,omitempty"` // the broker JVMs kpar started
	AgentCores  *float64 `json:"agent_cores,omitempty"`  // the step's agent JVMs, when on this host
	// MachineCores is the whole host's busy CPU, every process's (other
	// load included), read from /proc/stat.
	MachineCores *float64 `json:"machine_cores,omitempty"`
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
	s.Records, s.WorstP99Ms = 0, nil
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
		if a.Latency != nil && (s.WorstP99Ms == nil || a.Latency.P99Ms > *s.WorstP99Ms) {
			p := a.Latency.P99Ms
			s.WorstP99Ms = &p
		}
	}
	s.SpanMs = last - first
	s.RecordsPerSec = rate(s.Records, s.SpanMs)
	s.MBPerSec = s.RecordsPerSec * float64(recordBytes) / 1e6
}

// FindSaturation scans the curve (agents or clients, records/s) in order:
// the first point that adds less than SaturationGain to the one before
// marks the one before as the saturation point.
func FindSaturation(n []int, rps []float64) Saturation {
	sat := Saturation{Threshold: SaturationGain}
	if len(n) == 0 {
		return sat
	}
	for i := 1; i < len(n); i++ {
		if rps[i-1] <= 0 {
			continue
		}
		gain := rps[i]/rps[i-1] - 1
		if gain < SaturationGain {
			sat.Reached, sat.Agents, sat.NextAgents, sat.Gain = true, n[i-1], n[i], gain
			return sat
		}
		sat.Gain = gain
	}
	sat.Agents = n[len(n)-1]
	return sat
}

// curves are the agents' and the in-process records/s by step (in is nil
// unless every step has an in-process run).
func curves(steps []Step) (n []int, agents, in []float64) {
	for _, s := range steps {
		n, agents = append(n, s.Agents), append(agents, s.RecordsPerSec)
		if s.InProcess != nil {
			in = append(in, s.InProcess.RecordsPerSec)
		}
	}
	if len(in) != len(n) {
		in = nil
	}
	return n, agents, in
}

// Analyze computes the saturation points, the calibration ratio and the
// bottleneck.
func (r *Result) Analyze() {
	n, agents, in := curves(r.Steps)
	r.Saturation = FindSaturation(n, agents)
	r.InProcessSaturation = nil
	if in != nil {
		s := FindSaturation(n, in)
		r.InProcessSaturation = &s
	}
	r.KparPerTrogdor = 0
	if i := slices.IndexFunc(r.Steps, func(s Step) bool { return s.Agents == 1 }); i >= 0 {
		s := r.Steps[i]
		if s.InProcess != nil && len(s.PerAgent) == 1 && s.PerAgent[0].RecordsPerSec > 0 {
			r.KparPerTrogdor = s.InProcess.RecordsPerSec / s.PerAgent[0].RecordsPerSec
		}
	}
	cores := 0
	if r.Machine != nil {
		cores = r.Machine.Cores
	}
	r.Bottleneck = FindBottleneck(r.Steps, r.Saturation, cores, r.SharedHost)
}

// Bottleneck is a best guess at what limits the agents' curve, from the
// CPU the broker and the agents used at the judged step.
type Bottleneck struct {
	Kind   string `json:"kind"` // "host-cpu", "host-load", "broker-cpu", "agent-cpu", "elsewhere", "unknown"
	Reason string `json:"reason"`
	Agents int    `json:"agents"` // the step judged
}

// FindBottleneck judges the saturation step (or the largest one) on a host
// of cores CPUs. A heuristic from CPU shares, stated as such in its reason.
func FindBottleneck(steps []Step, sat Saturation, cores int, shared bool) Bottleneck {
	i := slices.IndexFunc(steps, func(s Step) bool { return s.Agents == sat.Agents })
	if i < 0 || steps[i].CPU == nil || cores <= 0 {
		return Bottleneck{Kind: "unknown", Reason: "no CPU figures for the step judged", Agents: sat.Agents}
	}
	s, c := steps[i], float64(cores)
	b := Bottleneck{Agents: s.Agents}
	br, ag, all := s.CPU.BrokerCores, s.CPU.AgentCores, s.CPU.MachineCores
	ours := 0.0
	for _, v := range []*float64{br, ag} {
		if v != nil {
			ours += *v
		}
	}
	switch {
	case shared && all != nil && *all >= 0.85*c && ours < 0.85*c:
		b.Kind, b.Reason = "host-load", fmt.Sprintf("the host's CPUs were %.2f of %d cores busy, broker %s and agents %s of them: other processes took %.2f", *all, cores, cores2(br), cores2(ag), max(0, *all-ours))
	case br == nil && ag == nil:
		b.Kind, b.Reason = "unknown", "neither the broker's nor the agents' CPU is known (not processes kpar started on this host)"
	case shared && br != nil && ag != nil && *br+*ag >= 0.85*c:
		side := map[bool]string{false: "the broker", true: "the agents"}[*ag > *br]
		b.Kind, b.Reason = "host-cpu", fmt.Sprintf("broker %.2f + agents %.2f cores of %d: the host's CPUs are full and %s use more of them", *br, *ag, cores, side)
	case br != nil && *br >= 0.7*c:
		b.Kind, b.Reason = "broker-cpu", fmt.Sprintf("the broker used %.2f of %d cores", *br, cores)
	case ag != nil && *ag >= 0.7*c:
		b.Kind, b.Reason = "agent-cpu", fmt.Sprintf("the agents used %.2f of %d cores", *ag, cores)
	default:
		b.Kind, b.Reason = "elsewhere", fmt.Sprintf("CPU to spare (broker %s, agents %s of %d cores): by elimination something the sweep does not measure (round trips: linger, in-flight limit, acks; the disk; the clients' start-up within short steps)", cores2(br), cores2(ag), cores)
	}
	return b
}

func cores2(v *float64) string {
	if v == nil {
		return "unknown"
	}
	return fmt.Sprintf("%.2f", *v)
}
