package strategy

import (
	"context"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// commit-after-batch: poll, submit the batch, wait for every record of it,
// commit, poll again. Nothing is committed before it is processed, so a
// crash only replays; the price is that each batch waits for its slowest
// record. Rebalances are held until the batch is committed
// (BlockRebalanceOnPoll), so a revoked partition never has work in flight.

func commitAfterBatch(ctx context.Context, cfg Config) error {
	cl, err := kgo.NewClient(clientOpts(cfg, kgo.DisableAutoCommit(), kgo.BlockRebalanceOnPoll())...)
	if err != nil {
		return err
	}
	p := newPool(cfg.Workers, cfg.Handler, cfg.Logf)
	defer func() {
		p.close()
		// The last poll (the one ctx ended) may still hold the rebalance
		// block, and leaving the group waits for it.
		cl.AllowRebalance()
		cl.Close()
	}()
	return pollLoop(ctx, cl, cfg.MaxPoll, func(recs []*kgo.Record) {
		var wg sync.WaitGroup
		wg.Add(len(recs))
		for _, r := range recs {
			p.submit(r, wg.Done)
		}
		wg.Wait()
		// The batch is done even if ctx ended meanwhile: commit it anyway.
		if err := cl.CommitRecords(context.WithoutCancel(ctx), recs...); err != nil {
			cfg.Logf("commit: %v", err)
		}
		cl.AllowRebalance()
	})
}
