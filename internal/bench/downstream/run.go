package downstream

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/bench/consume"
	"github.com/kpar/kpar/internal/clock"
	"github.com/kpar/kpar/parallel"
)

// Run prepares the topic and runs every contender Repeat times,
// interleaved (each repeat runs them all in order).
func Run(ctx context.Context, c Config) (Result, error) {
	if err := c.Validate(); err != nil {
		return Result{}, err
	}
	res := Result{Header: Kind.Header(c.Command), Config: c.data(), Contenders: c.Contenders()}
	topic := fmt.Sprintf("%s-p%d", c.TopicPrefix, c.Partitions)
	dead := c.TopicPrefix + "-dead"
	n := c.records()
	c.Progress.Note("preparing %s with %d records", topic, n)
	if _, err := consume.Prepare(ctx, c.Brokers, topic, c.Partitions, n, 10_000, 16, c.Opts()...); err != nil {
		return Result{}, err
	}
	if _, err := consume.Prepare(ctx, c.Brokers, dead, 1, 0, 1, 1, c.Opts()...); err != nil {
		return Result{}, err
	}
	for rep := 0; rep < c.Repeat; rep++ {
		for _, ct := range res.Contenders {
			c.Progress.Note("repeat %d/%d: %s for %s", rep+1, c.Repeat, ct.Name, c.total())
			r, err := runOne(ctx, c, ct, rep, topic, dead)
			if err != nil {
				return Result{}, fmt.Errorf("%s (repeat %d): %w", ct.Name, rep+1, err)
			}
			res.Runs = append(res.Runs, r)
		}
	}
	res.judge(c)
	res.Finished = time.Now().UTC()
	return res, nil
}

// phaseRec gathers one measured window's calls.
type phaseRec struct {
	mu        sync.Mutex
	latencyMs []float64
	ok, errs  uint64
}

// runOne runs contender ct once: its consumer calls the service from the
// first record on through the capacity schedule, sampled every Tick.
func runOne(ctx context.Context, c Config, ct Contender, rep int, topic, dead string) (ContenderRun, error) {
	svc := NewService(c.Capacity, c.BaseLatency, c.Timeout)
	wins := c.windows()
	recs := make([]phaseRec, len(wins))
	var (
		startNs   atomic.Int64 // the first call: the run's clock starts
		ok, errs  atomic.Uint64
		firstCall = make(chan struct{})
		once      sync.Once
	)
	h := func(hctx context.Context, r *kgo.Record) error {
		t0 := time.Now()
		once.Do(func() { startNs.Store(t0.UnixNano()); close(firstCall) })
		err := svc.Call(hctx)
		end := time.Now()
		if err == nil {
			ok.Add(1)
		} else if errors.Is(err, ErrTimeout) {
			errs.Add(1)
		}
		at := time.Duration(end.UnixNano() - startNs.Load())
		for i, w := range wins {
			if at >= w.from && at < w.to {
				recs[i].add(float64(end.Sub(t0))/1e6, err)
			}
		}
		return err
	}
	cons, err := parallel.New(h, c.consumerOpts(ct, rep, topic, dead)...)
	if err != nil {
		return ContenderRun{}, err
	}
	defer cons.Close()
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- cons.Run(rctx) }()
	select {
	case <-firstCall:
	case err := <-runErr:
		return ContenderRun{}, fmt.Errorf("consumer stopped before its first record: %v", err)
	case <-time.After(60 * time.Second):
		return ContenderRun{}, fmt.Errorf("no record from %s on %v within 60 s", topic, c.Brokers)
	case <-ctx.Done():
		return ContenderRun{}, ctx.Err()
	}
	start := time.Unix(0, startNs.Load())
	out := ContenderRun{Contender: ct.Name, Repeat: rep}
	if err := c.sample(ctx, svc, cons, start, &ok, &errs, runErr, &out); err != nil {
		return ContenderRun{}, err
	}
	cancel()
	if err := <-runErr; err != nil && !errors.Is(err, context.Canceled) {
		return ContenderRun{}, fmt.Errorf("consumer: %w", err)
	}
	st := cons.Stats()
	out.DeadLettered = st.DeadLettered
	out.Errors, out.Retries = errs.Load(), st.Retried
	out.Phases = windowPhases(wins, recs, out)
	return out, nil
}

// add counts one call that ended in the window.
func (p *phaseRec) add(latencyMs float64, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latencyMs = append(p.latencyMs, latencyMs)
	if err == nil {
		p.ok++
	} else if errors.Is(err, ErrTimeout) {
		p.errs++
	}
}

// consumerOpts are the options of contender ct's consumer: a fresh group
// from the topic's start, retries then the dead-letter topic, and ct's
// concurrency (fixed or adaptive) and rate limit.
func (c Config) consumerOpts(ct Contender, rep int, topic, dead string) []parallel.Opt {
	opts := []parallel.Opt{
		parallel.ClientOpts(append([]kgo.Opt{kgo.SeedBrokers(c.Brokers...), kgo.ConsumeTopics(topic),
			kgo.ConsumerGroup(fmt.Sprintf("%s-%s-r%d-%d", c.TopicPrefix, ct.Name, rep, time.Now().UnixNano())),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, c.Opts()...)...),
		parallel.Ordering(c.Order), parallel.MaxConcurrency(ct.Fixed),
		parallel.MaxBuffered(max(10_000, 4*ct.Fixed)),
		parallel.Retries(c.Attempts, c.BaseLatency, 20*c.BaseLatency),
		parallel.DeadLetterTopic(dead), parallel.DrainTimeout(5 * time.Second),
	}
	if ct.Adaptive() {
		opts = append(opts, parallel.AdaptiveConcurrency(ct.AdaptiveMin, ct.AdaptiveMax))
	}
	if ct.Rate > 0 {
		opts = append(opts, parallel.RateLimit(ct.Rate, ct.Burst))
	}
	return opts
}

// sample runs the schedule from start to c.total(): it halves the
// service's capacity after Steady and restores it after Halved, and
// appends a timeline sample every Tick.
func (c Config) sample(ctx context.Context, svc *Service, cons *parallel.Consumer, start time.Time, ok, errs *atomic.Uint64, runErr <-chan error, out *ContenderRun) error {
	tick := time.NewTicker(c.Tick)
	defer tick.Stop()
	for {
		now := time.Since(start)
		svc.SetCapacity(c.capacityAt(now))
		st := cons.Stats()
		out.Timeline = append(out.Timeline, Sample{Sec: now.Seconds(), Completed: ok.Load(), Errors: errs.Load(),
			Retries: st.Retried, Limit: st.ConcurrencyLimit, InFlight: st.InFlight})
		if now >= c.total() {
			break
		}
		select {
		case <-tick.C:
		case err := <-runErr:
			return fmt.Errorf("consumer stopped during the run: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// capacityAt is the downstream's capacity at d since the first call.
func (c Config) capacityAt(d time.Duration) int {
	if d >= c.Steady && d < c.Steady+c.Halved {
		return c.Capacity / 2
	}
	return c.Capacity
}

// windowPhases are the measured windows' figures from their calls.
func windowPhases(wins []window, recs []phaseRec, out ContenderRun) []Phase {
	var phs []Phase
	for i, w := range wins {
		p := &recs[i]
		ph := Phase{Name: w.name, FromSec: w.from.Seconds(), ToSec: w.to.Seconds(), Calls: uint64(len(p.latencyMs)),
			Errors: p.errs, Retries: out.retriesBetween(w.from, w.to)}
		ph.PerS = float64(p.ok) / (w.to - w.from).Seconds()
		slices.Sort(p.latencyMs)
		ph.P50Ms, ph.P99Ms = clock.Percentile(p.latencyMs, 0.50), clock.Percentile(p.latencyMs, 0.99)
		phs = append(phs, ph)
	}
	return phs
}

type window struct {
	name     string
	from, to time.Duration
}

// windows are the measured windows: steady after the warm-up, halved and
// recovered each after Settle.
func (c Config) windows() []window {
	h, r := c.Steady, c.Steady+c.Halved
	return []window{{"steady", c.Warmup, c.Steady}, {"halved", h + c.Settle, r}, {"recovered", r + c.Settle, c.total()}}
}

// retriesBetween is the library's in-place retries between the samples at
// or after from and to.
func (r ContenderRun) retriesBetween(from, to time.Duration) uint64 {
	at := func(d time.Duration) uint64 {
		for _, s := range r.Timeline {
			if s.Sec >= d.Seconds() {
				return s.Retries
			}
		}
		if n := len(r.Timeline); n > 0 {
			return r.Timeline[n-1].Retries
		}
		return 0
	}
	return at(to) - at(from)
}
