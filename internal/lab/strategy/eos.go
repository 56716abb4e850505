package strategy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/parallel"
)

// eos: the kpar library's exactly-once mode (parallel.NewTransform) in key
// order, configured as lib-key. The processed-log entry is the handler's
// output: written in the transaction that commits its record's offset and
// completion map, so the checker, reading the processed-log
// read_committed, sees each record processed exactly once however the
// worker dies. The transactional ID is the static instance ID when there is
// one, so a restarted worker aborts its killed predecessor's open
// transaction at once; dynamic members (rebalance) get their own.
func init() { register("eos", eos) }

func eos(ctx context.Context, cfg Config) error {
	if cfg.Transform == nil {
		return fmt.Errorf("eos: the worker gave no transform handler")
	}
	txnID := cfg.InstanceID
	if txnID == "" {
		txnID = fmt.Sprintf("%s-%d-%d", cfg.Group, os.Getpid(), time.Now().UnixNano())
	}
	copts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Seeds...), kgo.ConsumerGroup(cfg.Group), kgo.ConsumeTopics(cfg.Topic),
		kgo.FetchMaxWait(200 * time.Millisecond), kgo.TransactionalID(txnID),
	}
	copts = append(copts, cfg.ClientOpts...)
	if cfg.InstanceID != "" {
		copts = append(copts, kgo.InstanceID(cfg.InstanceID))
	}
	copts = append(copts, groupTimeouts(cfg)...)
	opts := []parallel.Opt{
		parallel.ClientOpts(copts...),
		parallel.Ordering(parallel.OrderKey),
		parallel.MaxConcurrency(cfg.Workers),
		parallel.Retries(5, 5*time.Millisecond, 50*time.Millisecond),
		parallel.Logf(cfg.Logf),
	}
	if cfg.RebalanceTimeout > 0 {
		opts = append(opts, parallel.RevokeTimeout(cfg.RebalanceTimeout/2))
	}
	if cfg.DLQTopic != "" {
		opts = append(opts, parallel.DeadLetterTopic(cfg.DLQTopic))
	}
	c, err := parallel.NewTransform(cfg.Transform, opts...)
	if err != nil {
		return err
	}
	err = c.Run(ctx)
	if cerr := c.Close(); err == nil && !errors.Is(cerr, parallel.ErrClosed) {
		err = cerr
	}
	return err
}
