package strategy

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// auto-commit: the client commits what was polled every 100 ms while a pool
// works on it. Polled is not processed, so a crash loses what the last
// auto-commit covered but the pool had not finished.
func init() { register("auto-commit", autoCommit) }

func autoCommit(ctx context.Context, cfg Config) error {
	cl, err := kgo.NewClient(clientOpts(cfg, kgo.AutoCommitInterval(100*time.Millisecond))...)
	if err != nil {
		return err
	}
	p := newPool(cfg.Workers, cfg.Handler, cfg.Logf)
	err = pollLoop(ctx, cl, cfg.MaxPoll, func(recs []*kgo.Record) {
		for _, r := range recs {
			p.submit(r, nil)
		}
	})
	p.close()
	cl.Close() // after the pool drained: Close commits what was polled
	return err
}
