package strategy

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/kpar/kpar/internal/clientsec"
	"github.com/kpar/kpar/internal/confluentpc"
	"github.com/twmb/franz-go/pkg/kgo"
)

// pcCommitInterval is PC's commitInterval in the lab instead of its 5 s: a
// crash kills the frozen worker once the group's commits have not moved for
// worker.Settle (1 s), so 5 s would kill PC before its last completions were
// committed and measure the interval, not PC.
const pcCommitInterval = 250 * time.Millisecond

// pc-key, pc-partition, pc-unordered: Confluent's Parallel Consumer in a
// JVM child of the worker (confluentpc.RunBridge) that consumes, orders,
// retries and commits; each record comes back here over a pipe and runs the
// lab's handler. The JVM dies with this process, so the crash and kill
// faults kill PC mid-work. Configured as the harness configures it, with
// the group timeouts the Go strategies get; the retry delay stays PC's 1 s
// (no retry limit and no dead-letter topic: the delay changes no outcome).
func parallelConsumer(order confluentpc.Ordering) Func {
	return func(ctx context.Context, cfg Config) error {
		var clientConfig string
		if len(cfg.ClientOpts) > 0 {
			if cfg.JavaSecurity == nil {
				return errors.New("the pc-* strategies' JVM cannot take these TLS/SASL settings (--tls-server-name, or a split --tls-cert/--tls-key)")
			}
			f, err := clientsec.WriteProperties(cfg.JavaSecurity, true)
			if err != nil {
				return err
			}
			defer os.Remove(f)
			clientConfig = f
		}
		rebalance, heartbeat := groupTimeouts(cfg) // as the franz-go strategies get them
		bc := confluentpc.BridgeConfig{
			Java: cfg.Java, Classpath: cfg.PCClasspath,
			Seeds: cfg.Seeds, Topic: cfg.Topic, Group: cfg.Group, InstanceID: cfg.InstanceID, ClientConfig: clientConfig,
			Ordering: order, MaxConcurrency: cfg.Workers,
			SessionTimeout: defaultSessionTimeout, MaxPollInterval: rebalance, HeartbeatInterval: heartbeat,
			CommitInterval: pcCommitInterval,
			Stderr:         os.Stderr,
		}
		// Work in flight finishes even during shutdown, as in the pools:
		// PC drains on close and must hear each outcome.
		hctx := context.WithoutCancel(ctx)
		return confluentpc.RunBridge(ctx, bc, func(r confluentpc.BridgeRecord) error {
			return cfg.Handler(hctx, &kgo.Record{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: r.Key, Value: r.Value})
		})
	}
}
