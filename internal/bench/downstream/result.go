package downstream

import (
	"fmt"
	"math"

	"github.com/kpar/kpar/internal/clock"
	"github.com/kpar/kpar/internal/results"
)

// Kind is this result's schema, the version this kpar writes and its data
// file.
var Kind = results.Kind{Schema: "kpar.bench.downstream", Version: 1, File: "downstream.json"}

// Result is one bench run.
type Result struct {
	results.Header
	Config     ConfigData     `json:"config"`
	Contenders []Contender    `json:"contenders"`
	Runs       []ContenderRun `json:"runs"` // repeat by repeat, contenders in order
	Targets    []Target       `json:"targets"`
}

// ConfigData is the Config as it ran.
type ConfigData struct {
	Partitions    int     `json:"partitions"`
	Order         string  `json:"order"`
	Capacity      int     `json:"capacity"`
	BaseLatencyMs float64 `json:"base_latency_ms"`
	TimeoutMs     float64 `json:"timeout_ms"`
	SteadySec     float64 `json:"steady_s"`
	HalvedSec     float64 `json:"halved_s"`
	RecoveredSec  float64 `json:"recovered_s"`
	WarmupSec     float64 `json:"warmup_s"`
	SettleSec     float64 `json:"settle_s"`
	TickSec       float64 `json:"tick_s"`
	Attempts      int     `json:"attempts"`
	Repeat        int     `json:"repeat"`
}

func (c Config) data() ConfigData {
	return ConfigData{Partitions: c.Partitions, Order: c.Order.String(), Capacity: c.Capacity,
		BaseLatencyMs: ms(c.BaseLatency.Seconds()), TimeoutMs: ms(c.Timeout.Seconds()),
		SteadySec: c.Steady.Seconds(), HalvedSec: c.Halved.Seconds(), RecoveredSec: c.Recovered.Seconds(),
		WarmupSec: c.Warmup.Seconds(), SettleSec: c.Settle.Seconds(), TickSec: c.Tick.Seconds(),
		Attempts: c.Attempts, Repeat: c.Repeat}
}

func ms(s float64) float64 { return s * 1000 }

// ContenderRun is one contender's run of the three phases.
type ContenderRun struct {
	Contender    string   `json:"contender"`
	Repeat       int      `json:"repeat"`
	Phases       []Phase  `json:"phases"` // steady, halved, recovered
	Timeline     []Sample `json:"timeline"`
	Errors       uint64   `json:"errors"`  // downstream calls that timed out, whole run
	Retries      uint64   `json:"retries"` // the library's in-place retries, whole run
	DeadLettered uint64   `json:"dead_lettered"`
}

// Phase is one measured window.
type Phase struct {
	Name    string  `json:"name"`
	FromSec float64 `json:"from_s"`
	ToSec   float64 `json:"to_s"`
	PerS    float64 `json:"records_per_s"` // successful calls (a record done) per second
	P50Ms   float64 `json:"p50_ms"`        // handler latency, every call ending in the window
	P99Ms   float64 `json:"p99_ms"`
	Calls   uint64  `json:"calls"`
	Errors  uint64  `json:"errors"`
	Retries uint64  `json:"retries"`
}

// Sample is the timeline every Tick: cumulative counts since the first
// call, the concurrency limit and Stats.InFlight (workers holding records:
// in a handler, or waiting for a slot under the limit).
type Sample struct {
	Sec       float64 `json:"s"`
	Completed uint64  `json:"completed"`
	Errors    uint64  `json:"errors"`
	Retries   uint64  `json:"retries"`
	Limit     int     `json:"limit"`
	InFlight  int64   `json:"in_flight"`
}

// Target is one target judged over the repeats: Values[i] is repeat i's
// figure (a ratio, or a count), Pass[i] whether it met the target.
type Target struct {
	Name    string        `json:"name"`
	Goal    string        `json:"goal"`
	Values  []float64     `json:"values"`
	Pass    []bool        `json:"pass"`
	Verdict clock.Verdict `json:"verdict"`
	// Against names the fixed setting compared with, per repeat.
	Against []string `json:"against"`
}

// Phase returns the named phase of r.
func (r ContenderRun) Phase(name string) Phase {
	for _, p := range r.Phases {
		if p.Name == name {
			return p
		}
	}
	return Phase{}
}

// run finds contender name's run in repeat rep.
func (r Result) run(name string, rep int) (ContenderRun, bool) {
	for _, x := range r.Runs {
		if x.Contender == name && x.Repeat == rep {
			return x, true
		}
	}
	return ContenderRun{}, false
}

// bestFixed is the fixed contender's run with the highest throughput in
// phase.
func (r Result) bestFixed(rep int, phase string) ContenderRun {
	var best ContenderRun
	for _, ct := range r.Contenders {
		x, ok := r.run(ct.Name, rep)
		if ok && ct.fixed() && (best.Contender == "" || x.Phase(phase).PerS > best.Phase(phase).PerS) {
			best = x
		}
	}
	return best
}

func (r Result) adaptive() Contender {
	for _, ct := range r.Contenders {
		if ct.Adaptive() {
			return ct
		}
	}
	return Contender{}
}

// judge computes the targets from the runs, once.
func (r *Result) judge(c Config) {
	ad := r.adaptive()
	add := func(name, goal string, f func(rep int) (float64, bool, string)) {
		t := Target{Name: name, Goal: goal}
		for rep := 0; rep < c.Repeat; rep++ {
			v, pass, against := f(rep)
			t.Values, t.Pass, t.Against = append(t.Values, v), append(t.Pass, pass), append(t.Against, against)
		}
		t.Verdict = clock.Judge(t.Pass)
		r.Targets = append(r.Targets, t)
	}
	// vsBest is the adaptive contender's figure f in phase over the best
	// fixed setting's there, passing when pass says so.
	vsBest := func(phase string, f func(Phase) float64, pass func(float64) bool) func(int) (float64, bool, string) {
		return func(rep int) (float64, bool, string) {
			a, _ := r.run(ad.Name, rep)
			b := r.bestFixed(rep, phase)
			v := clock.Ratio(f(a.Phase(phase)), f(b.Phase(phase)))
			return v, pass(v), b.Contender
		}
	}
	atLeast := func(v float64) bool { return v >= 0.9 }
	add("steady-throughput", "adaptive >= 0.9 x the best fixed setting's records/s (steady)", vsBest("steady", perS, atLeast))
	add("steady-p99", "adaptive p99 <= 1.5 x the best fixed setting's p99 (steady)",
		vsBest("steady", p99, func(v float64) bool { return v <= 1.5 }))
	add("steady-errors", fmt.Sprintf("adaptive errors <= 0.1 x the fewest of any fixed setting above capacity %d (steady)", c.Capacity),
		func(rep int) (float64, bool, string) {
			a, _ := r.run(ad.Name, rep)
			fewest, name := math.Inf(1), ""
			for _, ct := range r.Contenders {
				if x, ok := r.run(ct.Name, rep); ok && ct.fixed() && ct.Fixed > c.Capacity && float64(x.Phase("steady").Errors) < fewest {
					fewest, name = float64(x.Phase("steady").Errors), ct.Name
				}
			}
			e := float64(a.Phase("steady").Errors)
			if name == "" {
				return e, false, "no fixed setting above capacity"
			}
			return e, e <= 0.1*fewest, name
		})
	add("halved-throughput", fmt.Sprintf("adaptive >= 0.9 x the best fixed setting's records/s, from %.0f s after the capacity halved",
		c.Settle.Seconds()), vsBest("halved", perS, atLeast))
	add("best-before-suffers", "the fixed setting best in the steady phase has errors, or a p99 above 1.5 x its steady p99, once the capacity halved",
		func(rep int) (float64, bool, string) {
			b := r.bestFixed(rep, "steady")
			s, h := b.Phase("steady"), b.Phase("halved")
			v := clock.Ratio(h.P99Ms, s.P99Ms)
			return v, h.Errors > 0 || v > 1.5, b.Contender
		})
}
