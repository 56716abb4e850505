package strategy

import (
	"context"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// commitWhen is where a naive loop commits a polled batch.
type commitWhen int

const (
	// commit-before: commit, then hand the batch to the pool. A crash loses
	// what was committed but not yet processed: at-most-once.
	commitBefore commitWhen = iota
	// commit-after-submit: hand the batch to the pool, then commit. It reads
	// like at-least-once, but the commit covers records still queued or
	// running.
	commitAfterSubmit
	// auto-commit: the client commits what was polled every 100 ms while the
	// pool works on it.
	autoCommit
	// commit-after-batch: wait for every record of the batch, then commit.
	// A crash only replays; each batch waits for its slowest record.
	// Rebalances are held until the batch is committed
	// (BlockRebalanceOnPoll), so a revoked partition never has work in flight.
	commitAfterBatch
)

// naive is the poll loop of the naive strategies: poll, hand the batch to
// the pool, commit it where when says.
func naive(when commitWhen) Func {
	return func(ctx context.Context, cfg Config) error {
		opts := []kgo.Opt{kgo.DisableAutoCommit()}
		switch when {
		case autoCommit:
			opts = []kgo.Opt{kgo.AutoCommitInterval(100 * time.Millisecond)}
		case commitAfterBatch:
			opts = append(opts, kgo.BlockRebalanceOnPoll())
		}
		cl, err := kgo.NewClient(clientOpts(cfg, opts...)...)
		if err != nil {
			return err
		}
		p := newPool(cfg.Workers, cfg.Handler, cfg.Logf)
		commit := func(recs []*kgo.Record) {
			// The batch is committed even if ctx ended meanwhile.
			if err := cl.CommitRecords(context.WithoutCancel(ctx), recs...); err != nil {
				cfg.Logf("commit: %v", err)
			}
		}
		err = pollLoop(ctx, cl, cfg.MaxPoll, func(recs []*kgo.Record) {
			if when == commitBefore {
				commit(recs)
			}
			var wg sync.WaitGroup
			for _, r := range recs {
				var done func()
				if when == commitAfterBatch {
					wg.Add(1)
					done = wg.Done
				}
				p.submit(r, done)
			}
			wg.Wait()
			if when == commitAfterSubmit || when == commitAfterBatch {
				commit(recs)
			}
			if when == commitAfterBatch {
				cl.AllowRebalance()
			}
		})
		p.close()
		if when == commitAfterBatch {
			// The last poll (the one ctx ended) may still hold the
			// rebalance block, and leaving the group waits for it.
			cl.AllowRebalance()
		}
		cl.Close() // after the pool drained: with auto-commit, Close commits what was polled
		return err
	}
}
