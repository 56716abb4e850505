package parallel_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/testkit"
	"github.com/kpar/kpar/parallel"
)

// cluster abstracts kfake and a real broker so each behaviour test runs on both.
type cluster struct {
	seeds []string
	real  bool
}

func fake(t *testing.T) cluster { return cluster{seeds: testkit.Kfake(t)} }

func realBroker(t *testing.T) cluster { return cluster{seeds: testkit.Brokers(t), real: true} }

// produce writes n records to topic across its partitions; record i has key
// "k<i%keys>" and value "<i>".
func produce(t *testing.T, seeds []string, topic string, n, keys int) {
	t.Helper()
	cl := testkit.Client(t, seeds, kgo.DefaultProduceTopic(topic))
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

// seen records handler calls per value, and per key the order of values.
type seen struct {
	mu    sync.Mutex
	count map[string]int
	order map[string][]int
}

func newSeen() *seen { return &seen{count: map[string]int{}, order: map[string][]int{}} }

func (s *seen) add(r *kgo.Record) {
	v, _ := strconv.Atoi(string(r.Value))
	s.mu.Lock()
	s.count[string(r.Value)]++
	s.order[string(r.Key)+"/"+strconv.Itoa(int(r.Partition))] = append(s.order[string(r.Key)+"/"+strconv.Itoa(int(r.Partition))], v)
	s.mu.Unlock()
}

func (s *seen) distinct() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.count)
}

func (s *seen) waitDistinct(t *testing.T, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for s.distinct() < n {
		if time.Now().After(deadline) {
			t.Fatalf("saw %d distinct records, want %d", s.distinct(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func run(t *testing.T, c *parallel.Consumer) (stop func() error) {
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

func newConsumer(t *testing.T, cl cluster, group string, h parallel.Handler, topics []string, opts ...parallel.Opt) *parallel.Consumer {
	t.Helper()
	kopts := []kgo.Opt{kgo.SeedBrokers(cl.seeds...), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topics...),
		kgo.FetchMaxWait(200 * time.Millisecond)}
	base := []parallel.Opt{parallel.ClientOpts(kopts...), parallel.CommitInterval(100 * time.Millisecond),
		parallel.Logf(t.Logf)}
	c, err := parallel.New(h, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func committed(t *testing.T, seeds []string, group string) kadm.OffsetResponses {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	os, err := testkit.Admin(t, seeds).FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	return os
}

func TestKeyOrderProcessesEveryRecordOnceInKeyOrder(t *testing.T) {
	testKeyOrder(t, fake(t))
}

func TestKeyOrderProcessesEveryRecordOnceInKeyOrder_RealBroker(t *testing.T) {
	testKeyOrder(t, realBroker(t))
}

func testKeyOrder(t *testing.T, cl cluster) {
	const n, keys = 3000, 50
	topic := testkit.Topic(t, cl.seeds, 6)
	produce(t, cl.seeds, topic, n, keys)
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
	c := newConsumer(t, cl, group, h, []string{topic}, parallel.MaxConcurrency(64))
	stop := run(t, c)
	s.waitDistinct(t, n, 60*time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for v, k := range s.count {
		if k != 1 {
			t.Errorf("value %s processed %d times without any failure or rebalance", v, k)
		}
	}
	for key, vs := range s.order {
		for i := 1; i < len(vs); i++ {
			if vs[i] < vs[i-1] {
				t.Fatalf("key %s out of order: %v", key, vs)
			}
		}
	}
	if maxRunning.Load() <= 6 {
		t.Errorf("max concurrent handlers %d, want more than the 6 partitions", maxRunning.Load())
	}
	var sum int64
	committed(t, cl.seeds, group).Each(func(o kadm.OffsetResponse) { sum += o.At })
	if sum != n {
		t.Fatalf("committed offsets sum to %d, want %d (everything)", sum, n)
	}
}

func TestNewRejectsMissingGroupAndBadOptions(t *testing.T) {
	seeds := testkit.Kfake(t)
	h := func(context.Context, *kgo.Record) error { return nil }
	_, err := parallel.New(h, parallel.ClientOpts(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics("x")))
	if !errors.Is(err, parallel.ErrNoGroup) {
		t.Fatalf("no group: err = %v", err)
	}
	_, err = parallel.New(h, parallel.ClientOpts(kgo.SeedBrokers(seeds...), kgo.ConsumerGroup("g"), kgo.ConsumeTopics("x")),
		parallel.MaxConcurrency(0))
	if !errors.Is(err, parallel.ErrInvalidOption) {
		t.Fatalf("bad concurrency: err = %v", err)
	}
	if _, err := parallel.New(nil); !errors.Is(err, parallel.ErrNoHandler) {
		t.Fatalf("nil handler: err = %v", err)
	}
}

var _ = fmt.Sprintf
