package soak

import (
	"github.com/kpar/kpar/internal/lab/checker"
	"github.com/kpar/kpar/internal/results"
)

// Schema and SchemaVersion name the soak's results (soak.json).
const (
	Schema        = "kpar.lab.soak"
	SchemaVersion = 1
)

// Result is one soak run.
type Result struct {
	results.Header
	Seed            int64    `json:"seed"`
	DurationSeconds float64  `json:"duration_seconds"`
	Strategies      []string `json:"strategies"`
	Rate            int      `json:"rate"`
	Partitions      int      `json:"partitions"`
	Members         int      `json:"members"`
	Workers         int      `json:"workers"`
	// Wiring says how clients reach the brokers (the proxies) or why a
	// kind of fault could not run.
	Wiring  string   `json:"wiring"`
	Skipped []string `json:"skipped,omitempty"` // fault kinds not run, with the reason
	Faults  []Fault  `json:"faults"`
	// Timeline: one sample a second, seconds since the start, the input's
	// and each strategy's processed-log end offsets (summed over partitions).
	Timeline []Sample          `json:"timeline"`
	Checks   []StrategyOutcome `json:"checks"`
	// MemberExits: members that ended on their own, and their restarts.
	MemberExits []MemberExit `json:"member_exits,omitempty"`
}

// Fault is one fault as it happened.
type Fault struct {
	Planned
	StartSec  float64 `json:"start_sec"`
	HealedSec float64 `json:"healed_sec"`
	Note      string  `json:"note,omitempty"`
	Error     string  `json:"error,omitempty"`
	// Per strategy: recovery and duplicates attributed to this fault.
	Effects []Effect `json:"effects"`
}

// Effect is one strategy's view of one fault.
type Effect struct {
	Strategy string `json:"strategy"`
	// BaselinePerSec: entries/s over the 10 s before the fault.
	BaselinePerSec float64 `json:"baseline_per_sec"`
	// RecoverySec: from the fault's start to the end of the first 2 s
	// window, starting once the fault was healed, whose rate is at least
	// 90% of the baseline; -1 when that did not happen before the next
	// fault (or the end).
	RecoverySec float64 `json:"recovery_sec"`
	// Duplicates: duplicate entries written between this fault's start and
	// the next fault's; InFlight: the records the strategy's members could
	// hold in their handlers at once then (members x workers).
	Duplicates int `json:"duplicates"`
	InFlight   int `json:"in_flight"`
}

// Sample is one second of the timeline.
type Sample struct {
	Sec     float64          `json:"sec"`
	Input   int64            `json:"input"`
	Entries map[string]int64 `json:"entries"`
}

// StrategyOutcome is the checker's verdict on one strategy.
type StrategyOutcome struct {
	Strategy string         `json:"strategy"`
	Check    checker.Result `json:"check"`
	Drained  bool           `json:"drained"` // caught up with the whole input before it was stopped
	Error    string         `json:"error,omitempty"`
}

// recoveryWindow is the window a recovered rate is measured over.
const recoveryWindow = 2.0

// analyze fills each fault's effects from the timeline and the log.
func analyze(r *Result, dups map[string][]float64) {
	for i := range r.Faults {
		f := &r.Faults[i]
		next := r.DurationSeconds + 60
		if i+1 < len(r.Faults) {
			next = r.Faults[i+1].StartSec
		}
		f.Effects = nil
		for _, s := range r.Strategies {
			e := Effect{Strategy: s, RecoverySec: -1, InFlight: r.Members * r.Workers}
			e.BaselinePerSec = rate(r.Timeline, s, f.StartSec-10, f.StartSec)
			for t := max(f.HealedSec, f.StartSec); t+recoveryWindow <= next; t += 0.5 {
				if e.BaselinePerSec > 0 && rate(r.Timeline, s, t, t+recoveryWindow) >= 0.9*e.BaselinePerSec {
					e.RecoverySec = t + recoveryWindow - f.StartSec
					break
				}
			}
			for _, at := range dups[s] {
				if at >= f.StartSec && at < next {
					e.Duplicates++
				}
			}
			f.Effects = append(f.Effects, e)
		}
	}
}

// rate is strategy s's entries/s between from and to, from the samples
// nearest inside the span; 0 when the span has fewer than two samples.
func rate(tl []Sample, s string, from, to float64) float64 {
	var a, b *Sample
	for i := range tl {
		if tl[i].Sec >= from && a == nil {
			a = &tl[i]
		}
		if tl[i].Sec <= to {
			b = &tl[i]
		}
	}
	if a == nil || b == nil || b.Sec-a.Sec < 0.5 {
		return 0
	}
	return float64(b.Entries[s]-a.Entries[s]) / (b.Sec - a.Sec)
}
