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

// pc-key, pc-partition, pc-unordered: Confluent's Parallel Consumer 0.5.3.3
// (Java) in the same worker process as every other strategy. PC runs in a
// JVM child (pc.RunBridge, assets/LabBridge.java) that consumes, orders,
// retries and commits; each record it hands to its handler comes back here
// over a pipe and runs the lab's handler (latency, dice, processed-log
// write, crash freeze and kill, slow stretch), exactly as for the Go
// strategies. The JVM dies with this process (parent-death SIGKILL), so the
// crash and kill faults kill PC mid-work.
//
// PC is configured as the harness configures it (its README's way): a
// KafkaConsumer with enable.auto.commit=false, auto.offset.reset=earliest,
// group.instance.id when static; maxConcurrency = Workers;
// PERIODIC_CONSUMER_ASYNCHRONOUS commits. Two settings follow the lab:
//   - the group timeouts the Go strategies get (groupTimeouts; kgo's
//     defaults otherwise), with max.poll.interval.ms = the rebalance timeout,
//     which is what the Java client sends as rebalance_timeout_ms;
//   - commitInterval 250 ms (the library's in the lab until it committed
//     back to back by default) instead of PC's 5 s: a crash
//     freezes the worker and kills it once the group's commits have not
//     moved for worker.Settle (1 s), so a 5 s interval would kill PC before
//     its last completions were committed and measure the interval, not PC.
//
// The retry delay stays PC's default, 1 s. PC has no retry limit and no
// dead-letter topic, so under the failures fault a permanently failing
// record is retried until the lab's stall timeout ends the cell; a shorter
// delay would only raise the attempt count, not change that outcome.
func init() {
	for name, order := range map[string]confluentpc.Ordering{
		"pc-key": confluentpc.OrderKey, "pc-partition": confluentpc.OrderPartition, "pc-unordered": confluentpc.OrderUnordered,
	} {
		register(name, parallelConsumer(order))
		jvm[name] = true
	}
}

// pcCommitInterval is PC's commitInterval in the lab (see above).
const pcCommitInterval = 250 * time.Millisecond

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
		rebalance, heartbeat := defaultRebalanceTimeout, defaultHeartbeatInterval
		if cfg.RebalanceTimeout > 0 {
			// As groupTimeouts gives the franz-go strategies.
			rebalance, heartbeat = cfg.RebalanceTimeout, max(100*time.Millisecond, cfg.RebalanceTimeout/10)
		}
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
