package parallel_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/parallel"
	"github.com/kpar/kpar/parallel/internal/testkit"
)

// The broker rejects the first commits (every partition UNKNOWN_SERVER_ERROR,
// which kgo does not retry itself). The library must count and log the
// failures and commit the same progress again on later ticks, without new
// records completing, until the commits reach the log end; no record is
// processed twice meanwhile.
// Back to back (CommitInterval(0)) the retry must come without a new
// completion too: the last records' commit would otherwise wait forever.
func TestFailedCommitsAreRetriedUntilTheyReachTheLogEnd(t *testing.T) {
	for _, iv := range []time.Duration{100 * time.Millisecond, 0} {
		t.Run("interval="+iv.String(), func(t *testing.T) { testFailedCommitsRetried(t, iv) })
	}
}

func testFailedCommitsRetried(t *testing.T, interval time.Duration) {
	const topic, n, failFirst = "t", 300, 4
	cl, seeds := testkit.KfakeCluster(t, topic, 3)
	testkit.Produce(t, seeds, topic, n, 30, testkit.RoundRobin)
	var rejected atomic.Int64
	fault := injectCommitFault(cl, kerr.UnknownServerError.Code, func() bool { return rejected.Add(1) <= failFirst })

	var (
		mu    sync.Mutex
		calls = map[string]int{}
	)
	var done atomic.Int64
	h := func(ctx context.Context, r *kgo.Record) error {
		mu.Lock()
		calls[string(r.Value)]++
		mu.Unlock()
		done.Add(1)
		return nil
	}
	log := &logLines{}
	c := testkit.Consumer(t, seeds, "g", h, []string{topic}, parallel.Logf(log.logf), parallel.CommitInterval(interval))
	stop := testkit.Run(t, c)
	testkit.WaitFor(t, 30*time.Second, "commits to reach the log end", func() bool {
		at, _ := testkit.CommittedOffsets(t, seeds, "g", topic)
		return testkit.SumOffsets(at) == n
	})
	failed, passed := fault.counts()
	errs := c.Stats().CommitErrors
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if failed != failFirst || passed == 0 {
		t.Fatalf("broker rejected %d and accepted %d commits; want %d rejected then some accepted", failed, passed, failFirst)
	}
	if errs != failFirst {
		t.Errorf("Stats().CommitErrors = %v, want %d", errs, failFirst)
	}
	if !log.contains("commit") {
		t.Errorf("no Logf line about the failed commits")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != n {
		t.Fatalf("processed %d distinct records, want %d", len(calls), n)
	}
	for v, k := range calls {
		if k != 1 {
			t.Errorf("record %s processed %d times; a failed commit must not replay within one run", v, k)
		}
	}
}

// Every commit fails, including the final one on Close. Nothing may be
// lost: the group has no committed offset, and the next consumer of the
// group processes every record again.
func TestCommitsFailingThroughCloseLoseNoRecord(t *testing.T) {
	const topic, n = "t", 100
	cl, seeds := testkit.KfakeCluster(t, topic, 2)
	testkit.Produce(t, seeds, topic, n, 10, testkit.RoundRobin)
	var failing atomic.Bool
	failing.Store(true)
	fault := injectCommitFault(cl, kerr.UnknownServerError.Code, failing.Load)

	var first atomic.Int64
	log := &logLines{}
	c := testkit.Consumer(t, seeds, "g", func(context.Context, *kgo.Record) error { first.Add(1); return nil }, []string{topic},
		parallel.Logf(log.logf))
	stop := testkit.Run(t, c)
	testkit.WaitFor(t, 30*time.Second, "records processed", func() bool { return first.Load() == n })
	testkit.WaitFor(t, 10*time.Second, "a commit attempt", func() bool { f, _ := fault.counts(); return f > 0 })
	runErr := stop()
	t.Logf("Run returned %v with every commit failing", runErr)
	if !log.contains("final commit") {
		t.Errorf("the failed final commit was not reported through Logf")
	}
	if at, _ := testkit.CommittedOffsets(t, seeds, "g", topic); len(at) != 0 {
		t.Fatalf("committed %v although the broker rejected every commit", at)
	}

	failing.Store(false)
	var second atomic.Int64
	c2 := testkit.Consumer(t, seeds, "g", func(context.Context, *kgo.Record) error { second.Add(1); return nil }, []string{topic})
	stop2 := testkit.Run(t, c2)
	testkit.WaitFor(t, 30*time.Second, "the next consumer to commit the end", func() bool {
		at, _ := testkit.CommittedOffsets(t, seeds, "g", topic)
		return testkit.SumOffsets(at) == n
	})
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
	if second.Load() != n {
		t.Fatalf("next consumer processed %d records, want all %d", second.Load(), n)
	}
}

// A stop whose final commit failed is not a clean stop: Run (and Close)
// should say so, so that a program does not exit 0 believing its work is
// committed. Package doc: "It returns nil after a clean stop and the failure
// otherwise."
func TestRunReportsAFailedFinalCommit(t *testing.T) {
	const topic, n = "t", 20
	cl, seeds := testkit.KfakeCluster(t, topic, 1)
	testkit.Produce(t, seeds, topic, n, 5, testkit.RoundRobin)
	injectCommitFault(cl, kerr.UnknownServerError.Code, func() bool { return true })
	var done atomic.Int64
	c := testkit.Consumer(t, seeds, "g", func(context.Context, *kgo.Record) error { done.Add(1); return nil }, []string{topic},
		parallel.CommitInterval(time.Hour))
	stop := testkit.Run(t, c)
	testkit.WaitFor(t, 30*time.Second, "records processed", func() bool { return done.Load() == n })
	if err := stop(); !errors.Is(err, parallel.ErrFinalCommit) {
		t.Fatalf("stop after a failed final commit returned %v, want ErrFinalCommit", err)
	}
}

// CommitInterval(0) commits back to back: a completion is committed as soon
// as the commit before it returned, with no interval to wait for. Each
// record's handler waits until the group's committed offset covers the
// record before it; with any interval longer than the test's patience (an
// hour here) the consumer would sit idle and the test fail. Nothing else
// happens meanwhile, so only a commit triggered by the completion itself
// can get the next record going.
func TestBackToBackCommitsCommitEachCompletionWithoutWaitingForAnInterval(t *testing.T) {
	const topic, n = "t", 5
	_, seeds := testkit.KfakeCluster(t, topic, 1)
	testkit.Produce(t, seeds, topic, n, 1, testkit.RoundRobin)
	adm := testkit.Admin(t, seeds)
	committed := func() int64 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		offs, err := adm.FetchOffsets(ctx, "g")
		if err != nil {
			return -1
		}
		o, ok := offs.Lookup(topic, 0)
		if !ok || o.Err != nil {
			return -1
		}
		return o.At
	}
	var (
		mu     sync.Mutex
		missed []int64 // records whose predecessor was never committed
		done   atomic.Int64
	)
	h := func(ctx context.Context, r *kgo.Record) error {
		defer done.Add(1)
		deadline := time.Now().Add(30 * time.Second)
		for r.Offset > 0 && committed() < r.Offset {
			if time.Now().After(deadline) {
				mu.Lock()
				missed = append(missed, r.Offset)
				mu.Unlock()
				return nil
			}
			time.Sleep(20 * time.Millisecond)
		}
		return nil
	}
	c := testkit.Consumer(t, seeds, "g", h, []string{topic}, parallel.Ordering(parallel.OrderPartition),
		parallel.CommitInterval(0))
	stop := testkit.Run(t, c)
	testkit.WaitFor(t, 3*time.Minute, "every record handled", func() bool { return done.Load() == n })
	testkit.WaitFor(t, 30*time.Second, "the last record committed", func() bool { return committed() == n })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(missed) > 0 {
		t.Fatalf("records %v ran although the record before each was never committed within 30s: no back-to-back commit", missed)
	}
}
