// Command keyed shows key ordering at high concurrency: it produces
// --records records over --keys keys into a fresh topic, then processes them
// with the parallel consumer (OrderKey, --concurrency handlers at once, each
// sleeping --work to stand for I/O), checks that every key's records were
// handled in offset order, and prints the throughput against the ideal
// concurrency/work rate.
//
// Run it against a local broker:
//
//	kpar broker up                      # 127.0.0.1:9092
//	go run ./examples/keyed             # or --brokers host:port,...
//	go run ./examples/keyed --records 200000 --keys 1000 --concurrency 500 --work 5ms
//
// The topic (kpar-example-keyed-<time>) is deleted at exit unless --keep.
package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/examples/internal/demo"
	"github.com/kpar/kpar/parallel"
)

func main() {
	demo.Main("keyed", demo.Load{Records: 20000, Keys: 1000, Partitions: 6, Concurrency: 500, Work: 2 * time.Millisecond}, run)
}

func run(ctx context.Context, load demo.Load) error {
	// Step 1: a fresh topic, and n records over the keys in turn, so that
	// each key's values rise with the offset.
	n, concurrency, work := load.Records, load.Concurrency, load.Work
	topic, err := demo.Topic(ctx, "keyed", "key-", load)
	if err != nil {
		return err
	}

	// Step 2: consume them in key order, many handlers at once, each
	// checking that its key's values still rise.
	k := &keyCheck{n: n, work: work, last: make(map[string]int, load.Keys)}
	start := time.Now()
	if err := consume(ctx, topic, concurrency, k); err != nil {
		return err
	}
	elapsed := time.Since(start)
	if k.done.Load() < int64(n) {
		return errors.New("interrupted")
	}

	// Step 3: the rate against the ideal (every handler busy all the time)
	// and the order violations, which must be none.
	rate := float64(n) / elapsed.Seconds()
	ideal := float64(concurrency) / work.Seconds()
	fmt.Printf("processed %d records in %v: %.0f records/s\n", n, elapsed.Round(time.Millisecond), rate)
	fmt.Printf("ideal (concurrency/work) %.0f records/s: %.0f%% of it; peak handlers running %d (partitions %d)\n",
		ideal, 100*rate/ideal, k.peak.Load(), load.Partitions)
	fmt.Printf("key order violations: %d\n", k.violations)
	if k.violations > 0 {
		return fmt.Errorf("%d key order violations", k.violations)
	}
	return nil
}

// keyCheck is what the handler sees. Per key it keeps the last value seen:
// values of one key rise with the offset, so a smaller value after a larger
// one is an ordering violation.
type keyCheck struct {
	n    int
	work time.Duration // simulated I/O per record
	stop func()        // called once every record is done

	mu                  sync.Mutex
	last                map[string]int
	violations          int
	done, running, peak atomic.Int64
}

// compare:loc begin kpar
func (k *keyCheck) handle(ctx context.Context, r *kgo.Record) error {
	// compare:loc end
	cur := k.running.Add(1)
	for p := k.peak.Load(); cur > p && !k.peak.CompareAndSwap(p, cur); p = k.peak.Load() {
	}
	time.Sleep(k.work)
	k.running.Add(-1)
	v, _ := strconv.Atoi(string(r.Value))
	k.mu.Lock()
	if prev, ok := k.last[string(r.Key)]; ok && v < prev {
		k.violations++
	}
	k.last[string(r.Key)] = v
	k.mu.Unlock()
	if k.done.Add(1) == int64(k.n) {
		k.stop()
	}
	return nil
}

// consume runs a parallel consumer with key order over topic until k has
// seen every record (or ctx ends), printing its progress every second.
func consume(ctx context.Context, topic string, concurrency int, k *keyCheck) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	k.stop = cancel
	// compare:loc begin kpar
	c, err := parallel.New(k.handle,
		parallel.ClientOpts(kgo.SeedBrokers(demo.Brokers()...), kgo.ConsumerGroup(topic+"-group"), kgo.ConsumeTopics(topic)),
		parallel.Ordering(parallel.OrderKey),
		parallel.MaxConcurrency(concurrency),
	)
	if err != nil {
		return err
	}
	defer c.Close()
	// compare:loc end
	defer demo.Every(time.Second, func() {
		fmt.Printf("  %d/%d done, %d in flight\n", k.done.Load(), k.n, c.Stats().InFlight)
	})()
	// compare:loc begin kpar
	if err := c.Run(ctx); err != nil {
		return err
	}
	// compare:loc end
	return nil
}
