package parallel

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// AdaptiveConcurrency lets the number of handler calls running at once
// follow what the handlers measure, between min and max (1 <= min <= max <=
// MaxConcurrency): it rises while their latency stays at its no-load
// baseline, and falls when latency climbs above it (a downstream queueing)
// or when handlers fail (see DESIGN.md, "Adaptive concurrency", for the
// rule: a windowed TCP Vegas). It starts at min. MaxConcurrency is still
// the number of goroutines; the limit caps how many of them are inside a
// handler. With NewBatch it caps BatchHandler calls (batches, not records)
// in flight.
//
// What counts as a failure for the limit: a non-nil error that is not
// Permanent (Permanent says the record is bad, not the downstream) and not
// a panic, returned while the consumer is not stopping. A handler that
// times out against an overloaded downstream should return its error, e.g.
// context.DeadlineExceeded.
//
// Stats.ConcurrencyLimit (and kprom's kpar_parallel_concurrency_limit)
// shows the current limit.
func AdaptiveConcurrency(min, max int) Opt {
	return opt(func(c *cfg) { c.adaptiveMin, c.adaptiveMax, c.adaptiveSet = min, max, true })
}

// RateLimit caps handler starts at perSecond on average for this consumer,
// with bursts of up to burst starts (a token bucket), for a downstream with
// a published quota. A start waits for its token in the handler's
// goroutine, before HandlerTimeout's clock starts; retries in place take a
// token each. With NewBatch a start is a BatchHandler call. It composes
// with AdaptiveConcurrency: a call takes its token first, then its slot.
func RateLimit(perSecond float64, burst int) Opt {
	return opt(func(c *cfg) { c.ratePerSecond, c.rateBurst, c.rateSet = perSecond, burst, true })
}

// validateLimits checks AdaptiveConcurrency and RateLimit (called by
// validate once MaxConcurrency is known to be valid).
func (c *cfg) validateLimits() error {
	if c.adaptiveSet {
		lo, hi := c.adaptiveMin, c.adaptiveMax
		switch {
		case lo < 1:
			return invalid("AdaptiveConcurrency(%d, %d): min must be >= 1", lo, hi)
		case hi < lo:
			return invalid("AdaptiveConcurrency(%d, %d): max must be >= min", lo, hi)
		case hi > c.maxConcurrency:
			return invalid("AdaptiveConcurrency(%d, %d): max above MaxConcurrency(%d), the number of handler goroutines",
				lo, hi, c.maxConcurrency)
		}
	}
	if c.rateSet {
		r := c.ratePerSecond
		switch {
		case !(r > 0) || math.IsInf(r, 0):
			return invalid("RateLimit(%v, %d): perSecond must be a positive number", r, c.rateBurst)
		case c.rateBurst < 1:
			return invalid("RateLimit(%v, %d): burst must be >= 1", r, c.rateBurst)
		}
	}
	return nil
}

// gate is what a handler call passes through when AdaptiveConcurrency or
// RateLimit is set: the token bucket, then the limiter. nil when neither
// is, so the call path costs one nil check.
type gate struct {
	bucket *bucket
	lim    *limiter
}

func newGate(c *cfg) *gate {
	if !c.adaptiveSet && !c.rateSet {
		return nil
	}
	g := &gate{}
	if c.rateSet {
		g.bucket = newBucket(c.ratePerSecond, c.rateBurst, time.Now)
	}
	if c.adaptiveSet {
		g.lim = newLimiter(c.adaptiveMin, c.adaptiveMax, time.Now)
	}
	return g
}

// enter waits for a token and a slot; the error is ctx's when it ended
// first (the record is then abandoned or released by the caller's ctx check).
func (g *gate) enter(ctx context.Context) (time.Time, error) {
	if g.bucket != nil {
		if err := g.bucket.wait(ctx); err != nil {
			return time.Time{}, err
		}
	}
	if g.lim != nil {
		return g.lim.acquire(ctx)
	}
	return time.Time{}, nil
}

// exit returns the slot with the call's latency and outcome.
func (g *gate) exit(ctx context.Context, start time.Time, err error) {
	if g.lim == nil {
		return
	}
	var pe *PanicError
	drop := err != nil && ctx.Err() == nil && !IsPermanent(err) && !errors.As(err, &pe)
	g.lim.release(start, err == nil, drop)
}

// run makes one handler call through the gate: a token and a slot first,
// then the call, whose latency and outcome go back to the limiter.
func (g *gate) run(ctx context.Context, call func(context.Context) error) error {
	start, err := g.enter(ctx)
	if err != nil {
		return err
	}
	err = call(ctx)
	g.exit(ctx, start, err)
	return err
}

// gated runs the handler once through the gate (when set). In NewBatch
// mode c.gate is nil and c.batchGate guards the BatchHandler calls
// (batcher.gated).
func (c *Consumer) gated(ctx context.Context, r *kgo.Record) error {
	if c.gate == nil {
		return c.invoke(ctx, r)
	}
	return c.gate.run(ctx, func(ctx context.Context) error { return c.invoke(ctx, r) })
}

// concurrencyLimit is Stats.ConcurrencyLimit.
func (c *Consumer) concurrencyLimit() int {
	for _, g := range []*gate{c.gate, c.batchGate} {
		if g != nil && g.lim != nil {
			return g.lim.current()
		}
	}
	return c.cfg.maxConcurrency
}

// gated runs the BatchHandler once on rs through the consumer's batch gate.
func (b *batcher) gated(ctx context.Context, rs []*kgo.Record) error {
	if b.c.batchGate == nil {
		return b.invoke(ctx, rs)
	}
	return b.c.batchGate.run(ctx, func(ctx context.Context) error { return b.invoke(ctx, rs) })
}
