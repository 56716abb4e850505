package parallel

import (
	"context"
	"strconv"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkDispatch measures the per-record cost of the group engine's
// dispatch with a no-op handler, without fetching: synthetic polls are
// parked and admitted as the poll loop does (park, admitRound, waiting on
// c.space), 16 workers run the lanes and mark the records done. One op is
// one record. The only allocations of the harness itself are one record
// block and one pointer slice per poll.
func BenchmarkDispatch(b *testing.B) {
	for _, bc := range []struct {
		name  string
		order Order
		keys  int
	}{
		{"key/keys=1000", OrderKey, 1000},
		{"key/keys=16", OrderKey, 16},
		{"partition", OrderPartition, 1000},
		{"none", OrderNone, 1000},
	} {
		b.Run(bc.name, func(b *testing.B) { benchDispatch(b, bc.order, bc.keys) })
	}
}

func benchDispatch(b *testing.B, order Order, nkeys int) {
	const (
		parts   = 4
		pollLen = 500 // records per partition per poll
		workers = 16
	)
	kc, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		b.Fatal(err)
	}
	defer kc.Close()
	c, err := New(func(context.Context, *kgo.Record) error { return nil },
		ClientOpts(kgo.SeedBrokers(kc.ListenAddrs()...), kgo.ConsumerGroup("bench"), kgo.ConsumeTopics("absent")),
		MaxConcurrency(workers), Ordering(order))
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

	c.slots = make([]workerSlot, workers)
	var wg sync.WaitGroup
	for i := range c.slots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.worker(&c.slots[i])
		}()
	}

	b.ReportAllocs()
	b.ResetTimer()
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
	c.q.close()
	wg.Wait()
	for _, p := range ps {
		if got, want := p.tr.Committable(), next[p.tp.part]; want > 0 && got != want {
			b.Fatalf("partition %d: committable %d, want %d", p.tp.part, got, want)
		}
	}
}
