package consume

import (
	"fmt"
	"time"

	"github.com/kpar/kpar/internal/results"
	"github.com/kpar/kpar/parallel"
)

// Schema names the result data; Version changes whenever a field changes
// meaning or disappears. Version 4: the header is results.Header (schema
// "kpar.bench.consume", version 4, command, started, finished), in place of
// the v3 "kpar.bench.consume/v3" string; io and cpu_light carry their
// target and verdict, io its buffer bounds, cpu_light its concurrency.
const (
	Schema  = "kpar.bench.consume"
	Version = 4
	// DataFile is the name of the data file in --out.
	DataFile = "consume.json"
)

// The targets, as shares: the io run's steady rate against the ideal, the
// no-op run's rate against the faster plain loop.
const (
	IOTarget  = 0.9
	CPUTarget = 0.7
	// cpuBound is the share of the machine's cores busy above which the io
	// run counts as CPU-bound.
	cpuBound = 0.8
)

// Result is everything one `kpar bench consume` run measured.
type Result struct {
	results.Header
	Brokers []string `json:"brokers"`
	CPUs    int      `json:"cpus"`
	IO      *IO      `json:"io,omitempty"`
	CPU     *CPU     `json:"cpu_light,omitempty"`
	RSS     *RSS     `json:"rss,omitempty"`
	Note    string   `json:"note"`
}

// IO is the I/O-bound run against its ideal.
type IO struct {
	Partitions  int     `json:"partitions"`
	Keys        int     `json:"keys"`
	Concurrency int     `json:"concurrency"`
	SleepMs     float64 `json:"sleep_ms"`
	Order       string  `json:"order"`
	MaxBuffered int     `json:"max_buffered"`
	PerPart     int     `json:"max_buffered_per_partition"`
	// Transactional: parallel.NewTransform, one output per record written
	// in the transactions that commit them; CommitIntervalMs its
	// CommitInterval (0: back to back).
	Transactional    bool        `json:"transactional,omitempty"`
	CommitIntervalMs float64     `json:"commit_interval_ms"`
	Result           Measurement `json:"result"`
	IdealPerS        float64     `json:"ideal_per_s"`          // lanes / sleep, lanes = min(concurrency, keys or partitions)
	IdealMeasPS      float64     `json:"ideal_measured_per_s"` // same with the measured mean handler time
	Efficiency       float64     `json:"efficiency_vs_ideal"`  // rate / ideal_per_s, whole run
	// SteadyEfficiency is the rate from the first record on over the ideal:
	// the ideal is a steady-state rate, the group join a one-off cost.
	SteadyEfficiency float64 `json:"steady_efficiency_vs_ideal"`
	CPUCores         float64 `json:"cpu_cores_used"` // cpu seconds / wall seconds
	BoundBy          string  `json:"bound_by"`
	Target           float64 `json:"target"`       // IOTarget
	MeetsTarget      bool    `json:"meets_target"` // steady_efficiency_vs_ideal >= target
}

// CPU is the no-op run against a plain franz-go poll loop.
type CPU struct {
	Concurrency int         `json:"concurrency"`
	Parallel    Measurement `json:"parallel"`
	// Plain is the faster of the two plain loops: with kgo's default
	// FetchMaxBytes (PlainDefault) and with the parallel run's
	// (PlainSameFetch). Ratio is against it: the conservative reference.
	Plain          Measurement `json:"plain"`
	PlainDefault   Measurement `json:"plain_default_fetch"`
	PlainSameFetch Measurement `json:"plain_same_fetch"`
	Ratio          float64     `json:"ratio"`
	Target         float64     `json:"target"`       // CPUTarget
	MeetsTarget    bool        `json:"meets_target"` // ratio >= target
}

// newIO judges the io measurement m of c on a machine with cpus cores: the
// ideal, the efficiencies, the target and what bounds the rate.
func newIO(c Config, m Measurement, cpus int) *IO {
	lanes, bound := c.Concurrency, "concurrency"
	if c.Order == parallel.OrderKey && c.Keys < lanes {
		lanes, bound = c.Keys, "keys"
	}
	if c.Order == parallel.OrderPartition && c.Partitions < lanes {
		lanes, bound = c.Partitions, "partitions"
	}
	io := &IO{Partitions: c.Partitions, Keys: c.Keys, Concurrency: c.Concurrency,
		SleepMs: float64(c.Sleep) / 1e6, Order: c.Order.String(), MaxBuffered: c.IOMaxBuffered, PerPart: c.IOPerPart,
		Transactional: c.Transactional, CommitIntervalMs: float64(c.CommitInterval) / 1e6,
		Result: m, IdealPerS: float64(lanes) / c.Sleep.Seconds(), Target: IOTarget}
	if m.MeanHandler > 0 {
		io.IdealMeasPS = float64(lanes) / (m.MeanHandler / 1e3)
	}
	if m.Seconds > 0 {
		io.CPUCores = m.CPUSeconds / m.Seconds
	}
	io.Efficiency = m.RecordsPerS / io.IdealPerS
	io.SteadyEfficiency = m.SteadyPerS / io.IdealPerS
	io.MeetsTarget = io.SteadyEfficiency >= IOTarget
	switch {
	case io.MeetsTarget:
		io.BoundBy = bound + " / handler latency (the ideal)"
	case io.CPUCores > cpuBound*float64(cpus):
		io.BoundBy = fmt.Sprintf("CPU (%.2f of %d cores busy)", io.CPUCores, cpus)
	case io.IdealMeasPS > 0 && m.SteadyPerS >= IOTarget*io.IdealMeasPS:
		io.BoundBy = fmt.Sprintf("handler latency: sleep(%v) takes %.2f ms here", c.Sleep, m.MeanHandler)
	default:
		io.BoundBy = "neither CPU nor the ideal: fetch/dispatch latency"
	}
	return io
}

// newCPU sets the no-op run par against the faster plain loop.
func newCPU(c Config, par, plainDefault, plainSameFetch Measurement) *CPU {
	plain := plainDefault
	if plainSameFetch.RecordsPerS > plain.RecordsPerS {
		plain = plainSameFetch
	}
	r := &CPU{Concurrency: c.CPUConcurrency, Parallel: par, Plain: plain, PlainDefault: plainDefault,
		PlainSameFetch: plainSameFetch, Target: CPUTarget}
	if plain.RecordsPerS > 0 {
		r.Ratio = par.RecordsPerS / plain.RecordsPerS
	}
	r.MeetsTarget = r.Ratio >= CPUTarget
	return r
}

// sleep is the io run's handler latency as a duration.
func (io *IO) sleep() time.Duration { return time.Duration(io.SleepMs * 1e6) }
