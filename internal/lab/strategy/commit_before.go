package strategy

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// commit-before: poll, commit the batch, then hand it to the pool. The
// commit runs ahead of the work, so a crash loses whatever was committed but
// not yet processed: at-most-once.
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

// submitThenCommit hands every polled record to the pool and then commits.
// Submitted is not done, so a crash loses what a commit covered but the
// pool had not finished:
//   - commit-after-submit (commit): a synchronous commit after each
//     submitted batch. It reads like at-least-once, but the commit covers
//     records still queued or running.
//   - auto-commit (!commit): the client commits what was polled every
//     100 ms while the pool works on it.
func submitThenCommit(commit bool) Func {
	return func(ctx context.Context, cfg Config) error {
		opt := kgo.AutoCommitInterval(100 * time.Millisecond)
		if commit {
			opt = kgo.DisableAutoCommit()
		}
		cl, err := kgo.NewClient(clientOpts(cfg, opt)...)
		if err != nil {
			return err
		}
		p := newPool(cfg.Workers, cfg.Handler, cfg.Logf)
		err = pollLoop(ctx, cl, cfg.MaxPoll, func(recs []*kgo.Record) {
			for _, r := range recs {
				p.submit(r, nil)
			}
			if !commit {
				return
			}
			if err := cl.CommitRecords(context.WithoutCancel(ctx), recs...); err != nil {
				cfg.Logf("commit: %v", err)
			}
		})
		p.close()
		cl.Close() // after the pool drained: with auto-commit, Close commits what was polled
		return err
	}
}
