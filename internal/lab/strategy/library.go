package strategy

import (
	"context"
	"errors"
	"time"

	"github.com/kpar/kpar/parallel"
	"github.com/twmb/franz-go/pkg/kgo"
)

// lib-key, lib-partition, lib-unordered: the kpar parallel consumer. It
// commits only offsets below which every record is done (completions beyond
// travel in the commit metadata), so a crash replays but never skips. The
// lab gives it the same concurrency as the pools above, the library's
// default commit policy (back to back), quick in-place retries and, when
// the scenario has one, the dead-letter topic.
func init() {
	register("lib-key", library(parallel.OrderKey, libCommitInterval))
	register("lib-partition", library(parallel.OrderPartition, libCommitInterval))
	register("lib-unordered", library(parallel.OrderNone, libCommitInterval))
	register("kpar-share", libraryShare(false))
	share["kpar-share"] = true
	register("kpar-share-brokerdlq", libraryShare(true))
	share["kpar-share-brokerdlq"], brokerDLQ["kpar-share-brokerdlq"] = true, true
}

// kpar-share: the same library in share-group mode (parallel.ShareGroup):
// each record acknowledged when its handler is done with it, accepted once
// processed or dead-lettered, released for redelivery after a failed
// delivery with deliveries left. The lab gives it what it gives lib-*: the
// concurrency, the in-place retries and, when the scenario has one, the
// dead-letter topic, where a permanent failure (or a failure on the
// group's last allowed delivery) goes before the record is accepted. No
// ordering (share mode has none), no commit interval, no static
// membership or rebalance timeout (share groups have neither).
//
// kpar-share-brokerdlq: the same with parallel.BrokerDeadLetter instead of
// DeadLetterTopic: what kpar-share writes to its dead-letter topic is
// rejected, and the broker writes it to the cell's DLQ topic (Kafka 4.4,
// KIP-1191), with its origin headers and a copy of the record.
func libraryShare(brokerWrites bool) Func {
	return func(ctx context.Context, cfg Config) error { return runLibraryShare(ctx, cfg, brokerWrites) }
}

func runLibraryShare(ctx context.Context, cfg Config, brokerWrites bool) error {
	opts := []parallel.Opt{
		parallel.ClientOpts(kgo.SeedBrokers(cfg.Seeds...), kgo.ConsumeTopics(cfg.Topic),
			kgo.FetchMaxWait(200*time.Millisecond)),
		parallel.ClientOpts(cfg.ClientOpts...),
		parallel.ShareGroup(cfg.Group),
		parallel.MaxConcurrency(cfg.Workers),
		parallel.Retries(5, 5*time.Millisecond, 50*time.Millisecond),
		parallel.Logf(cfg.Logf),
	}
	switch {
	case cfg.DLQTopic != "" && brokerWrites:
		opts = append(opts, parallel.BrokerDeadLetter(cfg.DLQTopic))
	case cfg.DLQTopic != "":
		opts = append(opts, parallel.DeadLetterTopic(cfg.DLQTopic))
	}
	// The lab's handler knows a failure that will never succeed; telling
	// the library sends it to the dead-letter topic at once, as the bare
	// share strategy rejects it at once.
	h := func(ctx context.Context, r *kgo.Record) error {
		err := cfg.Handler(ctx, r)
		if errors.Is(err, ErrPermanent) {
			return parallel.Permanent(err)
		}
		return err
	}
	return runLibrary(ctx, h, opts)
}

func runLibrary(ctx context.Context, h Handler, opts []parallel.Opt) error {
	c, err := parallel.New(parallel.Handler(h), opts...)
	if err != nil {
		return err
	}
	err = c.Run(ctx)
	if cerr := c.Close(); err == nil && !errors.Is(cerr, parallel.ErrClosed) {
		err = cerr
	}
	return err
}

// libCommitInterval keeps the library's default commit interval (back to
// back); lib-key@250ms and the like set one (libraryVariant).
const libCommitInterval = -1

func library(order parallel.Order, commitInterval time.Duration) Func {
	return func(ctx context.Context, cfg Config) error {
		copts := []kgo.Opt{
			kgo.SeedBrokers(cfg.Seeds...), kgo.ConsumerGroup(cfg.Group), kgo.ConsumeTopics(cfg.Topic),
			kgo.FetchMaxWait(200 * time.Millisecond),
		}
		copts = append(copts, cfg.ClientOpts...)
		if cfg.InstanceID != "" {
			copts = append(copts, kgo.InstanceID(cfg.InstanceID))
		}
		copts = append(copts, groupTimeouts(cfg)...)
		opts := []parallel.Opt{
			parallel.ClientOpts(copts...),
			parallel.Ordering(order),
			parallel.MaxConcurrency(cfg.Workers),
			// The lab's transient failures hit attempts 1-3 only, so 5
			// attempts always get a transient record through; permanent
			// ones go to the dead-letter topic after the 5th.
			parallel.Retries(5, 5*time.Millisecond, 50*time.Millisecond),
			parallel.Logf(cfg.Logf),
		}
		if commitInterval >= 0 {
			opts = append(opts, parallel.CommitInterval(commitInterval))
		}
		if cfg.RebalanceTimeout > 0 {
			// As parallel.RevokeTimeout's doc asks: below the rebalance
			// timeout, so a slow handler cannot hold the rejoin past it.
			opts = append(opts, parallel.RevokeTimeout(cfg.RebalanceTimeout/2))
		}
		if cfg.DLQTopic != "" {
			opts = append(opts, parallel.DeadLetterTopic(cfg.DLQTopic))
		}
		return runLibrary(ctx, cfg.Handler, opts)
	}
}
