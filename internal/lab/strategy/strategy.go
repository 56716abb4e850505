// Package strategy holds the consumer loops the lab compares. Each runs in
// its own OS process (package worker) until its context ends, then shuts
// down gracefully: stop polling, finish the work in flight, commit what the
// strategy would commit, close. A SIGKILL skips all of that, which is the
// point of the crash scenario.
package strategy

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kpar/kpar/internal/confluentpc"
	"github.com/kpar/kpar/parallel"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Handler processes one record. It returns nil once the record's
// processed-log entry is durable. A non-nil error means the record was not
// processed; errors wrapping ErrPermanent will never succeed on retry.
type Handler func(ctx context.Context, r *kgo.Record) error

// ErrPermanent marks a handler failure that retrying cannot fix.
var ErrPermanent = errors.New("permanent failure")

// Config is what every strategy gets; it is also the strategy half of a
// worker's spec (worker.Params), hence the JSON tags.
type Config struct {
	Seeds      []string
	ClientOpts []kgo.Opt `json:"-"` // TLS, SASL: added to every client a strategy makes
	// JavaSecurity is the same settings as Java client properties (the
	// password among them), for the pc-* strategies' JVM.
	JavaSecurity map[string]string `json:"-"`
	Topic        string            // input
	Group        string
	InstanceID   string // static membership, so a restarted process takes its partitions back at once; "" = dynamic
	DLQTopic     string // dead-letter topic ("" = none)
	Workers      int    // pool size / max concurrency
	MaxPoll      int    // records per poll
	// RebalanceTimeout: how long the group waits for a member to rejoin
	// (kgo's max.poll.interval.ms); 0 keeps the client default (60 s).
	RebalanceTimeout time.Duration
	Handler          Handler `json:"-"`
	// Transform is Handler for a strategy that writes the processed-log
	// entry itself (eos): it returns the entry instead of writing it.
	Transform func(ctx context.Context, r *kgo.Record) ([]*kgo.Record, error) `json:"-"`
	Logf      func(format string, args ...any)                                `json:"-"`
	// Java and PCClasspath run the JVM of the pc-* strategies (see
	// confluentpc.Classpath); the lab resolves them once in its parent.
	Java        string
	PCClasspath string
}

// Func runs a strategy until ctx ends.
type Func func(ctx context.Context, cfg Config) error

// entry is one strategy and how it runs beside its loop.
type entry struct {
	name string
	run  Func
	// jvm: runs a JVM; share: consumes as a share group (KIP-932);
	// archives: leaves failed records to the broker to archive; brokerDLQ:
	// the broker writes its dead letters (KIP-1191).
	jvm, share, archives, brokerDLQ bool
}

// strategies in the order the tables show them: naive loops first, then
// the library (and PC), then the share-group strategies.
var strategies = []entry{
	{name: "commit-before", run: commitBefore},
	{name: "commit-after-submit", run: submitThenCommit(true)},
	{name: "auto-commit", run: submitThenCommit(false)},
	{name: "commit-after-batch", run: commitAfterBatch},
	{name: "eos", run: library{order: parallel.OrderKey, interval: libCommitInterval, eos: true}.run},
	{name: "lib-key", run: library{order: parallel.OrderKey, interval: libCommitInterval}.run},
	{name: "lib-partition", run: library{order: parallel.OrderPartition, interval: libCommitInterval}.run},
	{name: "lib-unordered", run: library{order: parallel.OrderNone, interval: libCommitInterval}.run},
	{name: "pc-key", run: parallelConsumer(confluentpc.OrderKey), jvm: true},
	{name: "pc-partition", run: parallelConsumer(confluentpc.OrderPartition), jvm: true},
	{name: "pc-unordered", run: parallelConsumer(confluentpc.OrderUnordered), jvm: true},
	{name: "share", run: shareGroup, share: true, archives: true},
	{name: "kpar-share", run: library{share: true}.run, share: true},
	{name: "kpar-share-brokerdlq", run: library{share: true, broker: true}.run, share: true, brokerDLQ: true},
}

// find is the named strategy's entry (the zero entry for a lib-* variant
// or an unknown name).
func find(name string) entry {
	for _, e := range strategies {
		if e.name == name {
			return e
		}
	}
	return entry{}
}

// NeedsJVM reports whether the named strategy runs a JVM (Config.Java and
// Config.PCClasspath must be set).
func NeedsJVM(name string) bool { return find(name).jvm }

// IsShare reports whether the named strategy consumes as a share group.
func IsShare(name string) bool { return find(name).share }

// Archives reports whether the named strategy leaves failed records to the
// share group's broker to archive.
func Archives(name string) bool { return find(name).archives }

// DLQTopic names the dead-letter topic of a cell whose topics start with
// base, and the configs to create it with. A strategy whose broker writes
// the dead letters (KIP-1191) needs a name with the broker's DLQ prefix
// (dlq., Kafka 4.4's default) and the topic's consent to take them.
func DLQTopic(name, base string) (string, map[string]*string) {
	if find(name).brokerDLQ {
		on := "true"
		return "dlq." + base, map[string]*string{"errors.deadletterqueue.group.enable": &on}
	}
	return base + "-dlq", nil
}

// Get returns the named strategy.
func Get(name string) (Func, error) {
	if f, ok := libraryVariant(name); ok {
		return f, nil
	}
	if e := find(name); e.run != nil {
		return e.run, nil
	}
	return nil, fmt.Errorf("unknown strategy %q (known: %v)", name, Names())
}

// Names lists the strategies in a stable order.
func Names() []string {
	out := make([]string, len(strategies))
	for i, e := range strategies {
		out[i] = e.name
	}
	return out
}

// baseOpts are the options of every franz-go client a strategy makes.
func baseOpts(cfg Config, extra ...kgo.Opt) []kgo.Opt {
	opts := []kgo.Opt{kgo.SeedBrokers(cfg.Seeds...), kgo.ConsumeTopics(cfg.Topic), kgo.FetchMaxWait(200 * time.Millisecond)}
	return append(append(opts, cfg.ClientOpts...), extra...)
}

// groupOpts are the consumer-group options: the group, static membership,
// and under a short rebalance timeout heartbeats often enough that a
// member notices the rebalance well within it.
func groupOpts(cfg Config) []kgo.Opt {
	opts := []kgo.Opt{kgo.ConsumerGroup(cfg.Group)}
	if cfg.InstanceID != "" {
		opts = append(opts, kgo.InstanceID(cfg.InstanceID))
	}
	if cfg.RebalanceTimeout > 0 {
		rebalance, heartbeat := groupTimeouts(cfg)
		opts = append(opts, kgo.RebalanceTimeout(rebalance), kgo.HeartbeatInterval(heartbeat))
	}
	return opts
}

// clientOpts are the consumer options the naive loops share.
func clientOpts(cfg Config, extra ...kgo.Opt) []kgo.Opt {
	opts := append(baseOpts(cfg, groupOpts(cfg)...), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		// Logging only (the lab counts these lines): being dropped from the
		// group is what a handler slower than the rebalance timeout causes.
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
			cfg.Logf("partitions lost: %v", lost)
		}))
	return append(opts, extra...)
}

// kgo's session timeout, for the Java consumer under PC.
const defaultSessionTimeout = 45 * time.Second

// groupTimeouts are the rebalance timeout and heartbeat interval: kgo's
// defaults (60 s, 3 s) unless cfg sets a rebalance timeout.
func groupTimeouts(cfg Config) (rebalance, heartbeat time.Duration) {
	if cfg.RebalanceTimeout <= 0 {
		return 60 * time.Second, 3 * time.Second
	}
	return cfg.RebalanceTimeout, max(100*time.Millisecond, cfg.RebalanceTimeout/10)
}

// queueDepth is the pool's queue: deep, as a Java fixed thread pool's
// unbounded one (the poll loop runs far ahead of the work), yet bounded.
const queueDepth = 1000

// pool is the worker pool the naive loops hand records to.
type pool struct {
	jobs chan job
	wg   sync.WaitGroup
}

type job struct {
	r    *kgo.Record
	done func()
}

func newPool(n int, h Handler, logf func(string, ...any)) *pool {
	p := &pool{jobs: make(chan job, queueDepth)}
	p.wg.Add(n)
	for range n {
		go func() {
			defer p.wg.Done()
			for j := range p.jobs {
				// Work in flight finishes even during shutdown: a graceful
				// stop must not manufacture losses. No retry and no
				// dead-letter topic: a failed record is skipped.
				if err := h(context.Background(), j.r); err != nil {
					logf("record p%d@%d dropped: %v", j.r.Partition, j.r.Offset, err)
				}
				if j.done != nil {
					j.done()
				}
			}
		}()
	}
	return p
}

func (p *pool) submit(r *kgo.Record, done func()) { p.jobs <- job{r, done} }

// close waits for every submitted record to finish.
func (p *pool) close() {
	close(p.jobs)
	p.wg.Wait()
}

// batchLinger is how long pollLoop waits to fill a short batch: the input
// is produced before any consumer starts, so a short poll is a fetch
// boundary the next fetch fills at once; only the input's end waits.
const batchLinger = 500 * time.Millisecond

// pollLoop polls and hands each batch to onBatch until ctx ends. Batches
// hold exactly max records except at the input's end, so what a crash finds
// committed follows from the seed, not from fetch timing.
func pollLoop(ctx context.Context, cl *kgo.Client, max int, onBatch func([]*kgo.Record)) error {
	var batch []*kgo.Record
	for {
		pctx, cancel := ctx, context.CancelFunc(func() {})
		if len(batch) > 0 {
			pctx, cancel = context.WithTimeout(ctx, batchLinger)
		}
		fs := cl.PollRecords(pctx, max-len(batch))
		cancel()
		if ctx.Err() != nil || fs.IsClientClosed() {
			return nil
		}
		for _, e := range fs.Errors() {
			if !errors.Is(e.Err, context.Canceled) && !errors.Is(e.Err, context.DeadlineExceeded) {
				return fmt.Errorf("poll %s[%d]: %w", e.Topic, e.Partition, e.Err)
			}
		}
		recs := fs.Records()
		batch = append(batch, recs...)
		if len(batch) >= max || (len(recs) == 0 && len(batch) > 0) {
			onBatch(batch)
			batch = nil
		}
	}
}
