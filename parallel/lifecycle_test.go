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
)

func TestCloseWithoutRunIsIdempotentAndForbidsRun(t *testing.T) {
	_, seeds := testkit.KfakeCluster(t, "t", 1)
	c := testkit.Consumer(t, seeds, "g", noop, []string{"t"})
	for i := 0; i < 3; i++ {
		if err := c.Close(); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
	if err := c.Run(context.Background()); !errors.Is(err, parallel.ErrClosed) {
		t.Fatalf("Run after Close = %v, want ErrClosed", err)
	}
}

// Concurrent and repeated Close calls on a running consumer all return,
// return the same (nil) result as Run, and a second Run is refused.
func TestCloseIsIdempotentAndConcurrentSafeWhileRunning(t *testing.T) {
	const n = 50
	_, seeds := testkit.KfakeCluster(t, "t", 3)
	testkit.Produce(t, seeds, "t", n, 10, testkit.RoundRobin)
	var done atomic.Int64
	c := testkit.Consumer(t, seeds, "g", func(context.Context, *kgo.Record) error { done.Add(1); return nil }, []string{"t"})
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(context.Background()) }()
	testkit.WaitFor(t, 20*time.Second, "records processed", func() bool { return done.Load() == n })

	if err := c.Run(context.Background()); !errors.Is(err, parallel.ErrRunning) {
		t.Fatalf("second Run = %v, want ErrRunning", err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = c.Close() }()
	}
	closed := make(chan struct{})
	go func() { wg.Wait(); close(closed) }()
	receive(t, closed, 30*time.Second, "concurrent Close calls did not all return within 30s")
	for i, err := range errs {
		if err != nil {
			t.Errorf("Close #%d = %v", i, err)
		}
	}
	if err := receive(t, runErr, 10*time.Second, "Run did not return after Close"); err != nil {
		t.Fatalf("Run = %v after Close", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close after Run returned: %v", err)
	}
	if at, _ := testkit.CommittedOffsets(t, seeds, "g", "t"); testkit.SumOffsets(at) != n {
		t.Fatalf("committed %v (sum %d), want sum %d after a clean Close", at, testkit.SumOffsets(at), n)
	}
}

// Close waits for running handlers up to DrainTimeout and commits what they
// finished; handlers still running then see their context cancelled and
// their records are not committed.
func TestCloseDrainsFinishingHandlersAndCancelsTheRestUncommitted(t *testing.T) {
	_, seeds := testkit.KfakeCluster(t, "t", 1)
	testkit.Produce(t, seeds, "t", 5, 5, testkit.RoundRobin)
	var started, cancelled, finished atomic.Int64
	h := func(ctx context.Context, r *kgo.Record) error {
		started.Add(1)
		if r.Offset < 3 { // finish shortly after Close begins
			time.Sleep(300 * time.Millisecond)
			finished.Add(1)
			return nil
		}
		<-ctx.Done() // offsets 3, 4 never finish by themselves
		cancelled.Add(1)
		return ctx.Err()
	}
	const drain = time.Second
	c := testkit.Consumer(t, seeds, "g", h, []string{"t"}, parallel.Ordering(parallel.OrderNone),
		parallel.CommitInterval(time.Hour), parallel.DrainTimeout(drain))
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(context.Background()) }()
	testkit.WaitFor(t, 20*time.Second, "all 5 handlers running", func() bool { return started.Load() == 5 })

	begin := time.Now()
	err := c.Close()
	took := time.Since(begin)
	if err != nil {
		t.Fatalf("Close = %v", err)
	}
	// Two handlers never finish by themselves, so Close cannot return
	// before the drain timeout (a bound the semantics imply; no upper
	// bound is asserted: a loaded machine may take longer).
	if took < drain-100*time.Millisecond {
		t.Errorf("Close returned after %v, before the %v drain timeout, with 2 handlers hung", took, drain)
	}
	if finished.Load() != 3 {
		t.Errorf("%d handlers finished, want 3 (Close must wait for them)", finished.Load())
	}
	testkit.WaitFor(t, 5*time.Second, "the 2 hung handlers to see ctx cancelled", func() bool { return cancelled.Load() == 2 })
	if err := <-runErr; err != nil {
		t.Fatalf("Run = %v", err)
	}
	if at, _ := testkit.CommittedOffsets(t, seeds, "g", "t"); at[0] != 3 {
		t.Fatalf("committed %v, want partition 0 at 3 (drained records in, cancelled ones out)", at)
	}
}

// When a partition is revoked (a second member joins), handlers of that
// partition still running after RevokeTimeout see their context cancelled;
// handlers of partitions the member keeps are not cancelled. The new owner
// then processes the revoked partition's records.
func TestRevokeCancelsOnlyTheRevokedPartitionsHandlersAfterRevokeTimeout(t *testing.T) {
	const topic = "t"
	_, seeds := testkit.KfakeCluster(t, topic, 2)
	testkit.Produce(t, seeds, topic, 4, 4, testkit.RoundRobin) // round-robin: offsets 0, 1 on each partition
	var (
		mu        sync.Mutex
		startA    = map[int32]int{}
		cancelA   = map[int32]time.Time{}
		revokedAt atomic.Int64 // unix nanos of B's first record
		doneB     = map[string]bool{}
	)
	hA := func(ctx context.Context, r *kgo.Record) error {
		mu.Lock()
		startA[r.Partition]++
		mu.Unlock()
		<-ctx.Done()
		mu.Lock()
		if _, ok := cancelA[r.Partition]; !ok {
			cancelA[r.Partition] = time.Now()
		}
		mu.Unlock()
		return ctx.Err()
	}
	hB := func(ctx context.Context, r *kgo.Record) error {
		revokedAt.CompareAndSwap(0, time.Now().UnixNano())
		mu.Lock()
		doneB[strconv.Itoa(int(r.Partition))+"@"+strconv.FormatInt(r.Offset, 10)] = true
		mu.Unlock()
		return nil
	}
	const revokeTimeout = 300 * time.Millisecond
	opts := []parallel.Opt{parallel.Ordering(parallel.OrderNone), parallel.RevokeTimeout(revokeTimeout),
		parallel.DrainTimeout(200 * time.Millisecond)}
	a := testkit.Consumer(t, seeds, "g", hA, []string{topic}, opts...)
	stopA := testkit.Run(t, a)
	testkit.WaitFor(t, 20*time.Second, "A running all 4 records", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return startA[0] == 2 && startA[1] == 2
	})
	joined := time.Now()
	b := testkit.Consumer(t, seeds, "g", hB, []string{topic}, opts...)
	stopB := testkit.Run(t, b)
	testkit.WaitFor(t, 30*time.Second, "B to process the partition it took over", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(doneB) == 2
	})
	mu.Lock()
	var moved, kept int32 = -1, -1
	for k := range doneB {
		p, _ := strconv.Atoi(k[:1])
		moved = int32(p)
	}
	kept = 1 - moved
	cMoved, okMoved := cancelA[moved]
	_, okKept := cancelA[kept]
	mu.Unlock()
	if !okMoved {
		t.Fatalf("A's handlers of revoked partition %d were never cancelled", moved)
	}
	if since := cMoved.Sub(joined); since < revokeTimeout {
		t.Errorf("A's handlers of partition %d cancelled %v after B joined, before RevokeTimeout %v", moved, since, revokeTimeout)
	}
	if okKept {
		t.Errorf("A's handlers of partition %d, which A kept, were cancelled", kept)
	}
	if err := stopB(); err != nil {
		t.Fatal(err)
	}
	if err := stopA(); err != nil {
		t.Fatal(err)
	}
}
