package parallel

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"
)

// bucket is a token bucket on handler starts: rate tokens a second, at
// most burst saved. wait reserves the next token and sleeps until it is
// due, so starts are spaced by the bucket's own clock (now): over any
// stretch of bucket time T at most burst + rate*T tokens fall due.
type bucket struct {
	rate, burst float64
	now         func() time.Time

	mu     sync.Mutex
	tokens float64 // may go negative: tokens reserved ahead
	last   time.Time
	due    func(time.Time) // tests: every token's due time
}

func newBucket(rate float64, burst int, now func() time.Time) *bucket {
	return &bucket{rate: rate, burst: float64(burst), tokens: float64(burst), now: now, last: now()}
}

func (b *bucket) wait(ctx context.Context) error {
	b.mu.Lock()
	now := b.now()
	b.tokens = math.Min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	b.tokens--
	var d time.Duration
	if b.tokens < 0 {
		d = time.Duration(math.Ceil(-b.tokens / b.rate * float64(time.Second)))
	}
	if b.due != nil {
		b.due(now.Add(d))
	}
	b.mu.Unlock()
	if d <= 0 {
		return nil
	}
	if sleep(ctx, d) {
		return nil
	}
	b.mu.Lock()
	b.tokens++ // not used: the next reservation may have it
	b.mu.Unlock()
	return ctx.Err()
}

// limiter is AdaptiveConcurrency: a semaphore whose size moves by a
// windowed TCP Vegas rule (DESIGN.md, "Adaptive concurrency").
//
// Calls are sampled into windows of at least minSamples calls and
// max(minWindow, 2 x baseline). At the end of a window:
//   - any failure (drop): limit x dropFactor;
//   - else avg = the window's mean latency of successes, baseline = the
//     lowest avg seen (re-taken from the current window every probeEvery
//     windows when the limit is not falling, so a downstream that got
//     slower for good becomes the new baseline), and
//     queue = limit x (1 - baseline/avg), Vegas's estimate of the calls
//     waiting downstream; with lg = max(1, log10(limit)):
//     queue <= lg: limit + 6 lg; queue < 3 lg: limit + lg;
//     queue > 6 lg: limit - lg; else unchanged.
//     Increases only when the window used at least half the limit (no
//     growth while the consumer, not the downstream, is the bottleneck).
//   - clamped to [min, max].
type limiter struct {
	min, max float64
	now      func() time.Time

	mu       sync.Mutex
	limit    float64
	inflight int
	waiters  []chan struct{} // FIFO; a waiter's channel is closed when it is given a slot

	winStart     time.Time
	n, ok, drops int
	sum          time.Duration
	peak         int
	baseline     time.Duration
	sinceProbe   int
	onUpdate     func(limit int) // tests: every limit decided at a window's end
}

const (
	minWindow  = 10 * time.Millisecond
	minSamples = 10
	dropFactor = 0.9
	probeEvery = 100
)

func newLimiter(lo, hi int, now func() time.Time) *limiter {
	return &limiter{min: float64(lo), max: float64(hi), limit: float64(lo), now: now, winStart: now()}
}

func (l *limiter) current() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int(l.limit)
}

// acquire waits for a slot; it returns the start time of the call.
func (l *limiter) acquire(ctx context.Context) (time.Time, error) {
	l.mu.Lock()
	if l.inflight < int(l.limit) && len(l.waiters) == 0 {
		l.take()
		l.mu.Unlock()
		return l.now(), nil
	}
	ch := make(chan struct{})
	l.waiters = append(l.waiters, ch)
	l.mu.Unlock()
	select {
	case <-ch:
		return l.now(), nil
	case <-ctx.Done():
		l.mu.Lock()
		if i := slices.Index(l.waiters, ch); i >= 0 {
			l.waiters = slices.Delete(l.waiters, i, i+1)
			l.mu.Unlock()
			return time.Time{}, ctx.Err()
		}
		// Given a slot meanwhile: hand it on.
		l.inflight--
		l.wake()
		l.mu.Unlock()
		return time.Time{}, ctx.Err()
	}
}

func (l *limiter) take() {
	l.inflight++
	l.peak = max(l.peak, l.inflight)
}

// wake gives free slots to waiters in order (l.mu held).
func (l *limiter) wake() {
	for len(l.waiters) > 0 && l.inflight < int(l.limit) {
		ch := l.waiters[0]
		l.waiters[0] = nil
		l.waiters = l.waiters[1:]
		l.take()
		close(ch)
	}
}

// release returns a slot with the call's outcome.
func (l *limiter) release(start time.Time, ok, drop bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight--
	l.n++
	if ok {
		l.ok++
		l.sum += now.Sub(start)
	}
	if drop {
		l.drops++
	}
	if el := now.Sub(l.winStart); (l.n >= minSamples && el >= max(minWindow, 2*l.baseline)) ||
		(l.n >= 1 && el >= max(time.Second, 20*l.baseline)) {
		l.update()
		l.winStart, l.n, l.ok, l.drops, l.sum, l.peak = now, 0, 0, 0, 0, l.inflight
	}
	l.wake()
}

// update closes a window (l.mu held).
func (l *limiter) update() {
	L := l.limit
	switch {
	case l.drops > 0:
		L = math.Min(L*dropFactor, L-1)
	case l.ok > 0:
		avg := l.sum / time.Duration(l.ok)
		if l.baseline == 0 || avg < l.baseline {
			l.baseline = avg
		}
		lg := math.Max(1, math.Log10(L))
		queue := L * (1 - float64(l.baseline)/float64(avg))
		used := float64(l.peak)*2 >= L
		switch {
		case queue <= lg && used:
			L += 6 * lg
		case queue < 3*lg && used:
			L += lg
		case queue > 6*lg:
			L -= lg
		}
		if l.sinceProbe++; l.sinceProbe >= probeEvery && queue <= 6*lg {
			l.baseline, l.sinceProbe = avg, 0
		}
	}
	l.limit = math.Max(l.min, math.Min(l.max, L))
	if l.onUpdate != nil {
		l.onUpdate(int(l.limit))
	}
}
