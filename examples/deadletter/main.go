// Command deadletter shows the failure path of the parallel consumer: in-place
// retries with backoff, a retry topic that re-delivers records when due
// without blocking their source partition, and a dead-letter topic whose
// records carry headers naming their origin and failure.
//
// It produces --records "payments" into a fresh topic. Every 10th payment is
// poison (always fails); every 7th other one is flaky (fails its first three
// attempts, so it recovers only through the retry topic); every 3rd other one
// fails once and recovers in place. It then prints what went where and the
// dead-letter records with their headers.
//
// Run it against a local broker:
//
//	kpar broker up                      # 127.0.0.1:9092
//	go run ./examples/deadletter        # or --brokers host:port,...
//
// Its three topics (kpar-example-dlt-<time>, -retry, -dlt) are deleted at exit
// unless --keep.
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
	delay := flag.Duration("retry-delay", 500*time.Millisecond, "how long a record waits in the retry topic")
	demo.Main("deadletter", demo.Load{Records: 100}, func(ctx context.Context, load demo.Load) error {
		return run(ctx, load.Records, *delay)
	})
}

func kind(v int) string {
	switch {
	case v%10 == 0:
		return "poison"
	case v%7 == 0:
		return "flaky"
	case v%3 == 0:
		return "hiccup"
	}
	return "ok"
}

func run(ctx context.Context, n int, delay time.Duration) error {
	// Step 1: three topics: the payments, the retry topic and the
	// dead-letter topic; and the payments, each value its number, which
	// decides its kind.
	source := demo.Name("dlt")
	retry, dlt := source+"-retry", source+"-dlt"
	if err := demo.CreateTopics(ctx, 3, source); err != nil {
		return err
	}
	if err := demo.CreateTopics(ctx, 1, retry, dlt); err != nil {
		return err
	}
	if err := demo.Produce(ctx, source, n, demo.Keyed("account-", 13)); err != nil {
		return err
	}
	fmt.Printf("produced %d payments to %s\n", n, source)

	// Step 2: the consumer, with the failure path in three stages.
	p := &payments{retryTopic: retry, attempts: map[int]int{}, outcome: map[string]int{}}
	c, err := parallel.New(p.handle,
		parallel.ClientOpts(kgo.SeedBrokers(demo.Brokers()...), kgo.ConsumerGroup(source+"-group"), kgo.ConsumeTopics(source)),
		parallel.Retries(3, 10*time.Millisecond, 100*time.Millisecond), // 3 attempts in place
		parallel.RetryTopic(retry, delay, 1),                           // then one round via the retry topic
		parallel.DeadLetterTopic(dlt),                                  // then the dead-letter topic
	)
	if err != nil {
		return err
	}
	defer c.Close()

	// Step 3: run it while reading the dead-letter topic, until every
	// payment succeeded or was dead-lettered.
	wantDead := 0
	for v := range n {
		if kind(v) == "poison" {
			wantDead++
		}
	}
	letters, err := demo.RunUntilDeadLettered(ctx, dlt, wantDead, func() bool { return p.succeededCount() == n-wantDead }, c)
	if err != nil {
		return err
	}

	// Step 4: what went where, and each dead letter with its headers.
	st := c.Stats()
	fmt.Printf("\n%d payments: %d succeeded, %d dead-lettered\n", n, p.succeeded, len(letters))
	for _, where := range []string{"first attempt", "retried in place", "via the retry topic"} {
		fmt.Printf("  succeeded %-20s %d\n", where+":", p.outcome[where])
	}
	fmt.Printf("  failed attempts %d, in-place retries %d, sent to retry topic %d, dead-lettered %d\n",
		st.Failed, st.Retried, st.RetryTopic, st.DeadLettered)
	fmt.Printf("\ndead-letter topic %s:\n", dlt)
	for _, r := range letters {
		fmt.Printf("  payment %-4s from %s[%s]@%s after %s attempts: %s\n", r.Value,
			parallel.Header(r, parallel.HeaderOriginTopic), parallel.Header(r, parallel.HeaderOriginPartition),
			parallel.Header(r, parallel.HeaderOriginOffset), parallel.Header(r, parallel.HeaderAttempts),
			parallel.Header(r, parallel.HeaderError))
	}
	if len(letters) != wantDead {
		return fmt.Errorf("%d records in the dead-letter topic, want %d", len(letters), wantDead)
	}
	return nil
}

// payments is the handler and what it saw: each payment's attempts, and
// where the successful ones succeeded.
type payments struct {
	retryTopic string

	mu        sync.Mutex
	attempts  map[int]int
	outcome   map[string]int // where each successful record succeeded
	succeeded int
}

func (p *payments) handle(ctx context.Context, r *kgo.Record) error {
	v, _ := strconv.Atoi(string(r.Value))
	p.mu.Lock()
	p.attempts[v]++
	a := p.attempts[v]
	p.mu.Unlock()
	switch k := kind(v); {
	case k == "poison":
		return fmt.Errorf("payment %d: invalid account", v)
	case k == "flaky" && a <= 3:
		return fmt.Errorf("payment %d: bank timeout", v)
	case k == "hiccup" && a == 1:
		return errors.New("connection reset")
	}
	where := "first attempt"
	switch {
	case r.Topic == p.retryTopic:
		where = "via the retry topic"
	case a > 1:
		where = "retried in place"
	}
	p.mu.Lock()
	p.outcome[where]++
	p.succeeded++
	p.mu.Unlock()
	return nil
}

func (p *payments) succeededCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.succeeded
}
