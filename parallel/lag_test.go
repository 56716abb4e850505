package parallel_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/parallel"
	"github.com/kpar/kpar/parallel/internal/testkit"
)

// A record stuck in its handler holds the head of its partition: its
// HeadWait (and the consumer's MaxHeadWait) keeps growing while the other
// records complete, and CommittedLag stays above 0. Once it is let go, every
// partition's CommittedLag falls to 0 (the committed offset reaches the high
// watermark) and HeadWait to 0.
func TestHeadWaitGrowsBehindAStuckRecordAndLagFallsToZeroAfterCommits(t *testing.T) {
	const n = 30
	_, seeds := testkit.KfakeCluster(t, "t", 1, kfake.SeedTopics(1, "t"))
	testkit.Produce(t, seeds, "t", n, n)
	release := make(chan struct{})
	h := func(ctx context.Context, r *kgo.Record) error {
		if r.Offset == 0 {
			select {
			case <-release:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}
	c := testkit.Consumer(t, seeds, "g", h, []string{"t"}, parallel.Ordering(parallel.OrderNone))
	stop := testkit.Run(t, c)
	testkit.WaitFor(t, 10*time.Second, "every record but the stuck one done", func() bool { return c.Stats().Completed == n-1 })
	first := c.Stats()
	if len(first.Partitions) != 1 {
		t.Fatalf("%d partitions, want 1", len(first.Partitions))
	}
	w1 := first.Partitions[0].HeadWait
	testkit.WaitFor(t, 10*time.Second, "the head-of-line wait to grow by 50ms", func() bool {
		st := c.Stats()
		return st.Partitions[0].HeadWait >= w1+50*time.Millisecond && st.MaxHeadWait >= st.Partitions[0].HeadWait
	})
	// The done records behind it are committed only as a completion map:
	// the committed offset stays at the stuck record.
	testkit.WaitFor(t, 10*time.Second, "offset 0 committed with its map, lag n", func() bool {
		p := c.Stats().Partitions[0]
		return p.Committed == 0 && p.CommittedLag == n && p.Lag == n
	})
	close(release)
	testkit.WaitFor(t, 10*time.Second, "committed lag 0 and no head-of-line wait", func() bool {
		st := c.Stats()
		p := st.Partitions[0]
		return p.Committed == n && p.CommittedLag == 0 && p.HeadWait == 0 && st.MaxCommittedLag == 0 && st.MaxHeadWait == 0
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
