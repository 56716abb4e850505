package strategy

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// share: a bare franz-go share-group consumer (KIP-932), the way its docs
// suggest: poll, run the records on up to Workers goroutines, acknowledge
// each when its handler returns (accept; reject a permanent failure, which
// the broker archives; release any other, which it redelivers), and poll
// again only when every record has its ack: kgo auto-accepts every record of
// the previous poll still without one, so an early poll would lose them in
// a crash. No dead-letter topic: what fails for good is archived and gone.
func shareGroup(ctx context.Context, cfg Config) error {
	cl, err := kgo.NewClient(baseOpts(cfg,
		kgo.ShareGroup(cfg.Group),
		kgo.ShareMaxRecords(int32(cfg.MaxPoll)),
		// The lab counts these lines, as failed commits.
		kgo.ShareAckCallback(func(_ *kgo.Client, rs kgo.ShareAckResults) {
			for _, r := range rs {
				if r.Err != nil {
					cfg.Logf("share ack failed for %s[%d]: %v", r.Topic, r.Partition, r.Err)
				}
			}
		}))...,
	)
	if err != nil {
		return err
	}
	defer cl.Close() // releases whatever is still held (nothing, below)
	// As in the pools: work in flight finishes and is acknowledged.
	hctx := context.WithoutCancel(ctx)
	slots := make(chan struct{}, cfg.Workers)
	for {
		fs := cl.PollRecords(ctx, cfg.MaxPoll)
		if ctx.Err() != nil || fs.IsClientClosed() {
			break // Close releases what this last poll returned
		}
		for _, e := range fs.Errors() {
			if !errors.Is(e.Err, context.Canceled) && !errors.Is(e.Err, context.DeadlineExceeded) {
				cfg.Logf("share poll %s[%d]: %v", e.Topic, e.Partition, e.Err)
			}
		}
		var wg sync.WaitGroup
		for _, r := range fs.Records() {
			slots <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-slots; wg.Done() }()
				err := cfg.Handler(hctx, r)
				switch {
				case err == nil:
					r.Ack(kgo.AckAccept)
				case errors.Is(err, ErrPermanent):
					r.Ack(kgo.AckReject)
				default:
					r.Ack(kgo.AckRelease)
				}
			}()
		}
		wg.Wait()
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := cl.FlushAcks(fctx); err != nil {
		cfg.Logf("share ack failed on leaving: %v", err)
	}
	return nil
}
