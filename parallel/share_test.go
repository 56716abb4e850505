package parallel_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/parallel"
	"github.com/kpar/kpar/parallel/internal/testkit"
	"github.com/kpar/kpar/parallel/sharegroup"
)

// newShare builds a share-mode consumer on seeds reading topic from its
// start (the group's share.auto.offset.reset set to earliest first), with
// extra group configs, diagnostics to t.Logf, then opts.
func newShare(t *testing.T, seeds []string, group, topic string, groupCfg map[string]string, h parallel.Handler, opts ...parallel.Opt) *parallel.Consumer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	kv := map[string]string{sharegroup.AutoOffsetReset: "earliest"}
	for k, v := range groupCfg {
		kv[k] = v
	}
	if err := sharegroup.Set(ctx, testkit.Client(t, seeds), group, kv); err != nil {
		t.Fatal(err)
	}
	base := []parallel.Opt{parallel.ClientOpts(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(topic)),
		parallel.ShareGroup(group), parallel.Logf(t.Logf), parallel.Retries(2, time.Millisecond, 5*time.Millisecond)}
	c, err := parallel.New(h, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// In share mode every record is processed, with more handlers running at
// once than the topic has partitions, and Stats count it.
func TestShareGroupProcessesEveryRecordBeyondPartitionCount(t *testing.T) {
	bothClusters(t, func(t *testing.T, cl cluster) {
		topic := testkit.Topic(t, cl.seeds, 2)
		const n = 600
		testkit.Produce(t, cl.seeds, topic, n, 50, testkit.RoundRobin)
		s := newSeen()
		var running, peak atomic.Int64
		c := newShare(t, cl.seeds, testkit.TopicName(t), topic, nil, func(ctx context.Context, r *kgo.Record) error {
			now := running.Add(1)
			for p := peak.Load(); now > p && !peak.CompareAndSwap(p, now); p = peak.Load() {
			}
			time.Sleep(5 * time.Millisecond)
			running.Add(-1)
			s.add(r)
			return nil
		}, parallel.MaxConcurrency(64))
		stop := testkit.Run(t, c)
		s.waitDistinct(t, n, 60*time.Second)
		if err := stop(); err != nil {
			t.Fatalf("Run: %v", err)
		}
		if p := peak.Load(); p <= 2 {
			t.Errorf("at most %d handlers ran at once on a 2-partition topic with MaxConcurrency 64", p)
		}
		if st := c.Stats(); st.Completed < n || st.InFlight != 0 || st.Held != 0 || len(st.Partitions) != 0 {
			t.Errorf("Stats after the run: completed %d (want >= %d), in flight %d, held %d, partitions %d",
				st.Completed, n, st.InFlight, st.Held, len(st.Partitions))
		}
	})
}

// A failed delivery is released and redelivered by the broker (delivery
// count 2), where it succeeds; a Permanent failure goes to the dead-letter
// topic with its provenance and delivery count, and is not redelivered.
func TestShareGroupReleasesFailuresAndDeadLettersPermanentOnes(t *testing.T) {
	bothClusters(t, func(t *testing.T, cl cluster) {
		topic := testkit.Topic(t, cl.seeds, 3)
		dlq := testkit.Topic(t, cl.seeds, 1)
		const n = 60
		testkit.Produce(t, cl.seeds, topic, n, 10)
		s := newSeen()
		var deliveries sync.Map // value -> delivery counts seen
		c := newShare(t, cl.seeds, testkit.TopicName(t), topic, nil, func(ctx context.Context, r *kgo.Record) error {
			v, _ := strconv.Atoi(string(r.Value))
			d, _ := deliveries.LoadOrStore(string(r.Value), new([]int32))
			*d.(*[]int32) = append(*d.(*[]int32), r.DeliveryCount())
			switch {
			case v == 7:
				return parallel.Permanent(errors.New("malformed"))
			case v%10 == 3 && r.DeliveryCount() == 1:
				return errors.New("flaky")
			}
			s.add(r)
			return nil
		}, parallel.DeadLetterTopic(dlq), parallel.MaxConcurrency(16))
		r := runDeadLettering(t, c, s, cl.seeds, dlq, n-1, 1)[0]
		for k, want := range map[string]string{parallel.HeaderOriginTopic: topic, parallel.HeaderError: "malformed",
			parallel.HeaderAttempts: "1", parallel.HeaderDeliveryCount: "1"} {
			if got := parallel.Header(r, k); got != want {
				t.Errorf("dead-letter header %s = %q, want %q", k, got, want)
			}
		}
		if string(r.Value) != "7" || parallel.Header(r, parallel.HeaderOriginOffset) == "" {
			t.Errorf("dead-letter record %q, origin offset %q", r.Value, parallel.Header(r, parallel.HeaderOriginOffset))
		}
		d, _ := deliveries.Load("13")
		if got := *d.(*[]int32); len(got) < 2 || got[0] != 1 || got[len(got)-1] < 2 {
			t.Errorf("record 13 failed its first delivery; deliveries seen %v, want 1 then a redelivery", got)
		}
		st := c.Stats()
		if st.Released < 6 || st.Redelivered < 6 || st.DeadLettered != 1 {
			t.Errorf("Stats: released %d redelivered %d (want >= 6 each), dead-lettered %d (want 1)", st.Released, st.Redelivered, st.DeadLettered)
		}
	})
}

// A record failing every delivery goes to the dead-letter topic on the
// group's last allowed delivery (read from the group's config, here 2),
// instead of being archived by the broker.
func TestShareGroupDeadLettersOnTheLastAllowedDelivery(t *testing.T) {
	bothClusters(t, func(t *testing.T, cl cluster) {
		topic := testkit.Topic(t, cl.seeds, 1)
		dlq := testkit.Topic(t, cl.seeds, 1)
		testkit.Produce(t, cl.seeds, topic, 5, 5)
		var calls atomic.Int64
		c := newShare(t, cl.seeds, testkit.TopicName(t), topic, map[string]string{sharegroup.DeliveryCountLimit: "2"},
			func(ctx context.Context, r *kgo.Record) error {
				if string(r.Value) == "2" {
					calls.Add(1)
					return errors.New("down")
				}
				return nil
			}, parallel.DeadLetterTopic(dlq))
		stop := testkit.Run(t, c)
		dead := consumeAll(t, cl.seeds, dlq, 1)
		if err := stop(); err != nil {
			t.Fatalf("Run: %v", err)
		}
		if got := parallel.Header(dead[0], parallel.HeaderDeliveryCount); got != "2" {
			t.Errorf("dead-lettered on delivery %q, want 2 (the group's limit)", got)
		}
		if got := calls.Load(); got != 4 {
			t.Errorf("handler calls for the failing record: %d, want 4 (2 attempts x 2 deliveries)", got)
		}
	})
}

// Without a dead-letter topic a Permanent failure stops the consumer with
// ErrRecordFailed, as in group mode.
func TestShareGroupPermanentFailureWithoutDeadLetterStopsRun(t *testing.T) {
	cl := fake(t)
	topic := testkit.ProducedTopic(t, cl.seeds, 1, 3, 3)
	c := newShare(t, cl.seeds, testkit.TopicName(t), topic, nil, func(ctx context.Context, r *kgo.Record) error {
		return parallel.Permanent(errors.New("bad record"))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Run(ctx); !errors.Is(err, parallel.ErrRecordFailed) {
		t.Fatalf("Run = %v, want ErrRecordFailed", err)
	}
}

// Handlers still running when Close gives up (DrainTimeout) have their
// records released, not accepted: a second consumer processes them.
func TestShareGroupCloseReleasesUnfinishedRecords(t *testing.T) {
	bothClusters(t, func(t *testing.T, cl cluster) {
		topic := testkit.ProducedTopic(t, cl.seeds, 1, 4, 4)
		group := testkit.TopicName(t)
		started := make(chan struct{}, 4)
		first := newShare(t, cl.seeds, group, topic, nil, func(ctx context.Context, r *kgo.Record) error {
			started <- struct{}{}
			<-ctx.Done() // never finishes by itself
			return ctx.Err()
		}, parallel.DrainTimeout(100*time.Millisecond), parallel.ShareMembers(1))
		stop := testkit.Run(t, first)
		for range 4 {
			receive(t, started, 60*time.Second, "the first consumer did not start every record")
		}
		if err := stop(); err != nil {
			t.Fatalf("Run: %v", err)
		}
		if st := first.Stats(); st.Completed != 0 || st.Released != 4 {
			t.Errorf("first consumer: completed %d released %d, want 0 and 4", st.Completed, st.Released)
		}
		s := newSeen()
		second := newShare(t, cl.seeds, group, topic, nil, func(ctx context.Context, r *kgo.Record) error {
			s.add(r)
			return nil
		})
		testkit.Run(t, second)
		s.waitDistinct(t, 4, 60*time.Second)
	})
}

// Share mode refuses what it cannot honour, naming it.
func TestShareGroupRefusesOrderingRetryTopicAndKgoShareGroup(t *testing.T) {
	seeds := testkit.Kfake(t)
	opts := parallel.ClientOpts(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics("t"))
	for name, extra := range map[string][]parallel.Opt{
		"key order":       {parallel.ShareGroup("g"), parallel.Ordering(parallel.OrderKey)},
		"partition order": {parallel.ShareGroup("g"), parallel.Ordering(parallel.OrderPartition)},
		"retry topic":     {parallel.ShareGroup("g"), parallel.RetryTopic("retry", time.Second, 1)},
		"no members":      {parallel.ShareGroup("g"), parallel.ShareMembers(0)},
		"kgo.ShareGroup":  {parallel.ClientOpts(kgo.ShareGroup("g"))},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := parallel.New(noop, append([]parallel.Opt{opts}, extra...)...)
			if !errors.Is(err, parallel.ErrInvalidOption) {
				if c != nil {
					c.Close()
				}
				t.Fatalf("New = %v, want ErrInvalidOption", err)
			}
			t.Log(err)
		})
	}
	c, err := parallel.New(noop, opts, parallel.ShareGroup("g"), parallel.Ordering(parallel.OrderNone))
	if err != nil {
		t.Fatalf("OrderNone with ShareGroup: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close without Run: %v", err)
	}
}

// A handler running past the group's acquisition lock (15 s here, the
// broker's minimum) keeps its record: the library renews the lock, so the
// broker does not hand the record to the other member meanwhile.
func TestShareGroupRenewsTheLockOfALongHandler_RealBroker(t *testing.T) {
	cl := realBroker(t)
	topic := testkit.ProducedTopic(t, cl.seeds, 1, 1, 1)
	var calls atomic.Int64
	done := make(chan struct{})
	c := newShare(t, cl.seeds, testkit.TopicName(t), topic, map[string]string{sharegroup.RecordLockDuration: "15000"},
		func(ctx context.Context, r *kgo.Record) error {
			if calls.Add(1) > 1 {
				return nil // a redelivery: the test fails below
			}
			time.Sleep(20 * time.Second)
			close(done)
			return nil
		}, parallel.ShareMembers(2))
	stop := testkit.Run(t, c)
	receive(t, done, 90*time.Second, "the long handler did not finish")
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if st := c.Stats(); calls.Load() != 1 || st.Redelivered != 0 || st.AckErrors != 0 || st.Completed != 1 {
		t.Errorf("handler calls %d, redelivered %d, ack errors %d, completed %d: want 1, 0, 0, 1",
			calls.Load(), st.Redelivered, st.AckErrors, st.Completed)
	}
}
