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
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/examples/internal/demo"
	"github.com/kpar/kpar/parallel"
)

func main() {
	jobs := flag.Int("jobs", 200, "jobs to produce")
	consumers := flag.Int("consumers", 2, "consumers in the share group")
	demo.Main("share", demo.Load{Concurrency: 100, Work: 5 * time.Millisecond}, func(ctx context.Context, load demo.Load) error {
		if *jobs < 1 || *consumers < 1 {
			return errors.New("--jobs and --consumers must be at least 1")
		}
		return run(ctx, *jobs, *consumers, load.Concurrency, load.Work)
	})
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

func (t *tally) doneCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.done)
}

func run(ctx context.Context, n, consumers, conc int, work time.Duration) error {
	// Step 1: the jobs' topic, a dead-letter topic, a share group that
	// reads from the earliest record, and the jobs, each value its number,
	// which decides its kind.
	topic := demo.Name("share")
	dlt, group := topic+"-dlt", topic+"-workers"
	if err := demo.CreateTopics(ctx, 3, topic); err != nil {
		return err
	}
	if err := demo.CreateTopics(ctx, 1, dlt); err != nil {
		return err
	}
	if err := demo.ShareGroupFromEarliest(ctx, group); err != nil {
		return fmt.Errorf("%w (share groups need Kafka 4.2+)", err) // it names the group
	}
	if err := demo.Produce(ctx, topic, n, demo.Keyed("job-", n)); err != nil {
		return err
	}
	fmt.Printf("produced %d jobs to %s (3 partitions)\n", n, topic)

	// Step 2: the consumers of the share group, each with conc handlers.
	t := &tally{done: map[int]bool{}, byConsumer: make([]int, consumers)}
	var cs []*parallel.Consumer
	for i := range consumers {
		c, err := parallel.New(t.handler(i, work),
			parallel.ClientOpts(kgo.SeedBrokers(demo.Brokers()...), kgo.ConsumeTopics(topic)),
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

	// Step 3: run them while reading the dead-letter topic, until every job
	// is done or dead-lettered.
	wantDead := 0
	for v := range n {
		if corrupt(v) {
			wantDead++
		}
	}
	letters, err := demo.RunUntilDeadLettered(ctx, dlt, wantDead, func() bool { return t.doneCount() == n-wantDead }, cs...)
	if err != nil {
		return err
	}

	// Step 4: what the consumers did, and each dead letter with its headers.
	var st parallel.Stats
	for _, c := range cs {
		s := c.Stats()
		st.Released += s.Released
		st.Redelivered += s.Redelivered
	}
	fmt.Printf("\n%d jobs on 3 partitions: %d done, %d dead-lettered\n", n, len(t.done), len(letters))
	fmt.Printf("  handlers at once, at peak: %d (the topic has 3 partitions)\n", t.peak)
	fmt.Printf("  released after a failed delivery: %d, redelivered: %d\n", st.Released, st.Redelivered)
	for i, k := range t.byConsumer {
		fmt.Printf("  consumer %d did %d jobs\n", i+1, k)
	}
	fmt.Printf("\ndead-letter topic %s:\n", dlt)
	for _, r := range letters {
		fmt.Printf("  job %-4s from %s[%s]@%s on delivery %s: %s\n", r.Value,
			parallel.Header(r, parallel.HeaderOriginTopic), parallel.Header(r, parallel.HeaderOriginPartition),
			parallel.Header(r, parallel.HeaderOriginOffset), parallel.Header(r, parallel.HeaderDeliveryCount),
			parallel.Header(r, parallel.HeaderError))
	}
	return nil
}
