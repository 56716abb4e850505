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
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/parallel"
)

func main() {
	var (
		brokers = flag.String("brokers", "127.0.0.1:9092", "comma-separated seed brokers")
		records = flag.Int("records", 100, "payments to produce")
		delay   = flag.Duration("retry-delay", 500*time.Millisecond, "how long a record waits in the retry topic")
		keep    = flag.Bool("keep", false, "keep the topics at exit")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, strings.Split(*brokers, ","), *records, *delay, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "deadletter:", err)
		os.Exit(1)
	}
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

func run(ctx context.Context, seeds []string, n int, delay time.Duration, keep bool) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		return err
	}
	defer cl.Close()

	// Step 1: three topics: the payments, the retry topic and the
	// dead-letter topic.
	adm := kadm.NewClient(cl)
	base := fmt.Sprintf("kpar-example-dlt-%d", time.Now().UnixNano())
	source, retry, dlt := base, base+"-retry", base+"-dlt"
	for _, t := range []struct {
		name string
		np   int32
	}{{source, 3}, {retry, 1}, {dlt, 1}} {
		if _, err := adm.CreateTopic(ctx, t.np, -1, nil, t.name); err != nil {
			return fmt.Errorf("create %s: %w", t.name, err)
		}
	}
	if !keep {
		defer adm.DeleteTopics(context.Background(), source, retry, dlt)
	}

	// Step 2: the payments, each value its number, which decides its kind.
	rs := make([]*kgo.Record, n)
	for i := range rs {
		rs[i] = &kgo.Record{Topic: source, Key: []byte("account-" + strconv.Itoa(i%13)), Value: []byte(strconv.Itoa(i))}
	}
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	fmt.Printf("produced %d payments to %s\n", n, source)

	// Step 3: the consumer, with the failure path in three stages.
	p := &payments{retryTopic: retry, attempts: map[int]int{}, outcome: map[string]int{}}
	c, err := parallel.New(p.handle,
		parallel.ClientOpts(kgo.SeedBrokers(seeds...), kgo.ConsumerGroup(base+"-group"), kgo.ConsumeTopics(source)),
		parallel.Retries(3, 10*time.Millisecond, 100*time.Millisecond), // 3 attempts in place
		parallel.RetryTopic(retry, delay, 1),                           // then one round via the retry topic
		parallel.DeadLetterTopic(dlt),                                  // then the dead-letter topic
	)
	if err != nil {
		return err
	}
	defer c.Close()

	// Step 4: run it while reading the dead-letter topic, until every
	// payment succeeded or was dead-lettered.
	wantOK := 0
	for v := 0; v < n; v++ {
		if kind(v) != "poison" {
			wantOK++
		}
	}
	dead, err := consume(ctx, c, seeds, dlt, p, wantOK, n-wantOK)
	if err != nil {
		return err
	}

	// Step 5: what went where, and each dead letter with its headers.
	report(n, p, c.Stats(), dlt, dead)
	if len(dead) != n-wantOK {
		return fmt.Errorf("%d records in the dead-letter topic, want %d", len(dead), n-wantOK)
	}
	return nil
}

func report(n int, p *payments, st parallel.Stats, dlt string, dead []*kgo.Record) {
	fmt.Printf("\n%d payments: %d succeeded, %d dead-lettered\n", n, p.succeeded, len(dead))
	for _, where := range []string{"first attempt", "retried in place", "via the retry topic"} {
		fmt.Printf("  succeeded %-20s %d\n", where+":", p.outcome[where])
	}
	fmt.Printf("  failed attempts %d, in-place retries %d, sent to retry topic %d, dead-lettered %d\n",
		st.Failed, st.Retried, st.RetryTopic, st.DeadLettered)
	sort.Slice(dead, func(i, j int) bool {
		a, _ := strconv.Atoi(string(dead[i].Value))
		b, _ := strconv.Atoi(string(dead[j].Value))
		return a < b
	})
	fmt.Printf("\ndead-letter topic %s:\n", dlt)
	for _, r := range dead {
		fmt.Printf("  payment %-4s from %s[%s]@%s after %s attempts: %s\n", r.Value,
			parallel.Header(r, parallel.HeaderOriginTopic), parallel.Header(r, parallel.HeaderOriginPartition),
			parallel.Header(r, parallel.HeaderOriginOffset), parallel.Header(r, parallel.HeaderAttempts),
			parallel.Header(r, parallel.HeaderError))
	}
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

// consume runs c and reads the dead-letter topic dlt meanwhile, until
// wantOK payments succeeded and wantDead were dead-lettered; it returns
// the dead letters.
func consume(ctx context.Context, c *parallel.Consumer, seeds []string, dlt string, p *payments, wantOK, wantDead int) ([]*kgo.Record, error) {
	dltc, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(dlt), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return nil, err
	}
	defer dltc.Close()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(runCtx) }()
	var dead []*kgo.Record
	allDone := func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.succeeded == wantOK && len(dead) == wantDead
	}
	for !allDone() && ctx.Err() == nil {
		fctx, fcancel := context.WithTimeout(ctx, 200*time.Millisecond)
		dead = append(dead, dltc.PollFetches(fctx).Records()...)
		fcancel()
		select {
		case err := <-runErr:
			return nil, fmt.Errorf("consumer stopped early: %v", err)
		default:
		}
	}
	cancel()
	if err := <-runErr; err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, errors.New("interrupted")
	}
	return dead, nil
}
