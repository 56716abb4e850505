// Package scenario names the faults a lab cell injects and derives every
// fault's timing from the cell's seed. Scenarios combine with '+', e.g.
// "ooo+crash+rebalance".
package scenario

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kpar/kpar/internal/lab/workload"
)

// Fault is one ingredient of a scenario.
type Fault string

const (
	// OOO: random per-record latency (Latency), so records complete out of
	// order.
	OOO Fault = "ooo"
	// Crash: SIGKILL the consumer process K times, restarting it each time.
	// Repeatable: the worker freezes at the crash point and dies only once
	// its writes landed and its commits settled (worker.Settle).
	Crash Fault = "crash"
	// Kill: SIGKILL the consumer K times at the same seeded points, but the
	// instant the point is reached: no freeze, no settle, so handlers,
	// processed-log writes and commits are in flight. Its counts depend on
	// timing; its lessons (who loses, who only replays) must not.
	Kill Fault = "kill"
	// Rebalance: members join at 20% and 40% of the records, one leaves at
	// 60%.
	Rebalance Fault = "rebalance"
	// Failures: transient handler failures (retryable) and permanent ones
	// (for the dead-letter topic).
	Failures Fault = "failures"
	// Slow: at SlowAtPercent of the records every worker of the first
	// member stalls for SlowFactor x the group's rebalance timeout
	// (max.poll.interval.ms in Java terms), and a second member joins as
	// the stall starts.
	Slow Fault = "slow"
)

// known are the faults Parse takes.
var known = []Fault{OOO, Crash, Kill, Rebalance, Failures, Slow}

// The slow fault. kgo's RebalanceTimeout is the classic protocol's
// rebalance_timeout_ms, the value Java fills from max.poll.interval.ms: a
// member that has not rejoined that long after a rebalance began is
// dropped from the group.
const (
	SlowRebalanceTimeout = 1500 * time.Millisecond
	SlowFactor           = 4
	SlowAtPercent        = 25
)

// SlowPlan says which handler invocations of the first member are slow
// (invocation numbers at..at+count-1: as many as it has workers, so the
// whole pool stalls at once, like a downstream outage) and for how long,
// and the rebalance timeout every member of the group gets.
func SlowPlan(records, workers int) (at, count int, latency, rebalanceTimeout time.Duration) {
	return max(1, records*SlowAtPercent/100), workers, SlowFactor * SlowRebalanceTimeout, SlowRebalanceTimeout
}

// Scenario is a set of faults.
type Scenario struct {
	Name   string
	Faults []Fault
}

// Has reports whether s includes f.
func (s Scenario) Has(f Fault) bool { return slices.Contains(s.Faults, f) }

// Parse reads "ooo+crash"; "none" is the empty scenario.
func Parse(spec string) (Scenario, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return Scenario{}, fmt.Errorf("empty scenario")
	}
	s := Scenario{Name: spec}
	if spec == "none" {
		return s, nil
	}
	for _, part := range strings.Split(spec, "+") {
		f := Fault(strings.TrimSpace(part))
		if !slices.Contains(known, f) {
			return Scenario{}, fmt.Errorf("scenario %q: unknown fault %q (known: ooo, crash, kill, rebalance, failures, slow)", spec, part)
		}
		if !s.Has(f) {
			s.Faults = append(s.Faults, f)
		}
	}
	if s.Has(Crash) && s.Has(Kill) {
		// One schedule of crash points: each is either settled or instant.
		return Scenario{}, fmt.Errorf("scenario %q: crash and kill are two ways to run one crash schedule; pick one", spec)
	}
	return s, nil
}

// Kills reports whether s SIGKILLs the consumer (crash or kill).
func (s Scenario) Kills() bool { return s.Has(Crash) || s.Has(Kill) }

// CrashPoints returns k processed-log entry counts at which the consumer is
// killed, spread over 10%..80% of records and jittered by seed, so every
// crash has work behind it and work in flight.
func CrashPoints(seed int64, records, k int) []int {
	out := make([]int, k)
	for i := range out {
		frac := 0.1 + 0.7*(float64(i)+workload.Float(seed, 20, uint64(i)))/float64(k)
		out[i] = max(1, int(frac*float64(records)))
	}
	return out
}

// Latency is the handler's per-record latency: fixed at max/2 without OOO;
// with OOO uniform in [0, max], except a tail of TailFraction of the records
// that take TailFactor x max. Real handlers have tails (a slow call, a GC
// pause), and a tail is what makes a batch barrier expensive.
func (s Scenario) Latency(max time.Duration) (lo, hi time.Duration, tail float64, tailLatency time.Duration) {
	if s.Has(OOO) {
		return 0, max, TailFraction, TailFactor * max
	}
	return max / 2, max / 2, 0, 0
}

// The OOO tail.
const (
	TailFraction = 0.02
	TailFactor   = 10
)
