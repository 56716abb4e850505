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
	cnt, err := newCounter(ctx, spec.Brokers, spec.ClientOpts, spec.Topic, n)
	if err != nil {
		return ChildOutput{}, err
	}
	var busyNs atomic.Int64
	var tr *tracer
	if spec.Trace {
		tr = newTracer(n + n/10 + int64(spec.Concurrency))
	}
	h := func(_ context.Context, r *kgo.Record) error {
		t0 := time.Now()
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
		cnt.handled(r.Partition, r.Offset)
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
	cpu, err := runUntil(ctx, cnt, func(rctx context.Context) error { return c.Run(rctx) }, func() { c.Close() })
	if err != nil {
		return ChildOutput{}, fmt.Errorf("kpar share run: %w", err)
	}
	w, err := cnt.window()
	if err != nil {
		return ChildOutput{}, err
	}
	out := ChildOutput{CPUSeconds: cpu, Members: max(1, spec.Members), Redelivered: int64(c.Stats().Redelivered)}
	fromWindow(&out, w)
	if spec.Sleep > 0 {
		out.MeanHandler = float64(busyNs.Load()) / float64(cnt.calls.Load()) / 1e6
	}
	if tr != nil {
		out.Order = tr.order() // Run returned and the consumer closed: every handler is done
	}
	return out, nil
}
