package parallel_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/parallel"
	"github.com/kpar/kpar/parallel/internal/testkit"
)

func TestKeyOrderProcessesEveryRecordOnceInKeyOrder(t *testing.T) {
	testKeyOrder(t, fake(t))
}

func TestKeyOrderProcessesEveryRecordOnceInKeyOrder_RealBroker(t *testing.T) {
	testKeyOrder(t, realBroker(t))
}

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
