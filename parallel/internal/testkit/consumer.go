package testkit

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/parallel"
)

// KfakeCluster starts a kfake cluster whose handle the test keeps, for fault
// injection with ControlKey; topic gets the given partition count. It is
// closed when the test ends.
func KfakeCluster(t testing.TB, topic string, partitions int32, opts ...kfake.Opt) (*kfake.Cluster, []string) {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(partitions, topic)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, c.ListenAddrs()
}

// RoundRobin spreads produced records evenly over partitions.
var RoundRobin = kgo.RecordPartitioner(kgo.RoundRobinPartitioner())

// Produce writes n records to topic across its partitions; record i has key
// "k<i%keys>" and value "<i>". opts add to the producer's (e.g. RoundRobin).
func Produce(t testing.TB, seeds []string, topic string, n, keys int, opts ...kgo.Opt) {
	t.Helper()
	cl := Client(t, seeds, append([]kgo.Opt{kgo.DefaultProduceTopic(topic)}, opts...)...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rs := make([]*kgo.Record, 0, n)
	for i := 0; i < n; i++ {
		rs = append(rs, &kgo.Record{Key: []byte("k" + strconv.Itoa(i%keys)), Value: []byte(strconv.Itoa(i))})
	}
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// Consumer builds a consumer of topics in group on seeds with fast test
// settings (100 ms commits, heartbeats and fetch waits; diagnostics to
// t.Logf), then opts.
func Consumer(t testing.TB, seeds []string, group string, h parallel.Handler, topics []string, opts ...parallel.Opt) *parallel.Consumer {
	t.Helper()
	kopts := []kgo.Opt{kgo.SeedBrokers(seeds...), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topics...),
		kgo.FetchMaxWait(100 * time.Millisecond), kgo.HeartbeatInterval(100 * time.Millisecond)}
	base := []parallel.Opt{parallel.ClientOpts(kopts...), parallel.CommitInterval(100 * time.Millisecond),
		parallel.Logf(t.Logf)}
	c, err := parallel.New(h, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Run runs c until stop, which cancels Run, waits for it (60 s at most),
// closes c and returns Run's error; stop runs at cleanup too.
func Run(t testing.TB, c *parallel.Consumer) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-errc:
			case <-time.After(60 * time.Second):
				err = errors.New("Run did not return within 60s of cancel")
			}
			c.Close()
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

// WaitFor polls cond until it holds, failing the test after within.
func WaitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// CommittedOffsets returns the group's committed offset per partition of
// topic (absent: nothing committed), and the metadata per partition.
func CommittedOffsets(t testing.TB, seeds []string, group, topic string) (map[int32]int64, map[int32]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offs, err := Admin(t, seeds).FetchOffsets(ctx, group)
	at, meta := map[int32]int64{}, map[int32]string{}
	if err != nil {
		return at, meta // e.g. no such group yet
	}
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic && o.Err == nil && o.At >= 0 {
			at[o.Partition] = o.At
			meta[o.Partition] = o.Metadata
		}
	})
	return at, meta
}

// SumOffsets adds up a partition-to-offset map.
func SumOffsets(m map[int32]int64) int64 {
	var s int64
	for _, v := range m {
		s += v
	}
	return s
}
