// Command batchwriter shows parallel.NewBatch: records handed to the handler
// in batches, one bulk write per batch, as a handler writing to a database
// would. It produces --records events over --keys keys, then consumes them
// with key order kept: a batch holds at most one record per key, and a key's
// next record waits for the batch holding its previous one. The "database"
// is an in-process table whose bulk insert costs --write per call, whatever
// the batch size, which is why batching pays. It prints the calls made, the
// mean batch size, and checks every record was written once, in key order.
//
// Run it against a local broker:
//
//	kpar broker up                      # 127.0.0.1:9092
//	go run ./examples/batchwriter       # or --brokers host:port,...
//	go run ./examples/batchwriter --records 100000 --batch 200 --write 5ms
//
// The topic (kpar-example-batch-<time>) is deleted at exit unless --keep.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/examples/internal/demo"
	"github.com/kpar/kpar/parallel"
)

func main() {
	batch := flag.Int("batch", 100, "records per bulk write at most")
	write := flag.Duration("write", 5*time.Millisecond, "cost of one bulk write, whatever its size")
	demo.Main("batchwriter", demo.Load{Records: 20000, Keys: 2000}, func(ctx context.Context, load demo.Load) error {
		return run(ctx, load, *batch, *write)
	})
}

// table stands for a database table with a bulk insert.
type table struct {
	mu      sync.Mutex
	rows    map[string][]int // key -> values in the order written
	calls   int
	written int
}

func (t *table) insert(ctx context.Context, cost time.Duration, rs []*kgo.Record) error {
	select { // one round trip per call
	case <-time.After(cost):
	case <-ctx.Done():
		return ctx.Err()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.calls++
	for _, r := range rs {
		v, err := strconv.Atoi(string(r.Value))
		if err != nil {
			return parallel.Permanent(err)
		}
		t.rows[string(r.Key)] = append(t.rows[string(r.Key)], v)
		t.written++
	}
	return nil
}

func run(ctx context.Context, load demo.Load, batch int, cost time.Duration) error {
	// Step 1: a fresh topic, and n events over the keys in turn, so that
	// each key's values rise with the offset.
	n := load.Records
	topic, err := demo.Topic(ctx, "batch", "key-", load)
	if err != nil {
		return err
	}

	// Step 2: write them to the table in batches, one bulk insert each.
	db := &table{rows: map[string][]int{}}
	start := time.Now()
	if err := write(ctx, topic, n, batch, cost, db); err != nil {
		return err
	}
	secs := time.Since(start).Seconds()

	// Step 3: check the table: every event once, each key's in order.
	db.mu.Lock()
	defer db.mu.Unlock()
	var outOfOrder, dup int
	seen := map[int]bool{}
	for _, vs := range db.rows {
		for i, v := range vs {
			if seen[v] {
				dup++
			}
			seen[v] = true
			if i > 0 && v < vs[i-1] {
				outOfOrder++
			}
		}
	}
	fmt.Printf("wrote %d events in %d bulk writes (mean batch %.1f, at most %d) in %.1fs\n",
		db.written, db.calls, float64(db.written)/float64(db.calls), batch, secs)
	fmt.Printf("missing: %d; written twice: %d; key order violations: %d\n", n-len(seen), dup, outOfOrder)
	if len(seen) != n || outOfOrder > 0 {
		return errors.New("not every event written once in key order")
	}
	return nil
}

// write runs a batch consumer over topic, each batch one insert into db,
// until db holds n events.
func write(ctx context.Context, topic string, n, batch int, cost time.Duration, db *table) error {
	c, err := parallel.NewBatch(func(ctx context.Context, rs []*kgo.Record) error {
		return db.insert(ctx, cost, rs)
	},
		parallel.ClientOpts(kgo.SeedBrokers(demo.Brokers()...), kgo.ConsumeTopics(topic), kgo.ConsumerGroup(topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())),
		parallel.Ordering(parallel.OrderKey),
		// A few batches' worth of handlers, so the next batches fill while one writes.
		parallel.MaxConcurrency(4*batch), parallel.BatchSize(batch, 10*time.Millisecond))
	if err != nil {
		return err
	}
	defer c.Close()
	return demo.RunUntil(ctx, func() bool {
		db.mu.Lock()
		defer db.mu.Unlock()
		return db.written >= n
	}, c)
}
