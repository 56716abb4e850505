package strategy

import (
	"context"

	"github.com/twmb/franz-go/pkg/kgo"
)

// commit-before: poll, commit the batch, then hand it to the pool. The
// commit runs ahead of the work, so a crash loses whatever was committed but
// not yet processed: at-most-once.
func init() { register("commit-before", commitBefore) }

func commitBefore(ctx context.Context, cfg Config) error {
	cl, err := kgo.NewClient(clientOpts(cfg, kgo.DisableAutoCommit())...)
	if err != nil {
		return err
	}
	defer cl.Close()
	p := newPool(cfg.Workers, cfg.Handler, cfg.Logf)
	err = pollLoop(ctx, cl, cfg.MaxPoll, func(recs []*kgo.Record) {
		if err := cl.CommitRecords(context.WithoutCancel(ctx), recs...); err != nil {
			cfg.Logf("commit: %v", err)
		}
		for _, r := range recs {
			p.submit(r, nil)
		}
	})
	p.close()
	return err
}
