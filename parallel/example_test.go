package parallel_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/kpar/kpar/parallel"
	"github.com/kpar/kpar/parallel/sharegroup"
)

// The runnable examples use kfake, franz-go's in-process Kafka, so that they
// run under `go test` without a broker. Against a real cluster only the seed
// brokers change.

// exampleCluster starts an in-process Kafka with the given topics (3
// partitions each) and returns its seed addresses and a stop function.
func exampleCluster(topics ...string) ([]string, func()) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, topics...))
	if err != nil {
		panic(err)
	}
	return c.ListenAddrs(), c.Close
}

// exampleProduce writes one record per "key=value" pair to topic and waits
// for the broker's acks.
func exampleProduce(seeds []string, topic string, kvs ...string) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.DefaultProduceTopic(topic))
	if err != nil {
		panic(err)
	}
	defer cl.Close()
	var rs []*kgo.Record
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		rs = append(rs, &kgo.Record{Key: []byte(k), Value: []byte(v)})
	}
	if err := cl.ProduceSync(context.Background(), rs...).FirstErr(); err != nil {
		panic(err)
	}
}

// A keyed consumer: records of one key are processed one at a time in offset
// order, different keys in parallel, with up to 100 handlers at once
// (Ordering(OrderKey), the default, whatever the concurrency). The handler
// notes, per key, the order in which it processed the values. Run returns
// once its context is cancelled, after draining the handlers and committing
// what is done.
func ExampleNew() {
	seeds, stop := exampleCluster("orders")
	defer stop()
	var kvs []string
	for i := 0; i < 12; i++ {
		kvs = append(kvs, fmt.Sprintf("%s=%d", []string{"alice", "bob", "carol"}[i%3], i))
	}
	exampleProduce(seeds, "orders", kvs...)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu    sync.Mutex
		n     int
		order = map[string][]string{}
	)
	handle := func(ctx context.Context, r *kgo.Record) error {
		time.Sleep(time.Millisecond) // some I/O: other keys run meanwhile
		mu.Lock()
		defer mu.Unlock()
		order[string(r.Key)] = append(order[string(r.Key)], string(r.Value))
		if n++; n == 12 {
			cancel() // a real consumer runs until shutdown; this one stops when done
		}
		return nil
	}
	c, err := parallel.New(handle,
		parallel.ClientOpts(
			kgo.SeedBrokers(seeds...),
			kgo.ConsumerGroup("billing"),
			kgo.ConsumeTopics("orders"),
		),
		parallel.Ordering(parallel.OrderKey),
		parallel.MaxConcurrency(100),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	if err := c.Run(ctx); err != nil {
		fmt.Println("run:", err)
	}
	for _, k := range []string{"alice", "bob", "carol"} {
		fmt.Println(k, order[k])
	}
	// Output:
	// alice [0 3 6 9]
	// bob [1 4 7 10]
	// carol [2 5 8 11]
}

// The three ordering modes, chosen by name as a command-line flag would:
// Order implements encoding.TextUnmarshaler, so flag.TextVar (or a JSON or
// YAML config) takes it directly. OrderPartition processes each partition
// one record at a time (like a plain consumer, but partitions run in
// parallel); OrderNone gives up order for throughput.
func ExampleOrder_UnmarshalText() {
	for _, name := range []string{"key", "partition", "unordered", "random"} {
		fs := flag.NewFlagSet("consumer", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		order := parallel.OrderKey
		fs.TextVar(&order, "order", parallel.OrderKey, "key, partition or none")
		if err := fs.Parse([]string{"-order", name}); err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(name, "->", order)
	}
	// Output:
	// key -> key
	// partition -> partition
	// unordered -> none
	// invalid value "random" for flag -order: parallel: invalid option: order "random" (want key, partition or none)
}

// A failure that retrying cannot fix skips the remaining attempts and the
// retry topic: wrap it with Permanent and the record goes straight to the
// dead-letter topic. Transient failures are retried with the caller's own
// delay policy (RetryBackoff), here a fixed 1 ms.
func ExamplePermanent() {
	seeds, stop := exampleCluster("orders", "orders-dlt")
	defer stop()
	exampleProduce(seeds, "orders", "o1=ok", "o2=flaky", "o3=malformed")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu    sync.Mutex
		calls = map[string]int{}
	)
	c, err := parallel.New(func(ctx context.Context, r *kgo.Record) error {
		mu.Lock()
		defer mu.Unlock()
		calls[string(r.Value)]++
		if calls["ok"]+calls["flaky"]+calls["malformed"] == 5 {
			cancel() // every call made: Run drains what is running, then returns
		}
		switch {
		case string(r.Value) == "malformed":
			return parallel.Permanent(errors.New("cannot parse"))
		case string(r.Value) == "flaky" && calls["flaky"] < 3:
			return errors.New("busy")
		}
		return nil
	},
		parallel.ClientOpts(kgo.SeedBrokers(seeds...), kgo.ConsumerGroup("orders"), kgo.ConsumeTopics("orders")),
		parallel.Retries(5, 0, 0),
		parallel.RetryBackoff(func(attempt int, err error) time.Duration { return time.Millisecond }),
		parallel.DeadLetterTopic("orders-dlt"),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := c.Run(ctx); err != nil {
		fmt.Println("run:", err)
	}
	fmt.Println("calls:", calls["ok"], calls["flaky"], calls["malformed"])
	st := c.Stats()
	fmt.Println("completed:", st.Completed, "dead-lettered:", st.DeadLettered)
	// Output:
	// calls: 1 3 1
	// completed: 2 dead-lettered: 1
}

// Failures: each record gets 2 attempts in place, then one trip through a
// retry topic (due 50 ms later, without blocking its source partition), then
// goes to the dead-letter topic with headers saying where it came from and
// why it failed. The source offsets are committed once the record is
// durably in the retry or dead-letter topic.
func ExampleRetryTopic() {
	seeds, stop := exampleCluster("payments", "payments-retry", "payments-dlt")
	defer stop()
	exampleProduce(seeds, "payments", "a=ok", "b=flaky", "c=poison")

	var (
		mu       sync.Mutex
		attempts = map[string]int{}
		done     []string
	)
	handle := func(ctx context.Context, r *kgo.Record) error {
		v := string(r.Value)
		mu.Lock()
		attempts[v]++
		n := attempts[v]
		mu.Unlock()
		switch {
		case v == "poison":
			return errors.New("cannot parse amount")
		case v == "flaky" && n <= 2: // fails both in-place attempts
			return errors.New("payment service unavailable")
		}
		mu.Lock()
		done = append(done, fmt.Sprintf("%s (attempt %d, from %s)", v, n, r.Topic))
		mu.Unlock()
		return nil
	}
	c, err := parallel.New(handle,
		parallel.ClientOpts(kgo.SeedBrokers(seeds...), kgo.ConsumerGroup("payer"), kgo.ConsumeTopics("payments")),
		parallel.Retries(2, time.Millisecond, 10*time.Millisecond),
		parallel.RetryTopic("payments-retry", 50*time.Millisecond, 1),
		parallel.DeadLetterTopic("payments-dlt"),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(ctx) }()

	// Read the dead-letter topic with a plain client.
	dlt, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics("payments-dlt"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer dlt.Close()
	pctx, pcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer pcancel()
	var dead *kgo.Record
	for dead == nil && pctx.Err() == nil {
		if rs := dlt.PollFetches(pctx).Records(); len(rs) > 0 {
			dead = rs[0]
		}
	}
	cancel()
	if err := <-runErr; err != nil {
		fmt.Println("run:", err)
	}
	c.Close()

	sort.Strings(done)
	for _, d := range done {
		fmt.Println("done:", d)
	}
	if dead != nil {
		fmt.Printf("dead-lettered: %s from %s after %s attempts: %s\n", dead.Value,
			parallel.Header(dead, parallel.HeaderOriginTopic),
			parallel.Header(dead, parallel.HeaderAttempts),
			parallel.Header(dead, parallel.HeaderError))
	}
	// Output:
	// done: flaky (attempt 3, from payments-retry)
	// done: ok (attempt 1, from payments)
	// dead-lettered: poison from payments after 4 attempts: cannot parse amount
}

// Graceful shutdown: cancelling Run's context (or calling Close) stops
// polling, lets running handlers finish within DrainTimeout, makes a final
// commit and leaves the group. Nothing done is left uncommitted, so the next
// member of the group starts exactly after it.
func ExampleConsumer_Run() {
	seeds, stop := exampleCluster("jobs")
	defer stop()
	exampleProduce(seeds, "jobs", "j1=1", "j2=2", "j3=3", "j4=4")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu sync.Mutex
		n  int
	)
	c, err := parallel.New(func(ctx context.Context, r *kgo.Record) error {
		mu.Lock()
		defer mu.Unlock()
		if n++; n == 4 {
			cancel() // as a SIGTERM handler would
		}
		return nil
	},
		parallel.ClientOpts(kgo.SeedBrokers(seeds...), kgo.ConsumerGroup("workers"), kgo.ConsumeTopics("jobs")),
		parallel.CommitInterval(time.Hour), // no periodic commit: only the final one
		parallel.DrainTimeout(10*time.Second),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("Run returned:", c.Run(ctx))
	fmt.Println("Close returned:", c.Close())

	adm, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer adm.Close()
	offs, err := kadm.NewClient(adm).FetchOffsets(context.Background(), "workers")
	if err != nil {
		fmt.Println(err)
		return
	}
	var sum int64
	offs.Each(func(o kadm.OffsetResponse) { sum += o.At })
	fmt.Println("records covered by the final commit:", sum)
	// Output:
	// Run returned: <nil>
	// Close returned: <nil>
	// records covered by the final commit: 4
}

// A production main: SIGINT/SIGTERM cancel Run's context, which drains and
// commits before Run returns. Here the process sends itself the SIGTERM an
// orchestrator would, once its four records are handled; the commit that
// follows covers them all. (For metrics, register kprom.NewCollector(c): see
// the kprom package.)
func Example_signals() {
	seeds, stopCluster := exampleCluster("orders")
	defer stopCluster()
	exampleProduce(seeds, "orders", "o1=1", "o2=2", "o3=3", "o4=4")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var handled sync.WaitGroup
	handled.Add(4)
	c, err := parallel.New(func(ctx context.Context, r *kgo.Record) error {
		// Honour ctx: it is cancelled when the record's partition is
		// revoked past RevokeTimeout or Close gives up (DrainTimeout).
		handled.Done()
		return nil
	},
		parallel.ClientOpts(
			kgo.SeedBrokers(seeds...),
			kgo.ConsumerGroup("billing"),
			kgo.ConsumeTopics("orders"),
		),
		parallel.CommitInterval(time.Hour),    // no periodic commit: only the final one
		parallel.DrainTimeout(20*time.Second), // keep below your orchestrator's kill grace period
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer c.Close()
	go func() {
		handled.Wait()
		_ = syscall.Kill(os.Getpid(), syscall.SIGTERM) // the orchestrator stops the pod
	}()
	if err := c.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("Run returned after SIGTERM:", ctx.Err())
	fmt.Println("records covered by the final commit:", committedSum(seeds, "billing"))
	// Output:
	// Run returned after SIGTERM: context canceled
	// records covered by the final commit: 4
}

// committedSum adds up group's committed offsets (-1 on error).
func committedSum(seeds []string, group string) int64 {
	adm, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		return -1
	}
	defer adm.Close()
	offs, err := kadm.NewClient(adm).FetchOffsets(context.Background(), group)
	if err != nil {
		return -1
	}
	var sum int64
	offs.Each(func(o kadm.OffsetResponse) { sum += o.At })
	return sum
}

// A share group (KIP-932) as a job queue: any number of handlers per
// partition, each record acknowledged when its handler is done. A failed
// delivery is released and the broker delivers the record again (its
// delivery count goes up); a Permanent failure goes to the dead-letter topic
// with its origin and delivery count, and is then accepted. New share
// groups read only new records, so the group is first set to read from the
// start (a group config on the broker: see package sharegroup).
func ExampleShareGroup() {
	seeds, stop := exampleCluster("jobs", "jobs-dlt")
	defer stop()
	exampleProduce(seeds, "jobs", "a=resize", "b=flaky", "c=corrupt", "d=resize")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	adm, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer adm.Close()
	if err := sharegroup.FromEarliest(ctx, adm, "workers"); err != nil {
		fmt.Println(err)
		return
	}
	var (
		mu         sync.Mutex
		deliveries = map[string][]int32{}
		settled    int
	)
	c, err := parallel.New(func(ctx context.Context, r *kgo.Record) error {
		mu.Lock()
		defer mu.Unlock()
		deliveries[string(r.Key)] = append(deliveries[string(r.Key)], r.DeliveryCount())
		var err error
		switch {
		case string(r.Value) == "corrupt":
			err = parallel.Permanent(errors.New("bad image"))
		case string(r.Value) == "flaky" && r.DeliveryCount() == 1:
			err = errors.New("storage busy")
		}
		if err == nil || parallel.IsPermanent(err) {
			if settled++; settled == 4 {
				cancel()
			}
		}
		return err
	},
		parallel.ClientOpts(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics("jobs")),
		parallel.ShareGroup("workers"),
		parallel.MaxConcurrency(50),
		parallel.Retries(1, 0, 0), // no in-place retry: a failure is released to the group at once
		parallel.DeadLetterTopic("jobs-dlt"),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := c.Run(ctx); err != nil {
		fmt.Println("run:", err)
	}
	for _, k := range []string{"a", "b", "c", "d"} {
		fmt.Println(k, "deliveries:", deliveries[k])
	}
	st := c.Stats()
	fmt.Println("completed:", st.Completed, "released:", st.Released, "redelivered:", st.Redelivered, "dead-lettered:", st.DeadLettered)
	// Output:
	// a deliveries: [1]
	// b deliveries: [1 2]
	// c deliveries: [1]
	// d deliveries: [1]
	// completed: 3 released: 1 redelivered: 1 dead-lettered: 1
}

// Exactly-once consume-transform-produce: the handler returns its output
// records and the library produces them in the transaction that commits
// their input, so a read_committed reader of "totals" sees each order's
// output once, whatever crashes or rebalances happen (see NewTransform).
// Each consumer of the group needs its own transactional ID, stable across
// its restarts.
func ExampleNewTransform() {
	seeds, stop := exampleCluster("orders", "totals")
	defer stop()
	exampleProduce(seeds, "orders", "alice=1", "bob=2", "alice=3")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var done sync.WaitGroup
	done.Add(3)
	transform := func(ctx context.Context, r *kgo.Record) ([]*kgo.Record, error) {
		defer done.Done()
		return []*kgo.Record{{Topic: "totals", Key: r.Key, Value: append([]byte("order "), r.Value...)}}, nil
	}
	c, err := parallel.NewTransform(transform,
		parallel.ClientOpts(kgo.SeedBrokers(seeds...), kgo.ConsumerGroup("billing"), kgo.ConsumeTopics("orders"),
			kgo.TransactionalID("billing-0")),
		parallel.Ordering(parallel.OrderKey),
	)
	if err != nil {
		panic(err)
	}
	go func() { done.Wait(); cancel() }()
	if err := c.Run(ctx); err != nil { // the final commit is a transaction too
		panic(err)
	}

	rd, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics("totals"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		panic(err)
	}
	defer rd.Close()
	var outs []string
	for len(outs) < 3 {
		rd.PollFetches(context.Background()).EachRecord(func(r *kgo.Record) {
			outs = append(outs, string(r.Key)+": "+string(r.Value))
		})
	}
	sort.Strings(outs)
	fmt.Println(strings.Join(outs, "\n"))
	// Output:
	// alice: order 1
	// alice: order 3
	// bob: order 2
}

// Batches for bulk writes: up to 50 records per call, or whatever is ready
// after 20 ms. Under key order a batch holds at most one record per key, so
// a key's records are written in order, one batch after another.
func ExampleNewBatch() {
	seeds, stop := exampleCluster("orders")
	defer stop()
	exampleProduce(seeds, "orders", "alice=1", "bob=2", "alice=3", "carol=4")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu      sync.Mutex
		written []string
	)
	bulkWrite := func(ctx context.Context, rs []*kgo.Record) error {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range rs {
			written = append(written, string(r.Key)+"="+string(r.Value))
		}
		if len(written) == 4 {
			cancel()
		}
		return nil // an error retries each record of the batch alone
	}
	c, err := parallel.NewBatch(bulkWrite,
		parallel.ClientOpts(kgo.SeedBrokers(seeds...), kgo.ConsumerGroup("loader"), kgo.ConsumeTopics("orders")),
		parallel.BatchSize(50, 20*time.Millisecond),
	)
	if err != nil {
		panic(err)
	}
	if err := c.Run(ctx); err != nil {
		panic(err)
	}
	sort.Strings(written)
	fmt.Println(strings.Join(written, " "))
	// Output: alice=1 alice=3 bob=2 carol=4
}

// A secured cluster: TLS and SASL are the client's business, given through
// ClientOpts like the seeds (here SCRAM-SHA-256 against kfake with SASL on;
// add kgo.DialTLSConfig(&tls.Config{RootCAs: pool}) for TLS). A group or a
// dead-letter topic the user may not use stops Run with ErrNotAuthorized.
func ExampleClientOpts_sasl() {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "orders"), kfake.EnableSASL(),
		kfake.Superuser("SCRAM-SHA-256", "billing-svc", "s3cret"))
	if err != nil {
		panic(err)
	}
	defer c.Close()
	login := kgo.SASL(scram.Auth{User: "billing-svc", Pass: "s3cret"}.AsSha256Mechanism())
	seeds := c.ListenAddrs()
	prod, err := kgo.NewClient(kgo.SeedBrokers(seeds...), login, kgo.DefaultProduceTopic("orders"))
	if err != nil {
		panic(err)
	}
	prod.ProduceSync(context.Background(), &kgo.Record{Key: []byte("o1"), Value: []byte("paid")})
	prod.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cons, err := parallel.New(func(ctx context.Context, r *kgo.Record) error {
		fmt.Printf("%s %s\n", r.Key, r.Value)
		cancel()
		return nil
	}, parallel.ClientOpts(kgo.SeedBrokers(seeds...), login, kgo.ConsumerGroup("billing"), kgo.ConsumeTopics("orders")))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := cons.Run(ctx); err != nil {
		fmt.Println("run:", err)
	}
	// Output:
	// o1 paid
}
