package parallel_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/parallel"
	"github.com/kpar/kpar/parallel/internal/testkit"
)

// Under key order a batch holds at most BatchSize records, never two of one
// key, and a key's records reach the handler in offset order across batches
// (its next record only joins a batch once the previous one returned).
// Every record is processed once, and batches do form.
func TestBatchesKeepKeyOrderAndTheirSize(t *testing.T) {
	const topic, n, keys, size = "t", 1200, 60, 10
	_, seeds := testkit.KfakeCluster(t, topic, 3)
	testkit.Produce(t, seeds, topic, n, keys, testkit.RoundRobin)
	var (
		log  list[[]*kgo.Record] // every batch the handler received
		seen = newSeen()
	)
	h := func(ctx context.Context, rs []*kgo.Record) error {
		log.add(slices.Clone(rs))
		for _, r := range rs {
			seen.add(r)
		}
		time.Sleep(2 * time.Millisecond)
		return nil
	}
	c, err := parallel.NewBatch(h,
		parallel.ClientOpts(kgo.SeedBrokers(seeds...), kgo.ConsumerGroup("g"), kgo.ConsumeTopics(topic)),
		parallel.MaxConcurrency(40), parallel.BatchSize(size, 20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	stop := testkit.Run(t, c)
	seen.waitDistinct(t, n, time.Minute)
	testkit.WaitFor(t, 30*time.Second, "commits to reach the end", func() bool { return sumCommitted(t, seeds, "g") == n })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	batches := log.all()
	biggest := 0
	for _, b := range batches {
		biggest = max(biggest, len(b))
		if len(b) > size {
			t.Fatalf("a batch of %d records, BatchSize %d", len(b), size)
		}
		keysIn := map[string]bool{}
		for _, r := range b {
			k := string(r.Key) + "/" + strconv.Itoa(int(r.Partition))
			if keysIn[k] {
				t.Fatalf("a batch holds two records of key %s", k)
			}
			keysIn[k] = true
		}
	}
	if biggest < 2 {
		t.Fatalf("no batch held more than one record (%d batches)", len(batches))
	}
	seen.onceEachInKeyOrder(t)
	t.Logf("%d batches, largest %d", len(batches), biggest)
}

// A batch holding a record that always fails is split: its records are
// retried alone, so only the bad record exhausts its attempts and goes to
// the dead-letter topic, and every other record is processed.
func TestAFailedBatchIsSplitSoOnlyTheBadRecordIsDeadLettered(t *testing.T) {
	const topic, n = "t", 200
	_, seeds := testkit.KfakeCluster(t, topic, 2)
	if _, err := testkit.Admin(t, seeds).CreateTopics(context.Background(), 1, 1, nil, "dlt"); err != nil {
		t.Fatal(err)
	}
	testkit.Produce(t, seeds, topic, n, 20, testkit.RoundRobin)
	var (
		mu    sync.Mutex
		ok    = map[string]int{}
		alone = 0 // calls holding only the bad record
	)
	h := func(ctx context.Context, rs []*kgo.Record) error {
		for _, r := range rs {
			if string(r.Value) == "13" {
				mu.Lock()
				if len(rs) == 1 {
					alone++
				}
				mu.Unlock()
				return errors.New("record 13 is bad")
			}
		}
		mu.Lock()
		for _, r := range rs {
			ok[string(r.Value)]++
		}
		mu.Unlock()
		return nil
	}
	c, err := parallel.NewBatch(h,
		parallel.ClientOpts(kgo.SeedBrokers(seeds...), kgo.ConsumerGroup("g"), kgo.ConsumeTopics(topic)),
		parallel.Ordering(parallel.OrderNone), parallel.MaxConcurrency(32), parallel.BatchSize(16, 20*time.Millisecond),
		parallel.Retries(3, time.Millisecond, 5*time.Millisecond), parallel.DeadLetterTopic("dlt"))
	if err != nil {
		t.Fatal(err)
	}
	testkit.RunUntil(t, c, time.Minute, "commits to reach the end", func() bool { return sumCommitted(t, seeds, "g") == n })
	dead := consumeAll(t, seeds, "dlt", 1)
	if len(dead) != 1 || string(dead[0].Value) != "13" {
		t.Fatalf("dead letters %d, want record 13 alone", len(dead))
	}
	mu.Lock()
	defer mu.Unlock()
	for i := range n {
		v := strconv.Itoa(i)
		if v != "13" && ok[v] != 1 {
			t.Fatalf("record %s processed %d times in successful batches, want 1", v, ok[v])
		}
	}
	if alone != 2 {
		t.Fatalf("the bad record ran alone %d times, want 2 (3 attempts: one in its batch, two alone)", alone)
	}
}

// BatchSize is refused above MaxConcurrency (a batch holds one record per
// handler goroutine) and when negative.
func TestNewBatchRefusesABatchLargerThanMaxConcurrency(t *testing.T) {
	_, seeds := testkit.KfakeCluster(t, "t", 1)
	h := func(context.Context, []*kgo.Record) error { return nil }
	base := parallel.ClientOpts(kgo.SeedBrokers(seeds...), kgo.ConsumerGroup("g"), kgo.ConsumeTopics("t"))
	for _, o := range [][]parallel.Opt{
		{parallel.MaxConcurrency(8), parallel.BatchSize(9, time.Millisecond)},
		{parallel.BatchSize(-1, time.Millisecond)},
		{parallel.BatchSize(4, -time.Millisecond)},
	} {
		if c, err := parallel.NewBatch(h, append([]parallel.Opt{base}, o...)...); !errors.Is(err, parallel.ErrInvalidOption) {
			if c != nil {
				c.Close()
			}
			t.Fatalf("err %v, want ErrInvalidOption", err)
		}
	}
	c, err := parallel.NewBatch(h, base, parallel.MaxConcurrency(8), parallel.BatchSize(8, 0))
	if err != nil {
		t.Fatalf("BatchSize equal to MaxConcurrency refused: %v", err)
	}
	c.Close()
	c, err = parallel.NewBatch(h, base, parallel.MaxConcurrency(8)) // default size: min(100, 8)
	if err != nil {
		t.Fatalf("default BatchSize with MaxConcurrency 8 refused: %v", err)
	}
	c.Close()
}
