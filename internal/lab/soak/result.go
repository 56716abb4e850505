package soak

import (
	"github.com/kpar/kpar/internal/lab/checker"
	"github.com/kpar/kpar/internal/results"
)

// Kind is this result's schema, the version this kpar writes and its data
// file.
var Kind = results.Kind{Schema: "kpar.lab.soak", Version: 2, File: "soak.json"}

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
	// BaselinePerSec: entries/s over the 10 s before the fault, at most the
	// input's records/s then.
	BaselinePerSec float64 `json:"baseline_per_sec"`
	// RecoverySec: from the fault's start to the end of the first 2 s
	// window, starting once the fault was healed, whose rate is at least
	// 90% of the baseline; -1 when that did not happen before the next
	// fault or the end of production (ObservedSec).
	RecoverySec float64 `json:"recovery_sec"`
	// ObservedSec: how long after the fault's start recovery was looked
	// for (to the next fault's start or the end of production).
	ObservedSec float64 `json:"observed_sec"`
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

// analyze fills each fault's effects from the timeline and the log;
// recovery is looked for until the next fault or the end of production.
func analyze(r *Result, dups map[string][]float64) {
	for i := range r.Faults {
		f := &r.Faults[i]
		next, dupEnd := r.DurationSeconds, r.DurationSeconds+60
		if i+1 < len(r.Faults) {
			next, dupEnd = min(next, r.Faults[i+1].StartSec), r.Faults[i+1].StartSec
		}
		f.Effects = nil
		for _, s := range r.Strategies {
			e := Effect{Strategy: s, RecoverySec: -1, InFlight: r.Members * r.Workers, ObservedSec: next - f.StartSec}
			// At most the input's rate: a strategy catching up a backlog is
			// back once it keeps up, not once it catches up as fast again.
			e.BaselinePerSec = min(rate(r.Timeline, s, f.StartSec-10, f.StartSec), rate(r.Timeline, "", f.StartSec-10, f.StartSec))
			e.RecoverySec = recovered(r.Timeline, s, e.BaselinePerSec, max(f.HealedSec, f.StartSec), next) - f.StartSec
			if e.RecoverySec < 0 {
				e.RecoverySec = -1
			}
			for _, at := range dups[s] {
				if at >= f.StartSec && at < dupEnd {
					e.Duplicates++
				}
			}
			f.Effects = append(f.Effects, e)
		}
	}
}

// recovered is the end of the first recoveryWindow from from on (in half
// seconds, ending by to) whose rate is at least 90% of base; -1 when none.
func recovered(tl []Sample, s string, base, from, to float64) float64 {
	for t := from; t+recoveryWindow <= to; t += 0.5 {
		if base > 0 && rate(tl, s, t, t+recoveryWindow) >= 0.9*base {
			return t + recoveryWindow
		}
	}
	return -1
}

// rate is strategy s's entries/s (the input's records/s when s is "")
// between from and to, from the samples nearest inside the span; 0 when the
// span has fewer than two samples.
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
	return float64(b.of(s)-a.of(s)) / (b.Sec - a.Sec)
}

// of is strategy s's processed-log end, or the input's when s is "".
func (x Sample) of(s string) int64 {
	if s == "" {
		return x.Input
	}
	return x.Entries[s]
}

// perSecond is strategy s's entries/s (the input's when s is "") from each
// sample to the next, at the later one's second.
func perSecond(tl []Sample, s string) (secs, rates []float64) {
	for i := 1; i < len(tl); i++ {
		a, c := tl[i-1], tl[i]
		secs, rates = append(secs, c.Sec), append(rates, float64(c.of(s)-a.of(s))/(c.Sec-a.Sec))
	}
	return secs, rates
}
