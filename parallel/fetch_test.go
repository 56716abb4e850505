package parallel_test

import (
	"context"
	"crypto/rand"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/parallel"
	"github.com/kpar/kpar/parallel/internal/testkit"
)

// The library lowers kgo.FetchMaxBytes to bound memory (1 MiB at the
// default MaxBuffered). kgo clamps the per-partition limit to it, and a
// per-partition limit below the batch size stalled partitions on Kafka
// 4.3.1. Batches of ~1 MiB of incompressible data, as the produce bench
// writes, must still all be consumed, from every partition.
func TestDefaultFetchSizeConsumesMiBBatchesFromEveryPartition_Real(t *testing.T) {
	cl := realBroker(t)
	const parts, perPart, size = 6, 600, 4000 // ~2.4 MB a partition: 2-3 batches of ~1 MiB
	topic := testkit.Topic(t, cl.seeds, parts)
	pcl := testkit.Client(t, cl.seeds, kgo.DefaultProduceTopic(topic), kgo.ProducerBatchMaxBytes(1<<20),
		kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.ProducerLinger(50*time.Millisecond),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var rs []*kgo.Record
	for p := 0; p < parts; p++ {
		for i := 0; i < perPart; i++ {
			v := make([]byte, size)
			rand.Read(v)
			copy(v, strconv.Itoa(p*perPart+i)+" ")
			rs = append(rs, &kgo.Record{Partition: int32(p), Value: v})
		}
	}
	if err := pcl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	var (
		mu     sync.Mutex
		byPart = map[int32]int{}
		n      int
	)
	h := func(_ context.Context, r *kgo.Record) error {
		mu.Lock()
		byPart[r.Partition]++
		n++
		mu.Unlock()
		return nil
	}
	c := testkit.Consumer(t, cl.seeds, testkit.TopicName(t), h, []string{topic}, parallel.Ordering(parallel.OrderNone))
	stop := testkit.Run(t, c)
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		got := n
		mu.Unlock()
		if got >= parts*perPart {
			break
		}
		if time.Now().After(deadline) {
			mu.Lock()
			t.Fatalf("consumed %d of %d records within 60s; per partition %v", got, parts*perPart, byPart)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for p := int32(0); p < parts; p++ {
		if byPart[p] != perPart {
			t.Errorf("partition %d: %d records handled, want %d", p, byPart[p], perPart)
		}
	}
}

// Records polled beyond MaxBuffered wait in a backlog; the room is shared
// out across partitions, so a small MaxBuffered still gives every
// partition's keys a worker at once (the previous PollRecords(free) design
// filled the room partition by partition).
func TestSmallMaxBufferedAdmitsFromEveryPartition(t *testing.T) {
	cl := fake(t)
	const parts, n = 4, 4000
	topic := testkit.ProducedTopic(t, cl.seeds, parts, n, 400)
	release := make(chan struct{})
	var (
		mu      sync.Mutex
		running = map[int32]int{}
	)
	h := func(ctx context.Context, r *kgo.Record) error {
		mu.Lock()
		running[r.Partition]++
		mu.Unlock()
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	const total = 40
	c := testkit.Consumer(t, cl.seeds, testkit.TopicName(t), h, []string{topic}, parallel.MaxBuffered(total),
		parallel.MaxConcurrency(1000))
	stop := testkit.Run(t, c)
	defer close(release)
	testkit.WaitFor(t, 30*time.Second, "the total bound to be reached", func() bool { return c.Stats().Held >= total })
	time.Sleep(200 * time.Millisecond) // more partitions' fetches arrive; the bound must still hold
	st := c.Stats()
	if st.Held > total {
		t.Fatalf("held %d, bound %d", st.Held, total)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(running) != parts {
		t.Fatalf("handlers running for partitions %v, want all %d partitions (held %d, backlog %d)", running, parts, st.Held, st.Backlog)
	}
	_ = stop
}

// consumeRandom produces n records of size random (incompressible) bytes to
// a new topic and consumes them all with a no-op consumer built with opts;
// it returns the consumer's kgo.FetchMaxBytes at the end.
func consumeRandom(t *testing.T, cl cluster, n, size int, opts ...parallel.Opt) int32 {
	t.Helper()
	topic := testkit.Topic(t, cl.seeds, 2)
	pcl := testkit.Client(t, cl.seeds, kgo.DefaultProduceTopic(topic), kgo.ProducerBatchCompression(kgo.NoCompression()))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rs := make([]*kgo.Record, n)
	for i := range rs {
		v := make([]byte, size)
		rand.Read(v)
		rs[i] = &kgo.Record{Value: v}
	}
	if err := pcl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	var seen atomic.Int64
	h := func(context.Context, *kgo.Record) error { seen.Add(1); return nil }
	c := testkit.Consumer(t, cl.seeds, testkit.TopicName(t), h, []string{topic}, opts...)
	stop := testkit.Run(t, c)
	testkit.WaitFor(t, 60*time.Second, "every record handled", func() bool { return seen.Load() >= int64(n) })
	got, _ := c.Client().OptValue(kgo.FetchMaxBytes).(int32)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	return got
}

// Incompressible records decode to about their wire size plus a kgo.Record:
// the adaptive fetch grows past the 1 MiB start (to about 2.5 KiB x
// MaxBuffered x wire/decoded: ~5 MiB here, within the 50 MiB cap). The former
// fixed rule kept 1 MiB at the default MaxBuffered.
func TestFetchSizeGrowsForIncompressibleRecords(t *testing.T) {
	got := consumeRandom(t, fake(t), 3000, 2000, parallel.Ordering(parallel.OrderNone))
	if got <= 2<<20 || got > 50<<20 {
		t.Fatalf("FetchMaxBytes %d after 3,000 incompressible 2 KB records, want more than 2 MiB and at most 50 MiB", got)
	}
}

// A kgo.FetchMaxBytes in ClientOpts pins the fetch size: the library never
// changes it, whatever the records measure.
func TestFetchSizeGivenInClientOptsIsKept(t *testing.T) {
	const want = 3 << 20
	if got := consumeRandom(t, fake(t), 3000, 2000, parallel.Ordering(parallel.OrderNone),
		parallel.ClientOpts(kgo.FetchMaxBytes(want))); got != want {
		t.Fatalf("FetchMaxBytes %d, the user set %d", got, want)
	}
}

// A small MaxBuffered keeps the fetch at its 1 MiB floor even for records
// that compress little: the budget (MaxBuffered x 2.5 KiB) is far below
// what 1 MiB decodes to, and the floor keeps partitions from stalling.
func TestFetchSizeStaysAtTheFloorForASmallMaxBuffered(t *testing.T) {
	got := consumeRandom(t, fake(t), 2000, 2000, parallel.Ordering(parallel.OrderNone), parallel.MaxBuffered(100))
	if got < 1<<20 || got > 1<<20+1 {
		t.Fatalf("FetchMaxBytes %d with MaxBuffered 100, want the 1 MiB floor", got)
	}
}
