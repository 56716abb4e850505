package parallel_test

import (
	"context"
	"crypto/rand"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/parallel"
	"github.com/kpar/kpar/parallel/internal/testkit"
)

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
