package parallel_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/parallel"
	"github.com/kpar/kpar/parallel/internal/testkit"
)

// limits records every limit the limiter decided, and the highest number
// of handler calls seen running at once.
type limits struct {
	list[int]
	running atomic.Int64
	peak    atomic.Int64
}

// within fails the test if a limit decided fell outside [lo, hi], or if
// more than hi handler calls ran at once.
func (l *limits) within(t *testing.T, lo, hi int) {
	t.Helper()
	for _, v := range l.all() {
		if v < lo || v > hi {
			t.Fatalf("limit %d decided, outside [%d, %d]", v, lo, hi)
		}
	}
	if p := l.peak.Load(); p > int64(hi) {
		t.Errorf("%d handler calls ran at once, above max %d", p, hi)
	}
}

// enter counts a handler call in; the returned func counts it out.
func (l *limits) enter() func() {
	n := l.running.Add(1)
	for {
		p := l.peak.Load()
		if n <= p || l.peak.CompareAndSwap(p, n) {
			break
		}
	}
	return func() { l.running.Add(-1) }
}

// A handler whose latency does not move lets the limit climb from min
// towards max; once its latency doubles the limit falls. Every limit
// decided stays in [min, max].
func TestAdaptiveLimitRisesUnderAFastHandlerAndFallsWhenLatencyDoubles(t *testing.T) {
	const lo, hi = 1, 64
	seeds := testkit.Kfake(t)
	topic := testkit.ProducedTopic(t, seeds, 4, 60_000, 1000, testkit.RoundRobin)
	var delay atomic.Int64
	delay.Store(int64(4 * time.Millisecond))
	var lim limits
	c := testkit.Consumer(t, seeds, testkit.TopicName(t), func(ctx context.Context, r *kgo.Record) error {
		defer lim.enter()()
		time.Sleep(time.Duration(delay.Load()))
		return nil
	}, []string{topic}, parallel.Ordering(parallel.OrderNone), parallel.MaxConcurrency(hi),
		parallel.AdaptiveConcurrency(lo, hi))
	parallel.OnLimitUpdate(c, lim.add)
	if got := c.Stats().ConcurrencyLimit; got != lo {
		t.Errorf("Stats.ConcurrencyLimit before Run = %d, want min %d", got, lo)
	}
	testkit.Run(t, c)
	testkit.WaitFor(t, 60*time.Second, "the limit to reach 3/4 of max", func() bool {
		return c.Stats().ConcurrencyLimit >= hi*3/4
	})
	before := len(lim.all())
	delay.Store(int64(8 * time.Millisecond))
	testkit.WaitFor(t, 60*time.Second, "the limit to fall to half of max after latency doubled", func() bool {
		return slices.ContainsFunc(lim.all()[before:], func(v int) bool { return v <= hi/2 })
	})
	lim.within(t, lo, hi)
}

// Failing calls push the limit down to min and never below; fast
// successes then lift it to max and never above; handler calls running at
// once never exceed max although MaxConcurrency allows more.
func TestAdaptiveLimitStaysWithinMinAndMax(t *testing.T) {
	const lo, hi = 3, 12
	seeds := testkit.Kfake(t)
	topic := testkit.ProducedTopic(t, seeds, 4, 40_000, 1000, testkit.RoundRobin)
	var failing atomic.Bool
	failing.Store(true)
	var lim limits
	c := testkit.Consumer(t, seeds, testkit.TopicName(t), func(ctx context.Context, r *kgo.Record) error {
		defer lim.enter()()
		time.Sleep(time.Millisecond)
		if failing.Load() {
			return errors.New("downstream refused")
		}
		return nil
	}, []string{topic}, parallel.Ordering(parallel.OrderNone), parallel.MaxConcurrency(40),
		parallel.AdaptiveConcurrency(lo, hi), parallel.Retries(1000, 0, time.Millisecond))
	parallel.OnLimitUpdate(c, lim.add)
	testkit.Run(t, c)
	testkit.WaitFor(t, 60*time.Second, "failures to bring the limit to min", func() bool {
		return slices.Contains(lim.all(), lo) && c.Stats().Failed > 100
	})
	failing.Store(false)
	testkit.WaitFor(t, 60*time.Second, "successes to bring the limit to max", func() bool {
		return c.Stats().ConcurrencyLimit == hi
	})
	lim.within(t, lo, hi)
}

// With the limiter on, OrderKey still runs each key's records once each,
// in offset order.
func TestAdaptiveLimitKeepsKeyOrder(t *testing.T) {
	const n, keys = 3000, 40
	seeds := testkit.Kfake(t)
	topic := testkit.ProducedTopic(t, seeds, 3, n, keys, testkit.RoundRobin)
	s := newSeen()
	var slow atomic.Int64
	c := testkit.Consumer(t, seeds, testkit.TopicName(t), func(ctx context.Context, r *kgo.Record) error {
		if slow.Add(1)%7 == 0 {
			time.Sleep(time.Millisecond)
		}
		s.add(r)
		return nil
	}, []string{topic}, parallel.MaxConcurrency(32), parallel.AdaptiveConcurrency(1, 16))
	testkit.Run(t, c)
	s.waitDistinct(t, n, 60*time.Second)
	s.onceEachInKeyOrder(t)
}

// With NewBatch the limit caps BatchHandler calls in flight, and every
// record is processed.
func TestAdaptiveLimitCapsBatchCalls(t *testing.T) {
	const n, hi = 2000, 2
	seeds := testkit.Kfake(t)
	topic := testkit.ProducedTopic(t, seeds, 4, n, 500, testkit.RoundRobin)
	s := newSeen()
	var lim limits
	c, err := parallel.NewBatch(func(ctx context.Context, rs []*kgo.Record) error {
		defer lim.enter()()
		for _, r := range rs {
			s.add(r)
		}
		time.Sleep(2 * time.Millisecond)
		return nil
	}, parallel.ClientOpts(kgo.SeedBrokers(seeds...), kgo.ConsumerGroup(testkit.TopicName(t)), kgo.ConsumeTopics(topic)),
		parallel.MaxConcurrency(40), parallel.BatchSize(10, 5*time.Millisecond), parallel.AdaptiveConcurrency(1, hi))
	if err != nil {
		t.Fatal(err)
	}
	testkit.Run(t, c)
	s.waitDistinct(t, n, 60*time.Second)
	if p := lim.peak.Load(); p > hi {
		t.Errorf("%d batch calls ran at once, above max %d", p, hi)
	}
	if l := c.Stats().ConcurrencyLimit; l < 1 || l > hi {
		t.Errorf("Stats.ConcurrencyLimit = %d, outside [1, %d]", l, hi)
	}
}

// RateLimit(rate, burst): over any stretch T of the bucket's own clock at
// most burst + rate*T tokens fall due, and the k-th handler start comes no
// earlier than the k-th due time; so n starts take at least
// (n-burst)/rate. Only lower bounds on time: a loaded machine cannot
// break them.
func TestRateLimitHoldsStartsPerSecond(t *testing.T) {
	const n, rate, burst = 300, 400.0, 20
	seeds := testkit.Kfake(t)
	topic := testkit.ProducedTopic(t, seeds, 4, n, 100, testkit.RoundRobin)
	var (
		mu           sync.Mutex
		dues, starts []time.Time
	)
	s := newSeen()
	c := testkit.Consumer(t, seeds, testkit.TopicName(t), func(ctx context.Context, r *kgo.Record) error {
		now := time.Now()
		mu.Lock()
		starts = append(starts, now)
		mu.Unlock()
		s.add(r)
		return nil
	}, []string{topic}, parallel.Ordering(parallel.OrderNone), parallel.MaxConcurrency(32),
		parallel.RateLimit(rate, burst))
	parallel.OnTokenDue(c, func(due time.Time) { dues = append(dues, due) }) // under the bucket's lock
	testkit.Run(t, c)
	s.waitDistinct(t, n, 60*time.Second)
	mu.Lock()
	defer mu.Unlock()
	if len(dues) < n || len(starts) < n {
		t.Fatalf("%d tokens, %d starts; want at least %d each", len(dues), len(starts), n)
	}
	slices.SortFunc(dues, func(a, b time.Time) int { return a.Compare(b) })
	slices.SortFunc(starts, func(a, b time.Time) int { return a.Compare(b) })
	for i := range dues {
		for j := i + burst; j < len(dues); j += 7 {
			if allowed := burst + rate*dues[j].Sub(dues[i]).Seconds(); float64(j-i+1) > allowed+1e-6 {
				t.Fatalf("%d tokens due within %v of bucket time, want at most %.1f", j-i+1, dues[j].Sub(dues[i]), allowed)
			}
		}
	}
	for k := range starts {
		if starts[k].Before(dues[k]) {
			t.Fatalf("start %d at %v, before the %d-th token was due (%v)", k, starts[k], k, dues[k])
		}
	}
	if min := time.Duration(float64(n-burst) / rate * float64(time.Second)); starts[n-1].Sub(dues[0]) < min {
		t.Errorf("%d starts within %v of the first token, want at least (n-burst)/rate = %v", n, starts[n-1].Sub(dues[0]), min)
	}
}

// In share mode the limit caps handler calls in flight too, and every
// record is processed.
func TestAdaptiveLimitCapsShareModeCalls(t *testing.T) {
	const n, hi = 400, 3
	cl := fake(t)
	topic := testkit.ProducedTopic(t, cl.seeds, 2, n, 100)
	s := newSeen()
	var lim limits
	c := newShare(t, cl.seeds, testkit.TopicName(t), topic, nil, func(ctx context.Context, r *kgo.Record) error {
		defer lim.enter()()
		s.add(r)
		time.Sleep(time.Millisecond)
		return nil
	}, parallel.MaxConcurrency(20), parallel.AdaptiveConcurrency(1, hi))
	testkit.Run(t, c)
	s.waitDistinct(t, n, 60*time.Second)
	if p := lim.peak.Load(); p > hi {
		t.Errorf("%d handler calls ran at once in share mode, above max %d", p, hi)
	}
}

// NewTransform with RateLimit: every record's output is written once, and
// the bucket handed out a token per start.
func TestRateLimitComposesWithTransform(t *testing.T) {
	const n = 200
	seeds := testkit.Kfake(t)
	in, out := testkit.Topic(t, seeds, 2), testkit.Topic(t, seeds, 1)
	testkit.Produce(t, seeds, in, n, 50, testkit.RoundRobin)
	var tokens atomic.Int64
	c, err := parallel.NewTransform(func(ctx context.Context, r *kgo.Record) ([]*kgo.Record, error) {
		return []*kgo.Record{{Topic: out, Key: r.Key, Value: r.Value}}, nil
	}, parallel.ClientOpts(kgo.SeedBrokers(seeds...), kgo.ConsumerGroup(testkit.TopicName(t)), kgo.ConsumeTopics(in),
		kgo.TransactionalID(testkit.TopicName(t))), parallel.RateLimit(2000, 10))
	if err != nil {
		t.Fatal(err)
	}
	parallel.OnTokenDue(c, func(time.Time) { tokens.Add(1) })
	testkit.Run(t, c)
	got := consumeAll(t, seeds, out, n)
	vals := map[string]bool{}
	for _, r := range got {
		vals[string(r.Value)] = true
	}
	if len(vals) != n || len(got) != n {
		t.Errorf("%d outputs, %d distinct, want %d each", len(got), len(vals), n)
	}
	if k := tokens.Load(); k < n {
		t.Errorf("%d tokens for %d starts", k, n)
	}
}
