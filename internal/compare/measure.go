package compare

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/clock"
	"github.com/kpar/kpar/internal/kafka"
	"github.com/kpar/kpar/parallel"
)

// counter is one Go child's clock (internal/clock's rule): it counts
// distinct (partition, offset) pairs as their handler returns and stops
// the run once n distinct records were handled. kpar, the plain loops and
// both share consumers count through it, so they stop on the same
// condition and are timed between the same two events.
type counter struct {
	seen  *clock.Distinct
	clk   *clock.Clock
	done  chan struct{}
	once  sync.Once
	calls atomic.Int64 // every handled record, repeats included
	n     int64
}

// newCounter sizes the distinct set from the topic's end offsets (the
// records any contender can read) and starts the clock now.
func newCounter(ctx context.Context, brokers []string, opts []kgo.Opt, topic string, n int64) (*counter, error) {
	ends, err := endOffsets(ctx, brokers, opts, topic)
	if err != nil {
		return nil, err
	}
	return &counter{seen: clock.NewDistinct(ends), clk: clock.New(n), done: make(chan struct{}), n: n}, nil
}

// handled is called once per record when its handler has returned.
func (c *counter) handled(p int32, off int64) {
	c.calls.Add(1)
	cnt, _ := c.seen.Mark(p, off)
	if c.clk.Observe(cnt) {
		c.once.Do(func() { close(c.done) })
	}
}

// window is the run's window; an error when n distinct records were never
// reached (a run that stopped early).
func (c *counter) window() (clock.Window, error) {
	w, ok := c.clk.Window()
	if !ok {
		return clock.Window{}, fmt.Errorf("stopped after %d distinct records of %d", c.seen.Count(), c.n)
	}
	return w, nil
}

func endOffsets(ctx context.Context, brokers []string, opts []kgo.Opt, topic string) (map[int32]int64, error) {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, opts...)...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	return kafka.EndsOf(ctx, kadm.NewClient(cl), topic)
}

// fromWindow fills the figures every child reports from its window.
func fromWindow(out *ChildOutput, w clock.Window) {
	out.Records, out.Window = w.Records, w
	out.Seconds, out.FirstRecordS, out.SteadyPerS = w.TotalS, w.FirstS, w.PerS
}

// runKparGroup is kpar's consumer-group run: a fresh group, key order,
// the handler counted by the counter; it stops at n distinct records.
func runKparGroup(ctx context.Context, spec KparSpec, tr *tracer) (ChildOutput, error) {
	cnt, err := newCounter(ctx, spec.Brokers, spec.ClientOpts, spec.Topic, spec.Records)
	if err != nil {
		return ChildOutput{}, err
	}
	var busyNs atomic.Int64
	h := func(_ context.Context, r *kgo.Record) error {
		if spec.Sleep > 0 || tr != nil {
			t0 := time.Now()
			if spec.Sleep > 0 {
				time.Sleep(spec.Sleep)
			}
			t1 := time.Now()
			busyNs.Add(int64(t1.Sub(t0)))
			if tr != nil {
				tr.record(r, t0, t1)
			}
		}
		cnt.handled(r.Partition, r.Offset)
		return nil
	}
	opts := []parallel.Opt{
		parallel.ClientOpts(kgo.SeedBrokers(spec.Brokers...), kgo.ConsumeTopics(spec.Topic),
			kgo.ConsumerGroup(fmt.Sprintf("kpar-compare-%d-%d", os.Getpid(), time.Now().UnixNano()))),
		parallel.Ordering(parallel.OrderKey), parallel.MaxConcurrency(spec.Concurrency),
		parallel.ClientOpts(spec.ClientOpts...),
	}
	if spec.MaxBuffered > 0 {
		opts = append(opts, parallel.MaxBuffered(spec.MaxBuffered))
	}
	if spec.PerPart > 0 {
		opts = append(opts, parallel.MaxBufferedPerPartition(spec.PerPart))
	}
	c, err := parallel.New(h, opts...)
	if err != nil {
		return ChildOutput{}, err
	}
	out := ChildOutput{}
	out.FetchMaxBytes, _ = c.Client().OptValue(kgo.FetchMaxBytes).(int32)
	out.FetchMaxPartitionBytes, _ = c.Client().OptValue(kgo.FetchMaxPartitionBytes).(int32)
	cpu, runErr := runUntil(ctx, cnt, func(rctx context.Context) error { return c.Run(rctx) }, func() { c.Close() })
	if runErr != nil {
		return ChildOutput{}, fmt.Errorf("kpar: %w", runErr)
	}
	w, err := cnt.window()
	if err != nil {
		return ChildOutput{}, err
	}
	fromWindow(&out, w)
	out.CPUSeconds = cpu
	if spec.Sleep > 0 {
		out.MeanHandler = float64(busyNs.Load()) / float64(cnt.calls.Load()) / 1e6
	}
	return out, nil
}

// runUntil runs run until the counter reached n (then cancels it), run
// returned or ctx ended; close is called after run returned. It returns
// the process's CPU over the run.
func runUntil(ctx context.Context, cnt *counter, run func(context.Context) error, close func()) (float64, error) {
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	cpu0 := cpuNow()
	go func() { errc <- run(rctx) }()
	var runErr error
	returned := false
	select {
	case <-cnt.done:
	case runErr = <-errc:
		returned = true
	case <-ctx.Done():
	}
	cpu := cpuNow() - cpu0
	cancel()
	if !returned {
		if err := <-errc; runErr == nil && err != nil && !errors.Is(err, context.Canceled) {
			runErr = err
		}
	}
	close()
	if ctx.Err() != nil {
		return 0, fmt.Errorf("interrupted after %d of %d distinct records: %w", cnt.seen.Count(), cnt.n, ctx.Err())
	}
	select {
	case <-cnt.done:
		return cpu, nil // reached n: an error from the cancelled run is the stop itself
	default:
	}
	if runErr == nil {
		runErr = errors.New("stopped before its records were handled")
	}
	return 0, fmt.Errorf("after %d of %d distinct records: %w", cnt.seen.Count(), cnt.n, runErr)
}

// runPlainLoop is the plain franz-go poll loop: no group, no commits, each
// record counted as the loop reaches it (its "handler" is the loop body),
// until n distinct records.
func runPlainLoop(ctx context.Context, spec PlainSpec) (ChildOutput, error) {
	cnt, err := newCounter(ctx, spec.Brokers, spec.ClientOpts, spec.Topic, spec.Records)
	if err != nil {
		return ChildOutput{}, err
	}
	opts := append([]kgo.Opt{kgo.SeedBrokers(spec.Brokers...), kgo.ConsumeTopics(spec.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, spec.ClientOpts...)
	if spec.FetchMaxBytes > 0 {
		opts = append(opts, kgo.FetchMaxBytes(spec.FetchMaxBytes))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return ChildOutput{}, err
	}
	out := ChildOutput{}
	out.FetchMaxBytes, _ = cl.OptValue(kgo.FetchMaxBytes).(int32)
	out.FetchMaxPartitionBytes, _ = cl.OptValue(kgo.FetchMaxPartitionBytes).(int32)
	loop := func(rctx context.Context) error {
		for {
			fs := cl.PollFetches(rctx)
			if rctx.Err() != nil {
				return rctx.Err()
			}
			if err := fs.Err0(); err != nil {
				return fmt.Errorf("plain poll: %w", err)
			}
			fs.EachRecord(func(r *kgo.Record) { cnt.handled(r.Partition, r.Offset) })
			select {
			case <-cnt.done:
				return nil
			default:
			}
		}
	}
	cpu, err := runUntil(ctx, cnt, loop, cl.Close)
	if err != nil {
		return ChildOutput{}, fmt.Errorf("plain loop: %w", err)
	}
	w, err := cnt.window()
	if err != nil {
		return ChildOutput{}, err
	}
	fromWindow(&out, w)
	out.CPUSeconds = cpu
	return out, nil
}
