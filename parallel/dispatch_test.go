package parallel_test

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/parallel"
	"github.com/kpar/kpar/parallel/internal/testkit"
)

// Records finished just before a stuck record of the same key (so of the
// same lane run, on the same worker) are committed while it is stuck, not
// only once it returns: a crash during the stall must not replay them.
func TestRecordsBeforeAStuckRecordOfTheirKeyAreCommittedWhileItIsStuck(t *testing.T) {
	for _, order := range []parallel.Order{parallel.OrderKey, parallel.OrderPartition} {
		t.Run(order.String(), func(t *testing.T) {
			_, seeds := testkit.KfakeCluster(t, "t", 1)
			const n, stuck = 8, 6
			testkit.Produce(t, seeds, "t", n, 1) // one key: one lane, one worker
			release := make(chan struct{})
			h := func(ctx context.Context, r *kgo.Record) error {
				if r.Offset == stuck {
					select {
					case <-release:
					case <-ctx.Done():
						return ctx.Err()
					}
				}
				return nil
			}
			c := testkit.Consumer(t, seeds, "g", h, []string{"t"}, parallel.Ordering(order))
			stop := testkit.Run(t, c)
			testkit.WaitFor(t, 20*time.Second, "offsets below the stuck record committed while it is stuck", func() bool {
				at, _ := testkit.CommittedOffsets(t, seeds, "g", "t")
				return at[0] == stuck
			})
			close(release)
			testkit.WaitFor(t, 20*time.Second, "everything committed once it returns", func() bool {
				at, _ := testkit.CommittedOffsets(t, seeds, "g", "t")
				return at[0] == n
			})
			if err := stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestKeyOrderProcessesEveryRecordOnceInKeyOrder(t *testing.T) { bothClusters(t, testKeyOrder) }

func testKeyOrder(t *testing.T, cl cluster) {
	const n, keys = 3000, 50
	topic := testkit.ProducedTopic(t, cl.seeds, 6, n, keys)
	s := newSeen()
	var running, maxRunning atomic.Int64
	h := func(ctx context.Context, r *kgo.Record) error {
		cur := running.Add(1)
		for {
			m := maxRunning.Load()
			if cur <= m || maxRunning.CompareAndSwap(m, cur) {
				break
			}
		}
		time.Sleep(time.Millisecond)
		s.add(r)
		running.Add(-1)
		return nil
	}
	group := testkit.TopicName(t)
	c := testkit.Consumer(t, cl.seeds, group, h, []string{topic}, parallel.MaxConcurrency(64))
	stop := testkit.Run(t, c)
	s.waitDistinct(t, n, 60*time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	// No failure and no rebalance: no record runs twice.
	s.onceEachInKeyOrder(t)
	if maxRunning.Load() <= 6 {
		t.Errorf("max concurrent handlers %d, want more than the 6 partitions", maxRunning.Load())
	}
	var sum int64
	at, _ := testkit.CommittedOffsets(t, cl.seeds, group, topic)
	sum += testkit.SumOffsets(at)
	if sum != n {
		t.Fatalf("committed offsets sum to %d, want %d (everything)", sum, n)
	}
}

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

// Records held for good by a stuck key leave less room than a completion
// needs to free before it wakes the poll loop: the room left is still used
// (the sweeper wakes the loop), so the other keys' records all run. With
// MaxBuffered 64 a completion wakes the loop once 4 records are free; the
// stuck key holds 62.
func TestRoomLeftBesideAStuckKeyIsStillUsed(t *testing.T) {
	seeds := testkit.Kfake(t)
	topic := testkit.Topic(t, seeds, 1)
	const stuck, free = 62, 200
	cl := testkit.Client(t, seeds)
	var rs []*kgo.Record
	for i := 0; i < stuck+free; i++ {
		key := "free"
		if i < stuck {
			key = "stuck"
		}
		rs = append(rs, &kgo.Record{Topic: topic, Key: []byte(key), Value: []byte(strconv.Itoa(i))})
	}
	if err := cl.ProduceSync(context.Background(), rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var ran atomic.Int64
	h := func(ctx context.Context, r *kgo.Record) error {
		if string(r.Key) == "stuck" {
			select {
			case <-release:
			case <-ctx.Done():
				return ctx.Err()
			}
			return nil
		}
		ran.Add(1)
		return nil
	}
	c := testkit.Consumer(t, seeds, testkit.TopicName(t), h, []string{topic},
		parallel.MaxBuffered(64), parallel.MaxBufferedPerPartition(64), parallel.MaxConcurrency(4))
	stop := testkit.Run(t, c)
	testkit.WaitFor(t, 30*time.Second, "every record of the free key run beside the stuck one", func() bool { return ran.Load() == free })
	close(release)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
