package strategy

import (
	"context"

	"github.com/twmb/franz-go/pkg/kgo"
)

// commit-after-submit: poll, submit every record to the pool, commit sync.
// It reads like at-least-once, but "submitted" is not "done": the commit
// covers records still queued or running, and a crash loses them.
func init() { register("commit-after-submit", commitAfterSubmit) }

func commitAfterSubmit(ctx context.Context, cfg Config) error {
	cl, err := kgo.NewClient(clientOpts(cfg, kgo.DisableAutoCommit())...)
	if err != nil {
		return err
	}
	defer cl.Close()
	p := newPool(cfg.Workers, cfg.Handler, cfg.Logf)
	err = pollLoop(ctx, cl, cfg.MaxPoll, func(recs []*kgo.Record) {
		for _, r := range recs {
			p.submit(r, nil)
		}
		if err := cl.CommitRecords(context.WithoutCancel(ctx), recs...); err != nil {
			cfg.Logf("commit: %v", err)
		}
	})
	p.close()
	return err
}
