// Command transform shows exactly-once consume-transform-produce: it produces
// --records orders into a fresh input topic, then runs parallel.NewTransform,
// whose handler turns each order into one enriched record on an output topic.
// The outputs are produced in the transaction that commits their input, so a
// read_committed reader sees each order's output exactly once, whatever
// crashes, retries or rebalances happened. It then reads the output topic
// read_committed and prints how many outputs each input got.
//
// Run it against a local broker:
//
//	kpar broker up                      # 127.0.0.1:9092
//	go run ./examples/transform         # or --brokers host:port,...
//	go run ./examples/transform --records 50000 --concurrency 200
//
// The topics (kpar-example-transform-<time>-in/-out) are deleted at exit
// unless --keep.
package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/examples/internal/demo"
	"github.com/kpar/kpar/parallel"
)

func main() {
	demo.Main("transform", demo.Load{Records: 10000, Concurrency: 100}, run)
}

func run(ctx context.Context, load demo.Load) error {
	n, concurrency := load.Records, load.Concurrency
	// Step 1: an input and an output topic, and n orders in the input.
	base := demo.Name("transform")
	in, out := base+"-in", base+"-out"
	if err := demo.CreateTopics(ctx, 6, in, out); err != nil {
		return err
	}
	fmt.Printf("producing %d orders into %s\n", n, in)
	if err := demo.Produce(ctx, in, n, func(i int) (string, string) {
		return "customer-" + strconv.Itoa(i%100), fmt.Sprintf("order-%d,%d", i, 100+i%900)
	}); err != nil {
		return err
	}

	// Step 2: transform each order into one output record, exactly once.
	start := time.Now()
	if err := transform(ctx, base, in, out, n, concurrency); err != nil {
		return err
	}
	fmt.Printf("transformed %d orders with %d handlers in %.1fs\n", n, concurrency, time.Since(start).Seconds())

	// Step 3: read the outputs as a read_committed consumer would: every
	// order has exactly one.
	counts, err := readCommitted(ctx, out)
	if err != nil {
		return err
	}
	var missing, dup int
	for i := 0; i < n; i++ {
		switch c := counts["order-"+strconv.Itoa(i)]; {
		case c == 0:
			missing++
		case c > 1:
			dup += c - 1
		}
	}
	fmt.Printf("outputs read_committed: %d; orders without an output: %d; duplicated outputs: %d\n", len(counts)+dup, missing, dup)
	if missing+dup > 0 {
		return errors.New("not exactly once")
	}
	return nil
}

// transform runs a transform consumer over the orders in topic in until
// it has transformed n, writing each one's output to topic out.
func transform(ctx context.Context, base, in, out string, n, concurrency int) error {
	// The handler's outputs are not visible until the transaction that
	// commits their input succeeds. Give each consumer of the group its own
	// TransactionalID, stable across restarts (a pod name, say).
	var done atomic.Int64
	c, err := parallel.NewTransform(func(ctx context.Context, r *kgo.Record) ([]*kgo.Record, error) {
		id, amount, ok := strings.Cut(string(r.Value), ",")
		if !ok {
			return nil, parallel.Permanent(errors.New("not an order: " + string(r.Value)))
		}
		cents, err := strconv.Atoi(amount)
		if err != nil {
			return nil, parallel.Permanent(err)
		}
		done.Add(1)
		return []*kgo.Record{{Topic: out, Key: r.Key,
			Value: []byte(fmt.Sprintf("%s,%d,vat=%d", id, cents, cents*20/100))}}, nil
	},
		parallel.ClientOpts(kgo.SeedBrokers(demo.Brokers()...), kgo.ConsumeTopics(in), kgo.ConsumerGroup(base),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.TransactionalID(base+"-0")),
		parallel.Ordering(parallel.OrderKey), parallel.MaxConcurrency(concurrency))
	if err != nil {
		return err
	}
	defer c.Close()
	// Stopping Run lets the last transaction commit: Run commits what is done.
	return demo.RunUntil(ctx, func() bool { return done.Load() >= int64(n) }, c)
}

// readCommitted counts the outputs per order id in topic, as a
// read_committed consumer sees them. To know it has read everything, it
// first appends a plain (non-transactional) end record to every partition
// and reads until it meets each one: everything committed before it is then
// read, and no transaction marker or pause is mistaken for the end.
func readCommitted(ctx context.Context, topic string) (map[string]int, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(demo.Brokers()...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	parts, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("partitions of %s: %w", topic, err)
	}
	left := map[int32]bool{}
	var ends []*kgo.Record
	parts.Each(func(o kadm.ListedOffset) {
		left[o.Partition] = true
		ends = append(ends, &kgo.Record{Topic: topic, Partition: o.Partition, Value: []byte("end")})
	})
	if err := cl.ProduceSync(ctx, ends...).FirstErr(); err != nil {
		return nil, fmt.Errorf("end records: %w", err)
	}
	counts := map[string]int{}
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for len(left) > 0 {
		fs := cl.PollFetches(rctx)
		if err := rctx.Err(); err != nil {
			return nil, fmt.Errorf("read %s: %d partitions not read to their end record: %w", topic, len(left), err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if string(r.Value) == "end" {
				delete(left, r.Partition)
				return
			}
			id, _, _ := strings.Cut(string(r.Value), ",")
			counts[id]++
		})
	}
	return counts, nil
}
