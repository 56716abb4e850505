package parallel_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/parallel"
	"github.com/kpar/kpar/parallel/internal/testkit"
)

// BenchmarkNoopConsume consumes n pre-produced records (8 partitions, 1000
// keys) on kfake with a no-op handler, key order and 16 workers: the
// library's whole no-op path, fetches from the in-process broker included.
// One op is one full consumption in a new group; ns/record and
// allocs/record are reported beside it.
func BenchmarkNoopConsume(b *testing.B) {
	const n = 100_000
	seeds := testkit.Kfake(b)
	topic := testkit.ProducedTopic(b, seeds, 8, n, 1000, testkit.RoundRobin)
	b.ReportAllocs()
	b.ResetTimer()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	for i := range b.N {
		var seen atomic.Int64
		h := func(context.Context, *kgo.Record) error { seen.Add(1); return nil }
		c, err := parallel.New(h,
			parallel.ClientOpts(kgo.SeedBrokers(seeds...), kgo.ConsumerGroup(fmt.Sprintf("g%d", i)), kgo.ConsumeTopics(topic)),
			parallel.Ordering(parallel.OrderKey), parallel.MaxConcurrency(16))
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { errc <- c.Run(ctx) }()
		deadline := time.Now().Add(60 * time.Second)
		for seen.Load() < n {
			if time.Now().After(deadline) {
				b.Fatalf("consumed %d of %d records", seen.Load(), n)
			}
			time.Sleep(time.Millisecond)
		}
		cancel()
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(b.N*n), "allocs/record")
}
