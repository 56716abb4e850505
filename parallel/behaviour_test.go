package parallel_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kpar/kpar/parallel"
	"github.com/kpar/kpar/parallel/internal/testkit"
)

// With the classic and the KIP-848 protocol, on kfake and a real broker.
func TestRebalanceLosesNothingWhenAMemberLeaves(t *testing.T) {
	kip848 := []kgo.Opt{kgo.ServerSideBalancer(), kgo.Balancers(kgo.CooperativeStickyBalancer())}
	t.Run("classic", func(t *testing.T) { bothClusters(t, func(t *testing.T, cl cluster) { testRebalance(t, cl, nil) }) })
	t.Run("KIP848", func(t *testing.T) { bothClusters(t, func(t *testing.T, cl cluster) { testRebalance(t, cl, kip848) }) })
}

// Two members share a group; the first leaves mid-stream. Every record must
// be processed (duplicates allowed only for the leaver's in-flight work) and
// the group's commits must end at the log end.
func testRebalance(t *testing.T, cl cluster, extra []kgo.Opt) {
	const n, keys = 4000, 200
	topic := testkit.ProducedTopic(t, cl.seeds, 6, n, keys)
	group := testkit.TopicName(t)
	s := newSeen()
	var byA, byB atomic.Int64
	mk := func(counter *atomic.Int64) parallel.Handler {
		return func(ctx context.Context, r *kgo.Record) error {
			time.Sleep(10 * time.Millisecond)
			s.add(r)
			counter.Add(1)
			return nil
		}
	}
	opts := []parallel.Opt{parallel.MaxConcurrency(8), parallel.ClientOpts(extra...), parallel.RevokeTimeout(5 * time.Second)}
	a := testkit.Consumer(t, cl.seeds, group, mk(&byA), []string{topic}, opts...)
	stopA := testkit.Run(t, a)
	testkit.WaitFor(t, 30*time.Second, "member A to start", func() bool { return byA.Load() > 200 })
	b := testkit.Consumer(t, cl.seeds, group, mk(&byB), []string{topic}, opts...)
	stopB := testkit.Run(t, b)
	// Owning partitions, not a count processed: under load A could finish
	// the topic before B processed any given number.
	testkit.WaitFor(t, 30*time.Second, "member B to get partitions", func() bool { return len(b.Stats().Partitions) > 0 })
	if err := stopA(); err != nil {
		t.Fatalf("A: %v", err)
	}
	s.waitDistinct(t, n, 60*time.Second)
	testkit.WaitFor(t, 30*time.Second, "commits to reach the log end", func() bool { return sumCommitted(t, cl.seeds, group) == n })
	if err := stopB(); err != nil {
		t.Fatalf("B: %v", err)
	}
	dups := 0
	for _, k := range s.count {
		dups += k - 1
	}
	t.Logf("A processed %d, B %d, duplicates %d", byA.Load(), byB.Load(), dups)
	for key, vs := range s.order {
		seenV := map[int]bool{}
		last := -1
		for _, v := range vs {
			if v < last && !seenV[v] {
				t.Fatalf("key %s: first processing of %d after %d: %v", key, v, last, vs)
			}
			seenV[v] = true
			last = max(last, v)
		}
	}
}

func TestFailingRecordsAreRetriedThenDeadLettered(t *testing.T) { bothClusters(t, testDeadLetter) }

// Values divisible by 50 always fail (one of them by panicking); every other
// value fails its first attempt. Retries must recover the latter; the former
// must land in the dead-letter topic with origin and failure headers; all
// source offsets must end up committed.
func testDeadLetter(t *testing.T, cl cluster) {
	const n = 500
	topic, dlt := testkit.ProducedTopic(t, cl.seeds, 3, n, 20), testkit.Topic(t, cl.seeds, 1)
	group := testkit.TopicName(t)
	var attempts testkit.Attempts
	h := func(ctx context.Context, r *kgo.Record) error {
		v, a := attempts.Next(r)
		switch {
		case v == 100:
			panic("poison record")
		case v%50 == 0:
			return errors.New("permanent failure " + strconv.Itoa(v))
		case a == 1:
			return errors.New("transient failure")
		}
		return nil
	}
	c := testkit.Consumer(t, cl.seeds, group, h, []string{topic},
		parallel.Retries(3, time.Millisecond, 5*time.Millisecond), parallel.DeadLetterTopic(dlt))
	testkit.RunUntil(t, c, 60*time.Second, "all offsets committed", func() bool { return sumCommitted(t, cl.seeds, group) == n })
	st := c.Stats()
	if st.DeadLettered != n/50 {
		t.Errorf("dead-lettered %d, want %d", st.DeadLettered, n/50)
	}
	for v := 0; v < n; v++ {
		want := 2
		if v%50 == 0 {
			want = 3
		}
		if got := attempts.Of(v); got != want {
			t.Errorf("value %d: %d attempts, want %d", v, got, want)
		}
	}
	dead := consumeAll(t, cl.seeds, dlt, n/50)
	for _, r := range dead {
		v, _ := strconv.Atoi(string(r.Value))
		if v%50 != 0 {
			t.Errorf("value %d dead-lettered but it recovers on retry", v)
		}
		if parallel.Header(r, parallel.HeaderOriginTopic) != topic || parallel.Header(r, parallel.HeaderAttempts) != "3" ||
			parallel.Header(r, parallel.HeaderOriginOffset) == "" || parallel.Header(r, parallel.HeaderFirstFailure) == "" ||
			parallel.Header(r, parallel.HeaderLastFailure) == "" {
			t.Errorf("value %d: headers %v", v, r.Headers)
		}
		if v == 100 && !strings.Contains(parallel.Header(r, parallel.HeaderError), "panic") {
			t.Errorf("panic not recorded as the error: %q", parallel.Header(r, parallel.HeaderError))
		}
	}
}

func TestRetryTopicRedeliversWhenDueWithoutBlockingTheSource(t *testing.T) {
	cl := fake(t)
	const n = 200
	topic, retry := testkit.ProducedTopic(t, cl.seeds, 2, n, 10), testkit.Topic(t, cl.seeds, 1)
	group := testkit.TopicName(t)
	var mu sync.Mutex
	calls := map[int][]time.Time{}
	viaRetry := map[int]bool{}
	h := func(ctx context.Context, r *kgo.Record) error {
		v, _ := strconv.Atoi(string(r.Value))
		mu.Lock()
		calls[v] = append(calls[v], time.Now())
		k := len(calls[v])
		if r.Topic == retry {
			viaRetry[v] = true
		}
		mu.Unlock()
		if v%20 == 0 && k < 3 {
			return errors.New("not yet")
		}
		return nil
	}
	const delay = 300 * time.Millisecond
	c := testkit.Consumer(t, cl.seeds, group, h, []string{topic},
		parallel.Retries(1, 0, 0), parallel.RetryTopic(retry, delay, 5))
	stop := testkit.Run(t, c)
	testkit.WaitFor(t, 30*time.Second, "retried records to succeed", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for v := 0; v < n; v += 20 {
			if len(calls[v]) < 3 {
				return false
			}
		}
		return true
	})
	testkit.WaitFor(t, 10*time.Second, "all source offsets committed", func() bool { return sumCommitted(t, cl.seeds, group) >= n })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for v := 0; v < n; v += 20 {
		ts := calls[v]
		if !viaRetry[v] {
			t.Errorf("value %d never came back through the retry topic", v)
		}
		for i := 1; i < len(ts); i++ {
			if gap := ts[i].Sub(ts[i-1]); gap < delay-50*time.Millisecond {
				t.Errorf("value %d: attempt %d only %v after the previous (delay %v)", v, i+1, gap, delay)
			}
		}
	}
}

func TestRecordFailingEverythingWithoutDeadLetterStopsRunUncommitted(t *testing.T) {
	cl := fake(t)
	topic := testkit.ProducedTopic(t, cl.seeds, 1, 10, 10)
	group := testkit.TopicName(t)
	h := func(ctx context.Context, r *kgo.Record) error {
		if string(r.Value) == "5" {
			return errors.New("boom")
		}
		return nil
	}
	c := testkit.Consumer(t, cl.seeds, group, h, []string{topic}, parallel.Retries(2, time.Millisecond, time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := c.Run(ctx)
	c.Close()
	if !errors.Is(err, parallel.ErrRecordFailed) {
		t.Fatalf("Run = %v, want ErrRecordFailed", err)
	}
	if got := sumCommitted(t, cl.seeds, group); got > 5 {
		t.Fatalf("committed offset %d is past the failed record at 5", got)
	}
}

func TestRestartSkipsRecordsCompletedAboveTheCommit(t *testing.T) { bothClusters(t, testRestart) }

// One record (value 0, offset 0 of the single partition) hangs; everything
// else completes. The first consumer is closed with a short drain timeout,
// so it commits offset 0 with the completions above it in the metadata. A
// second consumer must process only the hung record.
func testRestart(t *testing.T, cl cluster) {
	const n = 1000
	topic := testkit.ProducedTopic(t, cl.seeds, 1, n, 100)
	group := testkit.TopicName(t)

	var first atomic.Int64
	h1 := func(ctx context.Context, r *kgo.Record) error {
		if string(r.Value) == "0" {
			<-ctx.Done() // hangs until abandoned
			return ctx.Err()
		}
		first.Add(1)
		return nil
	}
	c1 := testkit.Consumer(t, cl.seeds, group, h1, []string{topic}, parallel.DrainTimeout(200*time.Millisecond),
		parallel.Ordering(parallel.OrderNone))
	stop1 := testkit.Run(t, c1)
	testkit.WaitFor(t, 30*time.Second, "first consumer to finish all but one", func() bool { return first.Load() == n-1 })
	if err := stop1(); err != nil {
		t.Fatal(err)
	}
	var meta string
	_, metas := testkit.CommittedOffsets(t, cl.seeds, group, topic)
	for _, m := range metas {
		meta = m
	}
	if got := sumCommitted(t, cl.seeds, group); got != 0 {
		t.Fatalf("committed %d, want 0 (the hung record)", got)
	}
	if !strings.HasPrefix(meta, "kpar1:") {
		t.Fatalf("commit metadata %q carries no completion map", meta)
	}

	s := newSeen()
	c2 := testkit.Consumer(t, cl.seeds, group, func(ctx context.Context, r *kgo.Record) error { s.add(r); return nil }, []string{topic})
	stop2 := testkit.Run(t, c2)
	testkit.WaitFor(t, 30*time.Second, "commits to reach the end", func() bool { return sumCommitted(t, cl.seeds, group) == n })
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
	if s.distinct() != 1 || s.count["0"] != 1 {
		t.Fatalf("second consumer processed %d records (%v), want only value 0", s.distinct(), s.count)
	}
	if st := c2.Stats(); st.Skipped != n-1 {
		t.Fatalf("skipped %d, want %d", st.Skipped, n-1)
	}
}

func TestBackpressureBoundsHeldRecordsAndPausesOnlyFullPartitions(t *testing.T) {
	cl := fake(t)
	const n = 5000
	topic := testkit.ProducedTopic(t, cl.seeds, 4, n, 1000)
	group := testkit.TopicName(t)
	release := make(chan struct{})
	var done atomic.Int64
	h := func(ctx context.Context, r *kgo.Record) error {
		select {
		case <-release:
		case <-ctx.Done():
			return ctx.Err()
		}
		done.Add(1)
		return nil
	}
	const total, perPart = 400, 60
	c := testkit.Consumer(t, cl.seeds, group, h, []string{topic}, parallel.MaxBuffered(total),
		parallel.MaxBufferedPerPartition(perPart), parallel.MaxConcurrency(1000), parallel.Ordering(parallel.OrderNone))
	stop := testkit.Run(t, c)
	testkit.WaitFor(t, 30*time.Second, "the total bound to be reached", func() bool { return c.Stats().Held >= total })
	for i := 0; i < 20; i++ { // the bound holds while nothing completes
		st := c.Stats()
		if st.Held > total {
			t.Fatalf("held %d records, bound %d", st.Held, total)
		}
		for _, p := range st.Partitions {
			if p.Paused != (p.Held+p.Backlog >= perPart) {
				t.Fatalf("partition %d holds %d+%d backlog (bound %d) but paused=%v", p.Partition, p.Held, p.Backlog, perPart, p.Paused)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	testkit.WaitFor(t, 60*time.Second, "everything processed", func() bool { return done.Load() >= n })
	// The last handler has returned; its record is marked done (and its
	// partition resumed) a moment later, under the partition's lock.
	testkit.WaitFor(t, 30*time.Second, "every partition resumed once nothing is held", func() bool {
		st := c.Stats()
		return st.Held == 0 && st.PausedPartitions == 0
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// A partition paused for a backlog whose every record was done before a
// restart (per the commit metadata) is resumed when that backlog is taken:
// no completion will come to resume it, and records after the backlog must
// still be fetched. The cluster holds the fetch of the done records until
// the one record not done is finished, so the backlog is parked with
// nothing else held.
func TestAPartitionWhoseBacklogWasDoneBeforeARestartIsNotLeftPaused(t *testing.T) {
	kc, seeds := testkit.KfakeCluster(t, "t", 1)
	const doneBefore, after, perPart = 59, 100, 10
	testkit.Produce(t, seeds, "t", 1, 1)                                                    // offset 0: stuck in the first run
	testkit.Produce(t, seeds, "t", doneBefore, 1, kgo.ProducerLinger(200*time.Millisecond)) // 1..59: done in the first run
	// The first run finishes everything but offset 0 and commits 0 with
	// 1..59 done in its metadata.
	var firstDone atomic.Int64
	first := testkit.Consumer(t, seeds, "g", func(ctx context.Context, r *kgo.Record) error {
		if r.Offset == 0 {
			<-ctx.Done()
			return ctx.Err()
		}
		firstDone.Add(1)
		return nil
	}, []string{"t"}, parallel.Ordering(parallel.OrderNone), parallel.DrainTimeout(200*time.Millisecond))
	stopFirst := testkit.Run(t, first)
	testkit.WaitFor(t, 30*time.Second, "the first run to finish all but offset 0", func() bool { return firstDone.Load() == doneBefore })
	testkit.WaitFor(t, 30*time.Second, "offset 0 committed with the rest done in its metadata", func() bool {
		at, meta := testkit.CommittedOffsets(t, seeds, "g", "t")
		s := first.Stats()
		return at[0] == 0 && meta[0] != "" && len(s.Partitions) == 1 && s.Partitions[0].Held == 1 && s.Partitions[0].Committable == 0
	})
	if err := stopFirst(); err != nil {
		t.Fatal(err)
	}
	testkit.Produce(t, seeds, "t", after, 1) // 60..159: only fetched if the partition is resumed

	gate := make(chan struct{})
	var held atomic.Bool
	kc.ControlKey(int16(kmsg.Fetch), func(req kmsg.Request) (kmsg.Response, error, bool) {
		kc.KeepControl()
		for _, rt := range req.(*kmsg.FetchRequest).Topics {
			for _, rp := range rt.Partitions {
				if rp.FetchOffset >= 1 && rp.FetchOffset <= doneBefore && !held.Swap(true) {
					kc.SleepControl(func() { <-gate })
				}
			}
		}
		return nil, nil, false
	})
	var zeroDone atomic.Bool
	var rest atomic.Int64
	second := testkit.Consumer(t, seeds, "g", func(ctx context.Context, r *kgo.Record) error {
		switch {
		case r.Offset == 0:
			zeroDone.Store(true)
		case r.Offset <= doneBefore:
			t.Errorf("offset %d handled again though done before the restart", r.Offset)
		default:
			rest.Add(1)
		}
		return nil
	}, []string{"t"}, parallel.Ordering(parallel.OrderNone), parallel.MaxBufferedPerPartition(perPart),
		parallel.ClientOpts(kgo.FetchMaxPartitionBytes(1), kgo.DisableFetchSessions())) // a batch a fetch
	stopSecond := testkit.Run(t, second)
	testkit.WaitFor(t, 30*time.Second, "offset 0 done and nothing held", func() bool {
		return zeroDone.Load() && second.Stats().Held == 0
	})
	close(gate)
	deadline := time.Now().Add(30 * time.Second)
	for rest.Load() < after {
		if time.Now().After(deadline) {
			t.Fatalf("%d of the %d records after the done backlog handled in 30s; stats %+v", rest.Load(), after, second.Stats().Partitions)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if s := second.Stats(); s.Skipped != doneBefore {
		t.Errorf("skipped %d records as done before the restart, want %d", s.Skipped, doneBefore)
	}
	if err := stopSecond(); err != nil {
		t.Fatal(err)
	}
}
