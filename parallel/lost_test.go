package parallel_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kpar/kpar/parallel"
	"github.com/kpar/kpar/parallel/internal/testkit"
)

func TestLostPartitionIsDroppedUncommittedAndItsLateResultsNeverCommitted(t *testing.T) {
	testLost(t, false)
}

func TestLostPartitionIsDroppedUncommittedAndItsLateResultsNeverCommitted_KIP848(t *testing.T) {
	testLost(t, true)
}

// One member owns the single partition of ten records. Offsets 0-4 complete
// at once; offsets 5-9 hang in handlers that ignore cancellation. No
// periodic commit runs (CommitInterval 1h). kfake then fails one heartbeat
// (classic: ILLEGAL_GENERATION; KIP-848: FENCED_MEMBER_EPOCH), so kgo calls
// OnPartitionsLost and rejoins, and the partition comes back as a new
// assignment, whose handlers (second calls per offset) wait until the test
// ends.
//
// What must hold:
//   - losing the partition commits nothing (no OffsetCommit at all), and
//     cancels the running handlers' contexts;
//   - when the hung first-assignment handlers later return nil, their
//     results are not committed: after Close (final commit) a fresh consumer
//     must process all ten records again and skip none.
func testLost(t *testing.T, kip848 bool) {
	const topic, n = "t", 10
	var kopts []kfake.Opt
	if kip848 {
		kopts = append(kopts, kfake.BrokerConfigs(map[string]string{"group.consumer.heartbeat.interval.ms": "100"}))
	}
	cl, seeds := testkit.KfakeCluster(t, topic, 1, kopts...)
	testkit.Produce(t, seeds, topic, n, n, testkit.RoundRobin)
	commits := injectCommitFault(cl, 0, func() bool { return false }) // observe only

	var (
		mu        sync.Mutex
		calls     = map[int64]int{}
		cancelled = map[int64]bool{} // first-assignment handlers that saw ctx cancelled
		release1  = make(chan struct{})
		release2  = make(chan struct{})
	)
	h := func(ctx context.Context, r *kgo.Record) error {
		mu.Lock()
		calls[r.Offset]++
		call := calls[r.Offset]
		mu.Unlock()
		switch {
		case call == 1 && r.Offset < 5:
			return nil
		case call == 1:
			<-ctx.Done()
			mu.Lock()
			cancelled[r.Offset] = true
			mu.Unlock()
			<-release1 // a handler that ignores cancellation and reports success late
			return nil
		default:
			select {
			case <-release2:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	callsOf := func(call int) int {
		mu.Lock()
		defer mu.Unlock()
		k := 0
		for _, c := range calls {
			if c >= call {
				k++
			}
		}
		return k
	}
	var extra []kgo.Opt
	if kip848 {
		extra = []kgo.Opt{kgo.ServerSideBalancer(), kgo.Balancers(kgo.CooperativeStickyBalancer())}
	}
	c := testkit.Consumer(t, seeds, "g", h, []string{topic}, parallel.Ordering(parallel.OrderNone), parallel.MaxConcurrency(32),
		parallel.CommitInterval(time.Hour), parallel.DrainTimeout(300*time.Millisecond),
		parallel.ClientOpts(extra...))
	var once1 sync.Once
	free1 := func() { once1.Do(func() { close(release1) }) }
	t.Cleanup(func() { free1(); close(release2) })
	stop := testkit.Run(t, c)
	testkit.WaitFor(t, 20*time.Second, "first assignment: every record's handler called", func() bool { return callsOf(1) == n })

	var faults atomic.Int64
	if kip848 {
		cl.ControlKey(int16(kmsg.ConsumerGroupHeartbeat), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
			faults.Add(1)
			resp := kreq.ResponseKind().(*kmsg.ConsumerGroupHeartbeatResponse)
			resp.ErrorCode = kerr.FencedMemberEpoch.Code
			return resp, nil, true
		})
	} else {
		cl.ControlKey(int16(kmsg.Heartbeat), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
			faults.Add(1)
			resp := kreq.ResponseKind().(*kmsg.HeartbeatResponse)
			resp.ErrorCode = kerr.IllegalGeneration.Code
			return resp, nil, true
		})
	}
	testkit.WaitFor(t, 20*time.Second, "the partition to be lost", func() bool {
		return c.Stats().Lost >= 1
	})
	if failed, passed := commits.counts(); failed+passed != 0 {
		t.Fatalf("%d commits were sent when the partition was lost, want none (CommitInterval is 1h)", failed+passed)
	}
	testkit.WaitFor(t, 5*time.Second, "the lost assignment's handlers to see ctx cancelled", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(cancelled) == 5
	})
	testkit.WaitFor(t, 20*time.Second, "the new assignment to replay every record", func() bool { return callsOf(2) == n })
	if v := c.Stats().Revoked; v != 0 {
		t.Fatalf("Stats().Revoked = %v: the loss was handled as a revoke", v)
	}

	// The lost assignment's handlers now report success, late.
	free1()
	time.Sleep(300 * time.Millisecond)
	if err := stop(); err != nil { // final commit: only the new assignment's state
		t.Fatalf("Run = %v", err)
	}
	at, meta := testkit.CommittedOffsets(t, seeds, "g", topic)
	t.Logf("after Close: committed %v metadata %v; %d heartbeat faults injected", at, meta, faults.Load())
	if at[0] > 0 {
		t.Fatalf("committed offset %d: results of the lost assignment (or of work done before the loss) were committed", at[0])
	}

	// A fresh consumer must find nothing done.
	var replay sync.Map
	var replayed atomic.Int64
	c2 := testkit.Consumer(t, seeds, "g", func(ctx context.Context, r *kgo.Record) error {
		if _, dup := replay.LoadOrStore(r.Offset, true); !dup {
			replayed.Add(1)
		}
		return nil
	}, []string{topic}, parallel.ClientOpts(extra...))
	stop2 := testkit.Run(t, c2)
	testkit.WaitFor(t, 20*time.Second, "the fresh consumer to commit the end", func() bool {
		at, _ := testkit.CommittedOffsets(t, seeds, "g", topic)
		return at[0] == n
	})
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
	if replayed.Load() != n || c2.Stats().Skipped != 0 {
		t.Fatalf("fresh consumer processed %d records and skipped %d, want %d and 0: the commit metadata marked records of the lost assignment done",
			replayed.Load(), c2.Stats().Skipped, n)
	}
}
