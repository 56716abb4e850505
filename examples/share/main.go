// Command share runs the parallel consumer over a share group (KIP-932,
// Kafka 4.2+): a job queue where any number of handlers work on one
// partition and each job is acknowledged on its own.
//
// It produces --jobs jobs into a fresh 3-partition topic and runs
// --consumers consumers of one share group (in one process here; in
// production, one per process or machine). Every 25th job is corrupt (a
// Permanent failure: dead-lettered at once); every 7th other one fails its
// first delivery (released: the broker delivers it again, to any consumer).
// It prints what went where, how many handlers ran at once, and the
// dead-letter records with their headers.
//
//	kpar broker up                 # 127.0.0.1:9092
//	go run ./examples/share        # or --brokers host:port,...
//
// Its topics (kpar-example-share-<time>, -dlt) are deleted at exit unless --keep.
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
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kpar/kpar/parallel"
)

func main() {
	var (
		brokers   = flag.String("brokers", "127.0.0.1:9092", "comma-separated seed brokers")
		jobs      = flag.Int("jobs", 200, "jobs to produce")
		consumers = flag.Int("consumers", 2, "consumers in the share group")
		conc      = flag.Int("concurrency", 100, "handlers at once per consumer")
		work      = flag.Duration("work", 5*time.Millisecond, "time one job takes")
		keep      = flag.Bool("keep", false, "keep the topics at exit")
	)
	flag.Parse()
	if *jobs < 1 || *consumers < 1 || *conc < 1 || *work < 0 {
		fmt.Fprintln(os.Stderr, "share: --jobs, --consumers and --concurrency must be at least 1, --work not negative")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, strings.Split(*brokers, ","), *jobs, *consumers, *conc, *work, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "share:", err)
		os.Exit(1)
	}
}

func corrupt(v int) bool { return v%25 == 0 }
func flaky(v int) bool   { return !corrupt(v) && v%7 == 0 }

// tally is what the handlers saw, shared by every consumer.
type tally struct {
	mu          sync.Mutex
	done        map[int]bool
	byConsumer  []int
	redelivered int // handler calls on a delivery count above 1
	running     int
	peak        int
}

// handler is consumer i's: each job takes work; a corrupt job fails for
// good, a flaky one fails its first delivery.
func (t *tally) handler(i int, work time.Duration) parallel.Handler {
	return func(ctx context.Context, r *kgo.Record) error {
		t.mu.Lock()
		t.running++
		t.peak = max(t.peak, t.running)
		t.mu.Unlock()
		defer func() { t.mu.Lock(); t.running--; t.mu.Unlock() }()
		v, _ := strconv.Atoi(string(r.Value))
		time.Sleep(work)
		t.mu.Lock()
		defer t.mu.Unlock()
		if r.DeliveryCount() > 1 {
			t.redelivered++
		}
		switch {
		case corrupt(v):
			return parallel.Permanent(fmt.Errorf("job %d: corrupt input", v))
		case flaky(v) && r.DeliveryCount() == 1:
			return errors.New("storage busy")
		}
		t.done[v] = true
		t.byConsumer[i]++
		return nil
	}
}

func run(ctx context.Context, seeds []string, n, consumers, conc int, work time.Duration, keep bool) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		return err
	}
	defer cl.Close()

	// Step 1: the jobs' topic, a dead-letter topic, and a share group that
	// reads from the earliest record.
	adm := kadm.NewClient(cl)
	topic := fmt.Sprintf("kpar-example-share-%d", time.Now().UnixNano())
	dlt, group := topic+"-dlt", topic+"-workers"
	for _, t := range []struct {
		name string
		np   int32
	}{{topic, 3}, {dlt, 1}} {
		if _, err := adm.CreateTopic(ctx, t.np, -1, nil, t.name); err != nil {
			return fmt.Errorf("create %s: %w", t.name, err)
		}
	}
	if !keep {
		defer adm.DeleteTopics(context.Background(), topic, dlt)
	}
	if err := fromEarliest(ctx, cl, group); err != nil {
		return fmt.Errorf("share group %s: %w (share groups need Kafka 4.2+)", group, err)
	}

	// Step 2: the jobs, each value its number, which decides its kind.
	rs := make([]*kgo.Record, n)
	for i := range rs {
		rs[i] = &kgo.Record{Topic: topic, Key: []byte("job-" + strconv.Itoa(i)), Value: []byte(strconv.Itoa(i))}
	}
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	fmt.Printf("produced %d jobs to %s (3 partitions)\n", n, topic)

	// Step 3: the consumers of the share group, each with conc handlers.
	t := &tally{done: map[int]bool{}, byConsumer: make([]int, consumers)}
	var cs []*parallel.Consumer
	for i := range consumers {
		c, err := parallel.New(t.handler(i, work),
			parallel.ClientOpts(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(topic)),
			parallel.ShareGroup(group),
			parallel.MaxConcurrency(conc),
			parallel.Retries(1, 0, 0), // a failed delivery goes back to the group at once
			parallel.DeadLetterTopic(dlt),
		)
		if err != nil {
			return err
		}
		defer c.Close()
		cs = append(cs, c)
	}

	// Step 4: run them while reading the dead-letter topic, until every job
	// is done or dead-lettered.
	wantDead := 0
	for v := range n {
		if corrupt(v) {
			wantDead++
		}
	}
	dead, err := consume(ctx, cs, seeds, dlt, t, n-wantDead, wantDead)
	if err != nil {
		return err
	}

	// Step 5: what the consumers did, and each dead letter with its headers.
	report(n, t, cs, dlt, dead)
	return nil
}

// consume runs the consumers cs and reads the dead-letter topic dlt
// meanwhile, until wantDone jobs are done and wantDead dead-lettered; it
// returns the dead letters.
func consume(ctx context.Context, cs []*parallel.Consumer, seeds []string, dlt string, t *tally, wantDone, wantDead int) ([]*kgo.Record, error) {
	dltc, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(dlt), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return nil, err
	}
	defer dltc.Close()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(cs))
	for _, c := range cs {
		go func() { errs <- c.Run(runCtx) }()
	}
	var dead []*kgo.Record
	settled := func() bool {
		t.mu.Lock()
		defer t.mu.Unlock()
		return len(t.done) == wantDone && len(dead) == wantDead
	}
	for !settled() {
		if ctx.Err() != nil {
			return nil, errors.New("interrupted")
		}
		fctx, fcancel := context.WithTimeout(ctx, 200*time.Millisecond)
		dead = append(dead, dltc.PollFetches(fctx).Records()...)
		fcancel()
		select {
		case err := <-errs:
			return nil, fmt.Errorf("a consumer stopped early: %v", err)
		default:
		}
	}
	cancel()
	for range cs {
		if err := <-errs; err != nil {
			return nil, err
		}
	}
	return dead, nil
}

func report(n int, t *tally, cs []*parallel.Consumer, dlt string, dead []*kgo.Record) {
	var st parallel.Stats
	for _, c := range cs {
		s := c.Stats()
		st.Released += s.Released
		st.Redelivered += s.Redelivered
	}
	fmt.Printf("\n%d jobs on 3 partitions: %d done, %d dead-lettered\n", n, len(t.done), len(dead))
	fmt.Printf("  handlers at once, at peak: %d (the topic has 3 partitions)\n", t.peak)
	fmt.Printf("  released after a failed delivery: %d, redelivered: %d\n", st.Released, st.Redelivered)
	for i, k := range t.byConsumer {
		fmt.Printf("  consumer %d did %d jobs\n", i+1, k)
	}
	sort.Slice(dead, func(i, j int) bool {
		a, _ := strconv.Atoi(string(dead[i].Value))
		b, _ := strconv.Atoi(string(dead[j].Value))
		return a < b
	})
	fmt.Printf("\ndead-letter topic %s:\n", dlt)
	for _, r := range dead {
		fmt.Printf("  job %-4s from %s[%s]@%s on delivery %s: %s\n", r.Value,
			parallel.Header(r, parallel.HeaderOriginTopic), parallel.Header(r, parallel.HeaderOriginPartition),
			parallel.Header(r, parallel.HeaderOriginOffset), parallel.Header(r, parallel.HeaderDeliveryCount),
			parallel.Header(r, parallel.HeaderError))
	}
}

// fromEarliest sets the share group's share.auto.offset.reset to earliest,
// so that it reads the jobs produced before it joined: a group config
// (IncrementalAlterConfigs on resource type GROUP), which kadm has no helper
// for. `kafka-configs.sh --entity-type groups --entity-name <group> --alter
// --add-config share.auto.offset.reset=earliest` does the same.
func fromEarliest(ctx context.Context, cl *kgo.Client, group string) error {
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	res := kmsg.NewIncrementalAlterConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeGroupConfig, group
	c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	c.Name, c.Value = "share.auto.offset.reset", kmsg.StringPtr("earliest")
	res.Configs = append(res.Configs, c)
	req.Resources = append(req.Resources, res)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	return kerr.ErrorForCode(resp.Resources[0].ErrorCode)
}
