package parallel_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/parallel"
	"github.com/kpar/kpar/parallel/internal/testkit"
)

// Records finished just before a stuck record of the same key (so of the
// same lane run, on the same worker) are committed while it is stuck, not
// only once it returns: a crash during the stall must not replay them.
func TestRecordsBeforeAStuckRecordOfTheirKeyAreCommittedWhileItIsStuck(t *testing.T) {
	for _, order := range []parallel.Order{parallel.OrderKey, parallel.OrderPartition} {
		t.Run(order.String(), func(t *testing.T) {
			_, seeds := testkit.KfakeCluster(t, "t", 1)
			const n, stuck = 8, 6
			testkit.Produce(t, seeds, "t", n, 1) // one key: one lane, one worker
			release := make(chan struct{})
			h := func(ctx context.Context, r *kgo.Record) error {
				if r.Offset == stuck {
					select {
					case <-release:
					case <-ctx.Done():
						return ctx.Err()
					}
				}
				return nil
			}
			c := testkit.Consumer(t, seeds, "g", h, []string{"t"}, parallel.Ordering(order))
			stop := testkit.Run(t, c)
			testkit.WaitFor(t, 20*time.Second, "offsets below the stuck record committed while it is stuck", func() bool {
				at, _ := testkit.CommittedOffsets(t, seeds, "g", "t")
				return at[0] == stuck
			})
			close(release)
			testkit.WaitFor(t, 20*time.Second, "everything committed once it returns", func() bool {
				at, _ := testkit.CommittedOffsets(t, seeds, "g", "t")
				return at[0] == n
			})
			if err := stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
