package consume

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/kpar/kpar/internal/clock"
	"github.com/kpar/kpar/internal/results"
	"github.com/kpar/kpar/parallel"
)

// Kind is this result's schema, the version this kpar writes and its data
// file. Version 6: a Measurement's fetch_max_bytes is the client's at the
// n-th record (the library's fetch size adapts), and the plain loop "with
// kpar's fetch size" reads with kpar's size of the same repeat, so
// same_fetch_bytes is the first repeat's.
var Kind = results.Kind{Schema: "kpar.bench.consume", Version: 6, File: "consume.json"}

// The targets, as shares: the io run's rate against the ideal, the no-op
// run's rate against the faster plain loop of the same repeat.
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
	// Repeat is the repeats asked for (--repeat); MinWindowS the shortest
	// measured window accepted (--min-window), in seconds.
	Repeat     int     `json:"repeat"`
	MinWindowS float64 `json:"min_window_s"`
	IO         *IO     `json:"io,omitempty"`
	CPU        *CPU    `json:"cpu_light,omitempty"`
	// Calibration is set when the cpu runs were sized by one (--cpu-records 0).
	Calibration *Calibration `json:"calibration,omitempty"`
	RSS         *RSS         `json:"rss,omitempty"`
	Note        string       `json:"note"`
}

// IO is the I/O-bound run against its ideal, repeated.
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
	Transactional    bool    `json:"transactional,omitempty"`
	CommitIntervalMs float64 `json:"commit_interval_ms"`
	// IdealPerS is lanes / sleep, lanes = min(concurrency, keys or
	// partitions); Lanes and LanesBy say which bound set it.
	IdealPerS float64    `json:"ideal_per_s"`
	Lanes     int        `json:"lanes"`
	LanesBy   string     `json:"lanes_by"`
	Repeats   []IORepeat `json:"repeats"`
	// Rate and Efficiency are the median and range of the repeats' window
	// rates and of rate / IdealPerS.
	Rate       clock.Spread  `json:"records_per_s"`
	Efficiency clock.Spread  `json:"efficiency_vs_ideal"`
	Target     float64       `json:"target"` // IOTarget
	Verdict    clock.Verdict `json:"verdict"`
	// MedianRepeat is the index of the repeat with the median efficiency
	// (the lower middle of an even count); BoundBy is judged from its
	// figures.
	MedianRepeat int    `json:"median_repeat"`
	BoundBy      string `json:"bound_by"`
}

// IORepeat is one repeat of the io run.
type IORepeat struct {
	Result      Measurement `json:"result"`
	IdealMeasPS float64     `json:"ideal_measured_per_s"` // lanes / the measured mean handler time
	Efficiency  float64     `json:"efficiency_vs_ideal"`  // window rate / ideal_per_s
	CPUCores    float64     `json:"cpu_cores_used"`       // cpu seconds / seconds from start to the n-th record
	Met         bool        `json:"met"`                  // efficiency >= target
}

// Calibration is how the cpu runs were sized when --cpu-records was 0: the
// fastest contender's window rate over a small backlog, and the records
// chosen for a window of Margin x the minimum.
type Calibration struct {
	Records int64   `json:"records"`
	PerS    float64 `json:"records_per_s"`
	Margin  float64 `json:"margin"`
	Chosen  int64   `json:"chosen_records"`
	// Resized lists the larger counts the cpu runs restarted with when a
	// repeat ran faster than calibrated and its window came out short (the
	// calibration's small read can underrate a warm loop by 2x).
	Resized []int64 `json:"resized,omitempty"`
}

// CPU is the no-op run against plain franz-go poll loops, repeated with the
// contenders interleaved (kpar, plain with kpar's fetch size, plain with
// kgo's default, then again).
type CPU struct {
	Concurrency int `json:"concurrency"`
	// SameFetchBytes is the FetchMaxBytes of the first repeat's plain loop
	// that reads with kpar's fetch size (--fetch-max-bytes, or the size the
	// library's adaptive fetch reached in that repeat's kpar run: each
	// repeat's plain_same_fetch.fetch_max_bytes).
	SameFetchBytes int32       `json:"same_fetch_bytes"`
	Repeats        []CPURepeat `json:"repeats"`
	// Median and range over the repeats: each contender's window rate, and
	// the ratios computed pair by pair within each repeat.
	Parallel       clock.Spread `json:"parallel_per_s"`
	PlainSameFetch clock.Spread `json:"plain_same_fetch_per_s"`
	PlainDefault   clock.Spread `json:"plain_default_fetch_per_s"`
	RatioSame      clock.Spread `json:"ratio_same_fetch"`
	RatioDefault   clock.Spread `json:"ratio_default_fetch"`
	// Ratio is kpar against the faster plain loop of each repeat: the
	// conservative reference the target is judged on.
	Ratio   clock.Spread  `json:"ratio"`
	Target  float64       `json:"target"` // CPUTarget
	Verdict clock.Verdict `json:"verdict"`
}

// CPURepeat is one repeat: the three contenders run back to back.
type CPURepeat struct {
	Parallel       Measurement `json:"parallel"`
	PlainSameFetch Measurement `json:"plain_same_fetch"`
	PlainDefault   Measurement `json:"plain_default_fetch"`
	RatioSame      float64     `json:"ratio_same_fetch"`    // parallel / plain_same_fetch
	RatioDefault   float64     `json:"ratio_default_fetch"` // parallel / plain_default_fetch
	Ratio          float64     `json:"ratio"`               // parallel / the faster of the two
	Faster         string      `json:"faster_plain"`        // the faster plain loop's name
	Met            bool        `json:"met"`                 // ratio >= target
}

// newIO judges the io repeats ms of c on a machine with cpus cores.
func newIO(c Config, ms []Measurement, cpus int) *IO {
	io := &IO{Partitions: c.Partitions, Keys: c.Keys, Concurrency: c.Concurrency,
		SleepMs: float64(c.Sleep) / 1e6, Order: c.Order.String(), MaxBuffered: c.IOMaxBuffered, PerPart: c.IOPerPart,
		Transactional: c.Transactional, CommitIntervalMs: float64(c.CommitInterval) / 1e6}
	for _, m := range ms {
		io.Repeats = append(io.Repeats, IORepeat{Result: m})
	}
	io.judge(cpus)
	return io
}

// judge computes, from the settings and each repeat's measurement on a
// machine with cpus cores, the ideal, the efficiencies, the verdict over
// the repeats and, from the median repeat, what bounds the rate.
func (io *IO) judge(cpus int) {
	var order parallel.Order // a name it does not know judges as key order
	_ = order.UnmarshalText([]byte(io.Order))
	io.Lanes, io.LanesBy = io.Concurrency, "concurrency"
	if order == parallel.OrderKey && io.Keys < io.Lanes {
		io.Lanes, io.LanesBy = io.Keys, "keys"
	}
	if order == parallel.OrderPartition && io.Partitions < io.Lanes {
		io.Lanes, io.LanesBy = io.Partitions, "partitions"
	}
	io.IdealPerS, io.Target = float64(io.Lanes)/io.sleep().Seconds(), IOTarget
	var rates, effs []float64
	var met []bool
	for i := range io.Repeats {
		r := &io.Repeats[i]
		m := r.Result
		*r = IORepeat{Result: m, Efficiency: m.PerS() / io.IdealPerS}
		if m.MeanHandler > 0 {
			r.IdealMeasPS = float64(io.Lanes) / (m.MeanHandler / 1e3)
		}
		if m.Window.TotalS > 0 {
			r.CPUCores = m.CPUSeconds / m.Window.TotalS
		}
		r.Met = r.Efficiency >= IOTarget
		rates, effs, met = append(rates, m.PerS()), append(effs, r.Efficiency), append(met, r.Met)
	}
	io.Rate, io.Efficiency, io.Verdict = clock.SpreadOf(rates), clock.SpreadOf(effs), clock.Judge(met)
	if len(io.Repeats) == 0 {
		return
	}
	io.MedianRepeat = medianIndex(effs)
	r := io.Repeats[io.MedianRepeat]
	switch {
	case r.Met:
		io.BoundBy = io.LanesBy + " / handler latency (the ideal)"
	case r.CPUCores > cpuBound*float64(cpus):
		io.BoundBy = fmt.Sprintf("CPU (%.2f of %d cores busy)", r.CPUCores, cpus)
	case r.IdealMeasPS > 0 && r.Result.PerS() >= IOTarget*r.IdealMeasPS:
		io.BoundBy = fmt.Sprintf("handler latency: sleep(%v) takes %.2f ms here", io.sleep(), r.Result.MeanHandler)
	default:
		io.BoundBy = "neither CPU nor the ideal: fetch/dispatch latency"
	}
}

// medianIndex is the index of xs's median (the lower middle of an even
// count).
func medianIndex(xs []float64) int {
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return xs[idx[a]] < xs[idx[b]] })
	return idx[(len(idx)-1)/2]
}

// newCPU judges the cpu repeats reps of c.
func newCPU(c Config, sameFetch int32, reps []CPURepeat) *CPU {
	r := &CPU{Concurrency: c.CPUConcurrency, SameFetchBytes: sameFetch, Repeats: slices.Clone(reps)}
	r.judge()
	return r
}

// judge sets each repeat's no-op run against the plain loops of the same
// repeat, pair by pair, and judges the target over the repeats.
func (r *CPU) judge() {
	r.Target = CPUTarget
	var par, same, def, rs, rd, ra []float64
	var met []bool
	for i := range r.Repeats {
		rp := &r.Repeats[i]
		rp.RatioSame = clock.Ratio(rp.Parallel.PerS(), rp.PlainSameFetch.PerS())
		rp.RatioDefault = clock.Ratio(rp.Parallel.PerS(), rp.PlainDefault.PerS())
		faster := rp.PlainDefault
		if rp.PlainSameFetch.PerS() > faster.PerS() {
			faster = rp.PlainSameFetch
		}
		rp.Faster, rp.Ratio = faster.Name, clock.Ratio(rp.Parallel.PerS(), faster.PerS())
		rp.Met = rp.Ratio >= CPUTarget
		par, same, def = append(par, rp.Parallel.PerS()), append(same, rp.PlainSameFetch.PerS()), append(def, rp.PlainDefault.PerS())
		rs, rd, ra, met = append(rs, rp.RatioSame), append(rd, rp.RatioDefault), append(ra, rp.Ratio), append(met, rp.Met)
	}
	r.Parallel, r.PlainSameFetch, r.PlainDefault = clock.SpreadOf(par), clock.SpreadOf(same), clock.SpreadOf(def)
	r.RatioSame, r.RatioDefault, r.Ratio = clock.SpreadOf(rs), clock.SpreadOf(rd), clock.SpreadOf(ra)
	r.Verdict = clock.Judge(met)
}

// sleep is the io run's handler latency as a duration.
func (io *IO) sleep() time.Duration { return time.Duration(io.SleepMs * 1e6) }

// Rejudge recomputes every derived figure and verdict of r from its
// measurements (the ideal, efficiencies, ratios, spreads, targets, "bound
// by"), so a reader such as the report never repeats a stored verdict that
// the data beside it contradicts.
func Rejudge(r Result) Result {
	if r.IO != nil {
		io := *r.IO
		io.Repeats = slices.Clone(io.Repeats)
		io.judge(r.CPUs)
		r.IO = &io
	}
	if r.CPU != nil {
		cp := *r.CPU
		cp.Repeats = slices.Clone(cp.Repeats)
		cp.judge()
		r.CPU = &cp
	}
	return r
}
