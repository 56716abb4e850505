package compare

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/parallel"
)

// runKparShare is kpar's share mode over spec.Records records: the same
// handler, measurement and trace as the consumer-group run (RunParallel),
// with parallel.ShareGroup instead of a consumer group, the library's
// defaults otherwise (no order, its own poll sizing).
func runKparShare(ctx context.Context, spec KparSpec) (ChildOutput, error) {
	n := spec.Records
	var done, busyNs, firstNs, endNs atomic.Int64
	finished := make(chan struct{})
	var tr *tracer
	if spec.Trace {
		tr = newTracer(n + n/10 + int64(spec.Concurrency))
	}
	h := func(_ context.Context, r *kgo.Record) error {
		t0 := time.Now()
		firstNs.CompareAndSwap(0, t0.UnixNano())
		if spec.Sleep > 0 {
			time.Sleep(spec.Sleep)
		}
		t1 := time.Now()
		if spec.Sleep > 0 {
			busyNs.Add(int64(t1.Sub(t0)))
		}
		if tr != nil {
			tr.record(r, t0, t1)
		}
		if done.Add(1) == n {
			endNs.Store(t1.UnixNano())
			close(finished)
		}
		return nil
	}
	opts := []parallel.Opt{
		parallel.ClientOpts(kgo.SeedBrokers(spec.Brokers...), kgo.ConsumeTopics(spec.Topic)),
		parallel.ClientOpts(spec.ClientOpts...),
		parallel.ShareGroup(spec.ShareGroup), parallel.ShareMembers(max(1, spec.Members)),
		parallel.MaxConcurrency(spec.Concurrency),
	}
	if spec.MaxBuffered > 0 {
		opts = append(opts, parallel.MaxBuffered(spec.MaxBuffered))
	}
	c, err := parallel.New(h, opts...)
	if err != nil {
		return ChildOutput{}, err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	start := time.Now()
	cpu0 := cpuNow()
	go func() { errc <- c.Run(rctx) }()
	var runErr error
	select {
	case <-finished:
	case runErr = <-errc:
	case <-ctx.Done():
	}
	cpu := cpuNow() - cpu0
	cancel()
	if runErr == nil {
		runErr = <-errc
	}
	c.Close()
	st := c.Stats()
	if ctx.Err() != nil {
		return ChildOutput{}, fmt.Errorf("kpar share run interrupted after %d of %d records: %w", done.Load(), n, ctx.Err())
	}
	if runErr != nil {
		return ChildOutput{}, runErr
	}
	end := time.Unix(0, endNs.Load())
	out := ChildOutput{Records: n, Seconds: end.Sub(start).Seconds(), FirstRecordS: float64(firstNs.Load()-start.UnixNano()) / 1e9,
		CPUSeconds: cpu, Members: max(1, spec.Members), Redelivered: int64(st.Redelivered)}
	if steady := end.Sub(time.Unix(0, firstNs.Load())).Seconds(); steady > 0 {
		out.SteadyPerS = float64(n) / steady
	}
	if spec.Sleep > 0 {
		out.MeanHandler = float64(busyNs.Load()) / float64(done.Load()) / 1e6
	}
	if tr != nil {
		out.Order = tr.order() // Run returned: every handler is done
	}
	return out, nil
}
