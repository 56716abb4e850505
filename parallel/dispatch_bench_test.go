package parallel

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkDispatch measures the per-record cost of the group engine's
// dispatch with a no-op handler, without fetching: synthetic polls are
// parked and admitted as the poll loop does (park, admitRound, waiting on
// c.space), 16 workers run the lanes and mark the records done. One op is
// one record. The only allocations of the harness itself are one record
// block and one pointer slice per poll. cpu-ns/op is the process's CPU
// time per record (the harness's included), steadier than ns/op when the
// machine is shared.
func BenchmarkDispatch(b *testing.B) {
	for _, bc := range []dispatchCase{
		{name: "key/keys=1000", order: OrderKey, keys: 1000},
		{name: "key/keys=16", order: OrderKey, keys: 16},
		{name: "partition", order: OrderPartition, keys: 1000},
		{name: "none", order: OrderNone, keys: 1000},
		// The I/O-bound shape: many workers, each record sleeping.
		{name: "key/keys=10000/workers=5000/sleep=5ms", order: OrderKey, keys: 10000,
			workers: 5000, sleep: 5 * time.Millisecond, maxBuffered: 60000, perPart: 5000},
	} {
		b.Run(bc.name, func(b *testing.B) { benchDispatch(b, bc) })
	}
}

// dispatchCase is one shape of BenchmarkDispatch; zero workers means 16,
// zero buffer bounds the library's defaults.
type dispatchCase struct {
	name                 string
	order                Order
	keys                 int
	workers              int
	sleep                time.Duration
	maxBuffered, perPart int
}

func benchDispatch(b *testing.B, bc dispatchCase) {
	const (
		parts   = 4
		pollLen = 500 // records per partition per poll
	)
	order, nkeys, workers := bc.order, bc.keys, bc.workers
	if workers == 0 {
		workers = 16
	}
	handler := func(context.Context, *kgo.Record) error { return nil }
	if bc.sleep > 0 {
		handler = func(context.Context, *kgo.Record) error { time.Sleep(bc.sleep); return nil }
	}
	opts := []Opt{MaxConcurrency(workers), Ordering(order)}
	if bc.maxBuffered > 0 {
		opts = append(opts, MaxBuffered(bc.maxBuffered), MaxBufferedPerPartition(bc.perPart))
	}
	kc, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		b.Fatal(err)
	}
	defer kc.Close()
	c, err := New(handler, append(opts,
		ClientOpts(kgo.SeedBrokers(kc.ListenAddrs()...), kgo.ConsumerGroup("bench"), kgo.ConsumeTopics("absent")))...)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()

	keys := make([][]byte, nkeys)
	for i := range keys {
		keys[i] = []byte("k" + strconv.Itoa(i))
	}
	ps := make([]*partition, parts)
	next := make([]int64, parts)
	c.mu.Lock()
	for i := range ps {
		k := tp{"bench", int32(i)}
		ps[i] = c.newPartition(k)
		c.parts[k] = ps[i]
	}
	c.mu.Unlock()
	poll := func(i int, n int) []*kgo.Record {
		block := make([]kgo.Record, n)
		rs := make([]*kgo.Record, n)
		for j := range block {
			o := next[i] + int64(j)
			block[j] = kgo.Record{Topic: "bench", Partition: int32(i), Offset: o, Key: keys[o%int64(nkeys)]}
			rs[j] = &block[j]
		}
		next[i] += int64(n)
		return rs
	}

	wg := c.startWorkers()

	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU(b)
	var (
		ready []runnable
		queue []*partition
	)
	issued := 0
	for issued < b.N || len(queue) > 0 {
		queue = c.admitRound(queue, &ready)
		if len(queue) > 0 {
			<-c.space // full, or out of map room: wait for a completion
			continue
		}
		for i, p := range ps {
			n := min(pollLen, b.N-issued)
			if n <= 0 {
				break
			}
			c.park(p, next[i]+int64(n), poll(i, n))
			queue = append(queue, p)
			issued += n
		}
	}
	for c.held.Load() > 0 {
		<-c.space
	}
	b.StopTimer()
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
	c.q.close()
	wg.Wait()
	for _, p := range ps {
		if got, want := p.tr.Committable(), next[p.tp.part]; want > 0 && got != want {
			b.Fatalf("partition %d: committable %d, want %d", p.tp.part, got, want)
		}
	}
}
