// Package strategy holds the consumer loops the lab compares, one file per
// strategy. Each runs in its own OS process (see package worker) until its
// context ends, then shuts down gracefully: stop polling, finish the work in
// flight, commit what the strategy would commit, close. A SIGKILL skips all
// of that, which is the point of the crash scenario.
package strategy

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Handler processes one record. It returns nil once the record's
// processed-log entry is durable. A non-nil error means the record was not
// processed; errors wrapping ErrPermanent will never succeed on retry.
type Handler func(ctx context.Context, r *kgo.Record) error

// ErrPermanent marks a handler failure that retrying cannot fix.
var ErrPermanent = errors.New("permanent failure")

// Config is what every strategy gets.
type Config struct {
	Seeds      []string
	ClientOpts []kgo.Opt // TLS, SASL: added to every client a strategy makes
	// JavaSecurity is the same settings as Java client properties (the
	// password among them), for the pc-* strategies' JVM.
	JavaSecurity map[string]string
	Topic        string // input
	Group        string
	InstanceID   string // static membership, so a restarted process takes its partitions back at once; "" = dynamic
	DLQTopic     string // dead-letter topic, for strategies that have one
	Workers      int    // pool size / max concurrency
	MaxPoll      int    // records per poll
	// RebalanceTimeout is how long the group waits for a member to rejoin
	// once a rebalance began (kgo's analogue of max.poll.interval.ms for the
	// classic protocol); 0 keeps the client default (60 s).
	RebalanceTimeout time.Duration
	Handler          Handler
	// Transform is Handler for a strategy that writes the processed-log
	// entry itself (eos): it returns the entry instead of writing it.
	Transform func(ctx context.Context, r *kgo.Record) ([]*kgo.Record, error)
	Logf      func(format string, args ...any)
	// Java and PCClasspath run the JVM of the pc-* strategies (see
	// pc.Classpath); the lab resolves them once in its parent process.
	Java        string
	PCClasspath string
}

// Func runs a strategy until ctx ends.
type Func func(ctx context.Context, cfg Config) error

var (
	registry  = map[string]Func{}
	jvm       = map[string]bool{}
	share     = map[string]bool{}
	archives  = map[string]bool{}
	brokerDLQ = map[string]bool{}
)

func register(name string, f Func) { registry[name] = f }

// NeedsJVM reports whether the named strategy runs a JVM (Config.Java and
// Config.PCClasspath must be set).
func NeedsJVM(name string) bool { return jvm[name] }

// IsShare reports whether the named strategy consumes as a share group
// (KIP-932): no committed offsets, no static membership, records acquired
// and acknowledged one by one.
func IsShare(name string) bool { return share[name] }

// Archives reports whether the named strategy leaves failed records to the
// share group's broker: it rejects a permanent failure and releases any
// other, so the broker archives the record (rejected, or at the delivery
// limit) and nothing keeps it. A strategy with a dead-letter topic does not.
func Archives(name string) bool { return archives[name] }

// DLQTopic names the dead-letter topic of a cell whose topics start with
// base, and the configs to create it with. A strategy whose broker writes
// the dead letters (KIP-1191) needs a name with the broker's DLQ prefix
// (dlq., Kafka 4.4's default) and the topic's consent to take them.
func DLQTopic(name, base string) (string, map[string]*string) {
	if brokerDLQ[name] {
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
	f, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("unknown strategy %q (known: %v)", name, Names())
	}
	return f, nil
}

// Names lists the strategies in a stable order.
func Names() []string {
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return order(out[i]) < order(out[j]) })
	return out
}

// order keeps the table readable: naive loops first, then the library (and
// PC), then the share-group strategies.
func order(name string) string {
	rank := map[string]string{"commit-before": "0", "commit-after-submit": "1", "auto-commit": "2", "commit-after-batch": "3",
		"share": "z0", "kpar-share": "z1", "kpar-share-brokerdlq": "z2"} // share groups last
	if r, ok := rank[name]; ok {
		return r
	}
	return "9" + name
}

// clientOpts are the consumer options the franz-go strategies share.
func clientOpts(cfg Config, extra ...kgo.Opt) []kgo.Opt {
	opts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Seeds...),
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(cfg.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(200 * time.Millisecond),
	}
	opts = append(opts, cfg.ClientOpts...)
	if cfg.InstanceID != "" {
		opts = append(opts, kgo.InstanceID(cfg.InstanceID))
	}
	opts = append(opts, groupTimeouts(cfg)...)
	// Logging only (the lab counts these lines): being dropped from the
	// group is what a handler slower than the rebalance timeout causes.
	opts = append(opts, kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
		cfg.Logf("partitions lost: %v", lost)
	}))
	return append(opts, extra...)
}

// kgo's group defaults, for strategies that configure another client (the
// Java consumer under PC) the same way.
const (
	defaultSessionTimeout    = 45 * time.Second
	defaultRebalanceTimeout  = 60 * time.Second
	defaultHeartbeatInterval = 3 * time.Second
)

// groupTimeouts: a short rebalance timeout needs heartbeats often enough
// that a member notices the rebalance well within it.
func groupTimeouts(cfg Config) []kgo.Opt {
	if cfg.RebalanceTimeout <= 0 {
		return nil
	}
	return []kgo.Opt{
		kgo.RebalanceTimeout(cfg.RebalanceTimeout),
		kgo.HeartbeatInterval(max(100*time.Millisecond, cfg.RebalanceTimeout/10)),
	}
}

// queueDepth is the pool's queue. A naive loop hands records to something
// like Java's fixed thread pool, whose queue is unbounded; a deep bounded
// queue keeps that shape (the poll loop runs far ahead of the work) while
// still giving the only backpressure these loops have.
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
				// stop must not manufacture losses.
				if err := h(context.Background(), j.r); err != nil {
					// The naive loops have no retry and no dead-letter
					// topic: a failed record is skipped, as such loops do.
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

// batchLinger is how long pollLoop waits to fill a short batch. The lab
// produces the whole input before any consumer starts, so a short poll only
// means a fetch boundary (partitions whose start offsets arrived apart) and
// the next fetch fills it at once; only the input's end waits this long.
const batchLinger = 500 * time.Millisecond

// pollLoop is the shape of every naive strategy: poll, then hand the batch
// to onBatch, until ctx ends. Batches hold exactly max records except at the
// end of the input, so where the batch boundaries fall (and therefore what
// a crash finds committed) follows from the seed, not from fetch timing.
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
