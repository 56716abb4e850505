package parallel

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Handler processes one record. A nil error marks the record done; an error
// or a panic is a failed attempt (wrap the error with Permanent to skip the
// remaining attempts and the retry topic). The context is cancelled when the
// record's partition is revoked or lost past RevokeTimeout, or when Close
// gives up waiting (DrainTimeout); the record is then not committed and will
// be processed again by whoever owns the partition next.
type Handler func(ctx context.Context, r *kgo.Record) error

// Consumer processes records of a consumer group with more concurrency than
// partitions. Create it with New, start it with Run, stop it with Close or
// by cancelling Run's context.
//
// The mode is chosen once in New: its engine (engine.go: the group engine, or
// the share engine of share.go) and how done records reach Kafka
// (delivery.go: at least once, or in transactions). The group engine's work
// is split by concern: poll.go polls and admits (backlogs, MaxBuffered,
// pausing), partition.go holds an assignment's state, lanes.go runs lanes of
// records and marks them done, workers.go the worker slots and the sweeper,
// readyqueue.go the queue of lanes ready to run, commit.go commits and
// restores completion maps, rebalance.go handles revoke, loss and the final
// drain, failure.go retries and routes failed records.
type Consumer struct {
	cfg     cfg
	handler Handler
	// engine runs the mode (engine.go) and deliver is how done records reach
	// Kafka (delivery.go): both chosen once in New.
	engine  engine
	deliver delivery
	cl      *kgo.Client
	fetch   *fetchSizer // fetch.go: FetchMaxBytes from measured record sizes
	stats   counters
	commits committer
	obs     *observing // nil without an Observer (observe.go)
	// AdaptiveConcurrency and RateLimit (limit.go): gate guards handler
	// calls, batchGate NewBatch's BatchHandler calls; nil when unset.
	gate, batchGate *gate

	mu    sync.Mutex // guards parts
	parts map[tp]*partition

	q     readyQueue
	slots []workerSlot  // one per worker: completions waiting behind a running handler
	held  atomic.Int64  // records admitted and not done, all partitions: the MaxBuffered budget
	space chan struct{} // nudges the poll loop: room freed, or a partition went
	// wakeBelow: completions nudge the poll loop once held is at most this
	// (wakeRoom below MaxBuffered), or when mapWake is set: a partition
	// whose backlog waits for completion-map room had a completion.
	wakeBelow int64
	mapWake   atomic.Bool
	// completed is signalled by every completion: a back-to-back commit
	// loop (CommitInterval(0)) waits on it between commits.
	completed chan struct{}

	stopFlag atomic.Bool // closing, readable per record without a select

	hctx      context.Context // parent of every handler context
	hcancel   context.CancelFunc
	abandoned chan struct{} // closed when the drain times out: stop waiting for handlers

	started  atomic.Bool
	closing  chan struct{}
	closeOne sync.Once
	done     chan struct{}
	fatalMu  sync.Mutex
	fatalErr error
	runErr   error
}

type tp struct {
	topic string
	part  int32
}

// New builds a consumer and its franz-go client. The client joins the group
// at once (kgo does so on creation); records are processed once Run is
// called, so call Run soon after New, or Close.
func New(handler Handler, opts ...Opt) (*Consumer, error) {
	if handler == nil {
		return nil, ErrNoHandler
	}
	return newConsumer(handler, modeNew, opts)
}

func newConsumer(handler Handler, m mode, opts []Opt) (_ *Consumer, err error) {
	txn := m == modeTransform
	c := &Consumer{
		cfg:       defaultCfg(),
		handler:   handler,
		parts:     make(map[tp]*partition),
		space:     make(chan struct{}, 1),
		completed: make(chan struct{}, 1),
		abandoned: make(chan struct{}),
		closing:   make(chan struct{}),
		done:      make(chan struct{}),
	}
	for _, o := range opts {
		o.apply(&c.cfg)
	}
	if c.cfg.observer != nil {
		c.obs = &observing{o: c.cfg.observer}
	}
	if m == modeBatch && c.cfg.batchSize == 0 {
		c.cfg.batchSize = min(100, c.cfg.maxConcurrency)
	}
	if err := c.cfg.validate(m); err != nil {
		return nil, err
	}
	c.wakeBelow = int64(c.cfg.maxBuffered - wakeRoom(c.cfg.maxBuffered, c.cfg.maxConcurrency))
	if m == modeBatch {
		c.batchGate = newGate(&c.cfg)
	} else {
		c.gate = newGate(&c.cfg)
	}
	// The group is required, and kgo refuses our group callbacks without
	// one: ask the options themselves, before building the client, so the
	// user gets ErrNoGroup rather than kgo's message.
	if err := kgo.ValidateOpts(c.cfg.clientOpts...); err != nil {
		return nil, fmt.Errorf("parallel: ClientOpts: %w", err)
	}
	if c.cfg.shareGroup != "" {
		return c.newShare()
	}
	if shareInOpts(c.cfg.clientOpts) {
		return nil, invalid("a share group is run with parallel.ShareGroup, not kgo.ShareGroup in ClientOpts")
	}
	if kgo.ValidateOpts(append(c.cfg.clientOpts[:len(c.cfg.clientOpts):len(c.cfg.clientOpts)],
		kgo.OnPartitionsLost(func(context.Context, *kgo.Client, map[string][]int32) {}))...) != nil {
		return nil, ErrNoGroup
	}
	if err := c.newGroup(txn); err != nil {
		return nil, err
	}
	return c, nil
}

// newGroup is New in a consumer group: the group engine, the delivery, and
// the client with the callbacks correctness needs.
func (c *Consumer) newGroup(txn bool) (err error) {
	c.engine = groupEngine{c}
	c.deliver = atLeastOnce{c}
	if txn {
		c.deliver = transactional{c}
	}
	c.q.init()
	c.commits.init(c)
	// kgo joins the group inside NewClient, so callbacks may run before
	// New returns: everything they touch exists first, and every failure
	// below releases it.
	c.hctx, c.hcancel = context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			if c.cl != nil {
				c.cl.Close()
			}
			c.hcancel()
		}
	}()

	// Defaults the user may override: kgo v1.22 rewinds one minute by
	// default; and a resumed partition joins only the next fetch, so a
	// 5s FetchMaxWait long-poll on idle partitions stalled resumed ones
	// for seconds (seen on Kafka 4.3.1). The fetch size starts at the
	// library's value, which fetch.go adapts unless the user sets one.
	c.fetch = newFetchSizer(c.cfg.fetchBudget())
	kopts := []kgo.Opt{kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(250 * time.Millisecond),
		kgo.FetchMaxBytes(fetchStartBytes)}
	if txn {
		// Input written by another transform is exactly-once only if
		// its aborted transactions are not read.
		kopts = append(kopts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	kopts = append(kopts, c.cfg.clientOpts...)
	// What correctness needs, after the user's options so they win.
	kopts = append(kopts,
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsRevoked(c.onRevoked),
		kgo.OnPartitionsLost(c.onLost),
		kgo.OnOffsetsFetched(c.onFetched),
		kgo.WithHooks(c.fetch),
	)
	if c.cl, err = kgo.NewClient(kopts...); err != nil {
		return fmt.Errorf("parallel: %w", err)
	}
	c.fetch.start(c.cl)
	if g, _ := c.cl.OptValue(kgo.ConsumerGroup).(string); g == "" {
		return ErrNoGroup // a share group passes ValidateOpts, but commits need a consumer group
	}
	switch id, _ := c.cl.OptValue(kgo.TransactionalID).(string); {
	case txn && id == "":
		return ErrNoTransactionalID
	case !txn && id != "":
		// A transactional client refuses produces outside a transaction:
		// the retry and dead-letter topics would fail.
		return invalid("kgo.TransactionalID in ClientOpts is for NewTransform")
	}
	if c.cfg.retryTopic != "" {
		c.cl.AddConsumeTopics(c.cfg.retryTopic)
	}
	return nil
}

// newShare is New in ShareGroup mode: the member clients, no group callbacks.
func (c *Consumer) newShare() (*Consumer, error) {
	c.cfg.order = OrderNone
	// Without a consumer group franz-go accepts ShareGroup; with one it
	// says both were given, which is the user's mistake to hear.
	if err := kgo.ValidateOpts(append(c.cfg.clientOpts[:len(c.cfg.clientOpts):len(c.cfg.clientOpts)],
		kgo.ShareGroup(c.cfg.shareGroup))...); err != nil {
		return nil, fmt.Errorf("parallel: ShareGroup(%q) with ClientOpts: %w", c.cfg.shareGroup, err)
	}
	c.hctx, c.hcancel = context.WithCancel(context.Background())
	if err := c.newShareClients(); err != nil {
		c.hcancel()
		return nil, err
	}
	return c, nil
}

// shareInOpts reports whether opts (valid by themselves) name a share
// group, from which additions kgo accepts, not from its error text: a
// consumer group added is refused only beside a share group or a
// direct-partition option; a share group added is refused beside a
// consumer group or a direct-partition option, and replaces one already
// there. So "a consumer group refused, a share group accepted" means opts
// hold a share group.
func shareInOpts(opts []kgo.Opt) bool {
	with := func(o kgo.Opt) error { return kgo.ValidateOpts(append(opts[:len(opts):len(opts)], o)...) }
	return with(kgo.ConsumerGroup("parallel-probe")) != nil && with(kgo.ShareGroup("parallel-probe")) == nil
}

// group is the consumer group's name, for messages.
func (c *Consumer) group() string {
	g, _ := c.cl.OptValue(kgo.ConsumerGroup).(string)
	return g
}

// Client returns the underlying franz-go client, e.g. to produce with it.
// Do not commit, pause or poll with it.
func (c *Consumer) Client() *kgo.Client { return c.cl }

// Run consumes until ctx is cancelled, Close is called, or a record fails
// with nowhere to go. It then drains in-flight handlers (DrainTimeout),
// commits what is done and leaves the group. It returns nil after a clean
// stop and the failure otherwise: ErrRecordFailed, or ErrFinalCommit when the
// last commit did not go through (work since the previous commit will then be
// processed again).
func (c *Consumer) Run(ctx context.Context) error {
	select {
	case <-c.closing:
		return ErrClosed
	default:
	}
	if !c.started.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer close(c.done)

	pctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		select {
		case <-c.closing:
		case <-pctx.Done():
		}
		stop()
	}()

	c.engine.run(pctx)
	c.runErr = c.fatal()
	return c.runErr
}

// Close stops the consumer as cancelling Run's context does and waits for
// Run to return, then returns Run's error. Without Run it just closes the
// client. Safe to call more than once.
func (c *Consumer) Close() error {
	c.markClosing()
	if c.started.CompareAndSwap(false, true) { // Run never started and now cannot
		c.engine.closeUnstarted()
		c.hcancel()
		close(c.done)
	}
	<-c.done
	return c.runErr
}

func (c *Consumer) markClosing() {
	c.closeOne.Do(func() {
		c.stopFlag.Store(true)
		close(c.closing)
	})
}

// fail records the first fatal error and stops the consumer.
func (c *Consumer) fail(err error) {
	c.fatalMu.Lock()
	if c.fatalErr == nil {
		c.fatalErr = err
	}
	c.fatalMu.Unlock()
	c.markClosing()
}

func (c *Consumer) fatal() error {
	c.fatalMu.Lock()
	defer c.fatalMu.Unlock()
	return c.fatalErr
}

// wakeRoom is the room completions free before they wake the poll loop to
// admit more: a sixteenth of MaxBuffered, but never so much that the
// records left held could be fewer than MaxConcurrency; at least 1. A
// wake per completion cost a poll-loop wake-up and admission round per
// record with slow handlers at high concurrency.
func wakeRoom(maxBuffered, maxConcurrency int) int {
	return max(1, min(maxBuffered/16, maxBuffered-maxConcurrency))
}

// nudgeDone wakes the poll loop after completions were reported, when
// they left at least wakeRoom free or one was of a partition waiting for
// completion-map room. Room left below wakeRoom is still used: the
// sweeper nudges every sweepEvery while there is any.
func (c *Consumer) nudgeDone() {
	if c.held.Load() > c.wakeBelow && !c.mapWake.Load() {
		return
	}
	c.mapWake.Store(false)
	c.nudge()
}

// nudge wakes the poll loop if it waits for room.
func (c *Consumer) nudge() {
	select {
	case c.space <- struct{}{}:
	default:
	}
}

// live returns the partitions owned now.
func (c *Consumer) live() []*partition {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps := make([]*partition, 0, len(c.parts))
	for _, p := range c.parts {
		ps = append(ps, p)
	}
	return ps
}
