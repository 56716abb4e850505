package strategy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/kpar/kpar/parallel"
	"github.com/twmb/franz-go/pkg/kgo"
)

// library is the kpar parallel consumer as the lab runs it (lib-*, eos,
// kpar-share*): the pools' concurrency, quick in-place retries and the
// scenario's dead-letter topic. eos writes the processed-log entry as the
// handler's output in the transaction that commits its record; its
// transactional ID is the static instance ID when there is one, so a
// restarted worker aborts its killed predecessor's open transaction at once.
// The share modes have no ordering, commit interval, static membership or
// rebalance timeout; kpar-share-brokerdlq leaves its dead letters to the
// broker (parallel.BrokerDeadLetter, KIP-1191).
type library struct {
	order              parallel.Order
	interval           time.Duration // commit interval; libCommitInterval keeps the default (back to back)
	eos, share, broker bool          // broker: the broker writes the dead letters
}

const libCommitInterval = -1

func (l library) run(ctx context.Context, cfg Config) error {
	copts := baseOpts(cfg)
	// The lab's transient failures hit attempts 1-3 only, so 5 attempts
	// always get a transient record through; permanent ones go to the
	// dead-letter topic after the 5th.
	opts := []parallel.Opt{parallel.MaxConcurrency(cfg.Workers), parallel.Retries(5, 5*time.Millisecond, 50*time.Millisecond),
		parallel.Logf(cfg.Logf)}
	h := cfg.Handler
	if l.share {
		opts = append(opts, parallel.ShareGroup(cfg.Group))
		// The lab's handler knows a failure that will never succeed;
		// telling the library dead-letters it at once, as the bare share
		// strategy rejects it at once.
		h = func(ctx context.Context, r *kgo.Record) error {
			err := cfg.Handler(ctx, r)
			if errors.Is(err, ErrPermanent) {
				return parallel.Permanent(err)
			}
			return err
		}
	} else {
		copts = append(copts, groupOpts(cfg)...)
		opts = append(opts, parallel.Ordering(l.order))
		if l.interval >= 0 {
			opts = append(opts, parallel.CommitInterval(l.interval))
		}
		if cfg.RebalanceTimeout > 0 {
			// As parallel.RevokeTimeout's doc asks: below the rebalance
			// timeout, so a slow handler cannot hold the rejoin past it.
			opts = append(opts, parallel.RevokeTimeout(cfg.RebalanceTimeout/2))
		}
	}
	switch {
	case cfg.DLQTopic != "" && l.broker:
		opts = append(opts, parallel.BrokerDeadLetter(cfg.DLQTopic))
	case cfg.DLQTopic != "":
		opts = append(opts, parallel.DeadLetterTopic(cfg.DLQTopic))
	}
	var c *parallel.Consumer
	var err error
	if l.eos {
		if cfg.Transform == nil {
			return fmt.Errorf("eos: the worker gave no transform handler")
		}
		txnID := cfg.InstanceID
		if txnID == "" {
			txnID = fmt.Sprintf("%s-%d-%d", cfg.Group, os.Getpid(), time.Now().UnixNano())
		}
		c, err = parallel.NewTransform(cfg.Transform, append(opts, parallel.ClientOpts(append(copts, kgo.TransactionalID(txnID))...))...)
	} else {
		c, err = parallel.New(parallel.Handler(h), append(opts, parallel.ClientOpts(copts...))...)
	}
	if err != nil {
		return err
	}
	err = c.Run(ctx)
	if cerr := c.Close(); err == nil && !errors.Is(cerr, parallel.ErrClosed) {
		err = cerr
	}
	return err
}

// libraryVariant resolves lib-key@250ms, lib-unordered@1s, lib-key@0 and
// the like: a lib-* strategy with the commit interval after the @. Never in
// the default run: the replay window against the interval is a measurement
// of its own.
func libraryVariant(name string) (Func, bool) {
	base, iv, ok := strings.Cut(name, "@")
	if !ok {
		return nil, false
	}
	orders := map[string]parallel.Order{"lib-key": parallel.OrderKey, "lib-partition": parallel.OrderPartition,
		"lib-unordered": parallel.OrderNone}
	order, known := orders[base]
	if d, err := time.ParseDuration(iv); known && err == nil && d >= 0 {
		return library{order: order, interval: d}.run, true
	}
	return nil, false
}
