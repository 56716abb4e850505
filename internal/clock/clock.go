// Package clock is the one definition of a consumer's rate that every
// contender (kpar, the plain loops, Confluent's Parallel Consumer, the share
// consumers) is measured by, so that a ratio between two of them compares
// like with like.
//
// The rule, the same in every process that handles records (PC's harness
// implements it in Java, word for word):
//
//   - Count distinct records handled, in the process that handles them: a
//     record handled twice (a retry, a redelivery, a replay after a
//     rebalance) counts once. A handler call counts when it returns.
//   - Warm-up: the first Warmup share (10%) of the n records. Event A is the
//     first observation at which the count reached W = ceil(n * Warmup); its
//     count and time are kept (a poll loop observes once per batch, so its
//     count at A may be past W: the count kept is the one observed).
//   - Event B is the observation at which the count reached n: the run's
//     stop condition is n distinct records, for every contender.
//   - Rate = (count at B - count at A) / (time at B - time at A).
//
// The window (B - A) must be long enough to mean something: Window.Check
// refuses one shorter than the minimum the command asks for, so a run too
// short is an error, never a figure.
package clock

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Warmup is the share of the n records handled before the window opens.
const Warmup = 0.10

// WarmupCount is W for n records: ceil(n * Warmup), at least 1 and below n
// when n > 1.
func WarmupCount(n int64) int64 {
	w := int64(math.Ceil(float64(n) * Warmup))
	if w < 1 {
		w = 1
	}
	if w >= n && n > 1 {
		w = n - 1
	}
	return w
}

// Clock times one run of n distinct records. Observe is safe from any
// number of goroutines and costs two atomic loads except at A and B.
type Clock struct {
	n, warm int64
	start   time.Time

	mu             sync.Mutex
	aSet, bSet     atomic.Bool
	aCount, bCount int64
	a, b           time.Time
	first          atomic.Int64 // unix ns of the first observation
}

// New starts a clock for n records; its start is now (the process's start of
// consumption, for FirstS).
func New(n int64) *Clock {
	return &Clock{n: n, warm: WarmupCount(n), start: time.Now()}
}

// Observe reports that count distinct records have been handled so far.
// It returns true once count has reached n.
func (c *Clock) Observe(count int64) bool {
	if count <= 0 {
		return false
	}
	if c.first.Load() == 0 {
		c.first.CompareAndSwap(0, time.Now().UnixNano())
	}
	if count >= c.warm && !c.aSet.Load() {
		c.mu.Lock()
		if !c.aSet.Load() {
			c.a, c.aCount = time.Now(), count
			c.aSet.Store(true)
		}
		c.mu.Unlock()
	}
	if count >= c.n {
		if !c.bSet.Load() {
			c.mu.Lock()
			if !c.bSet.Load() {
				c.b, c.bCount = time.Now(), count
				c.bSet.Store(true)
			}
			c.mu.Unlock()
		}
		return true
	}
	return false
}

// Window is one run's measured window, the figures every contender reports.
type Window struct {
	Records       int64   `json:"records"`        // n, the stop condition
	WarmupRecords int64   `json:"warmup_records"` // the count observed at A
	EndRecords    int64   `json:"end_records"`    // the count observed at B (n, or past it for a batch)
	Seconds       float64 `json:"window_s"`       // B - A
	PerS          float64 `json:"records_per_s"`  // (EndRecords - WarmupRecords) / Seconds
	FirstS        float64 `json:"first_record_s"` // start to the first observation (join, first fetch)
	TotalS        float64 `json:"total_s"`        // start to B
}

// Window returns the run's window; ok is false until B was observed.
func (c *Clock) Window() (w Window, ok bool) {
	if !c.bSet.Load() {
		return Window{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return Compute(c.n, c.start, time.Unix(0, c.first.Load()), c.aCount, c.a, c.bCount, c.b), true
}

// Compute builds a Window from the events; PC's harness reports the events'
// raw figures and Go computes the window with this, so the arithmetic is in
// one place.
func Compute(n int64, start, first time.Time, aCount int64, a time.Time, bCount int64, b time.Time) Window {
	w := Window{Records: n, WarmupRecords: aCount, EndRecords: bCount, Seconds: b.Sub(a).Seconds(),
		FirstS: first.Sub(start).Seconds(), TotalS: b.Sub(start).Seconds()}
	if w.Seconds > 0 {
		w.PerS = float64(bCount-aCount) / w.Seconds
	}
	return w
}

// ErrTooShort marks a window shorter than the minimum asked for.
var ErrTooShort = fmt.Errorf("measured window too short")

// Check refuses a window shorter than min, or one with no records in it:
// a run too short is not reported.
func (w Window) Check(name string, min time.Duration) error {
	if w.EndRecords <= w.WarmupRecords || w.Seconds <= 0 {
		return fmt.Errorf("%s: %w: no records after the warm-up (%d of %d records were warm-up): give it more records",
			name, ErrTooShort, w.WarmupRecords, w.Records)
	}
	if w.Seconds < min.Seconds() {
		need := int64(math.Ceil(w.PerS * min.Seconds() / (1 - Warmup)))
		return fmt.Errorf("%s: %w: %.2f s after the warm-up, under the %g s minimum; at %.0f records/s it needs about %d records",
			name, ErrTooShort, w.Seconds, min.Seconds(), w.PerS, need)
	}
	return nil
}

// Distinct counts distinct (partition, offset) pairs below known end
// offsets with one bit each: cheap enough for a no-op handler at millions of
// records per second, safe from any goroutine.
type Distinct struct {
	bits  map[int32][]atomic.Uint64
	count atomic.Int64
}

// NewDistinct sizes the bit sets from each partition's end offset (the
// records a run can see).
func NewDistinct(ends map[int32]int64) *Distinct {
	d := &Distinct{bits: make(map[int32][]atomic.Uint64, len(ends))}
	for p, end := range ends {
		d.bits[p] = make([]atomic.Uint64, (end+63)/64)
	}
	return d
}

// Mark records one handled record and returns the count of distinct records
// so far, and whether this one was new. An offset outside the sizes given
// counts as new every time it is seen (it cannot be tracked), so size the
// set from the end offsets the run reads to.
func (d *Distinct) Mark(partition int32, offset int64) (count int64, isNew bool) {
	words := d.bits[partition]
	i := offset >> 6
	if offset < 0 || i >= int64(len(words)) {
		return d.count.Add(1), true
	}
	bit := uint64(1) << (offset & 63)
	if words[i].Or(bit)&bit != 0 {
		return d.count.Load(), false
	}
	return d.count.Add(1), true
}

// Count is the number of distinct records marked.
func (d *Distinct) Count() int64 { return d.count.Load() }
