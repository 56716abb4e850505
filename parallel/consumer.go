package parallel

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Handler processes one record. A nil error marks the record done; an error
// or a panic is a failed attempt. The context is cancelled when the record's
// partition is revoked or lost past RevokeTimeout, or when Close gives up
// waiting (DrainTimeout); the record is then not committed and will be
// processed again by whoever owns the partition next.
type Handler func(ctx context.Context, r *kgo.Record) error

// Consumer processes records of a consumer group with more concurrency than
// partitions. Create it with New, start it with Run, stop it with Close or
// by cancelling Run's context.
type Consumer struct {
	cfg     cfg
	handler Handler
	cl      *kgo.Client
	m       *metrics

	mu    sync.Mutex // guards parts and epoch
	parts map[tp]*partition
	epoch uint64

	q       readyQueue
	total   atomic.Int64  // records admitted and not done: at most MaxBuffered
	backlog atomic.Int64  // records polled and not admitted yet
	space   chan struct{} // nudges the poll loop when total drops

	inflight atomic.Int64 // workers running records
	stopFlag atomic.Bool  // closing, readable per record without a select
	commitMu sync.Mutex   // serialises commit snapshots with their requests

	hctx    context.Context // parent of every handler context
	hcancel context.CancelFunc
	abandon atomic.Bool // drain timed out: stop waiting for handlers

	started  atomic.Bool
	closing  chan struct{}
	closeOne sync.Once
	unregOne sync.Once
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
	c := &Consumer{
		cfg:     defaultCfg(),
		handler: handler,
		parts:   make(map[tp]*partition),
		space:   make(chan struct{}, 1),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	for _, o := range opts {
		o.apply(&c.cfg)
	}
	if err := c.cfg.validate(); err != nil {
		return nil, err
	}
	c.q.init()
	// kgo joins the group inside NewClient, so callbacks may run before
	// New returns: everything they touch exists first.
	c.hctx, c.hcancel = context.WithCancel(context.Background())
	c.m = newMetrics(c)

	// Defaults the user may override: kgo v1.22 rewinds one minute by
	// default; and a resumed partition joins only the next fetch, so a
	// 5s FetchMaxWait long-poll on idle partitions stalled resumed ones
	// for seconds (seen on Kafka 4.3.1).
	kopts := []kgo.Opt{kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(250 * time.Millisecond),
		kgo.FetchMaxBytes(c.cfg.fetchMaxBytes())}
	kopts = append(kopts, c.cfg.clientOpts...)
	kopts = append(kopts,
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsRevoked(c.onRevoked),
		kgo.OnPartitionsLost(c.onLost),
		kgo.OnOffsetsFetched(c.onFetched),
	)
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		// kgo refuses DisableAutoCommit without a group before we can ask.
		if strings.Contains(err.Error(), "group was not specified") {
			return nil, fmt.Errorf("%w (%v)", ErrNoGroup, err)
		}
		c.hcancel()
		return nil, fmt.Errorf("parallel: %w", err)
	}
	if g, _ := cl.OptValue(kgo.ConsumerGroup).(string); g == "" {
		cl.Close()
		return nil, ErrNoGroup
	}
	if c.cfg.retryTopic != "" {
		cl.AddConsumeTopics(c.cfg.retryTopic)
	}
	c.cl = cl
	if c.cfg.registerer != nil {
		if err := c.cfg.registerer.Register(c.m); err != nil {
			cl.Close()
			return nil, fmt.Errorf("parallel: register metrics: %w", err)
		}
	}
	return c, nil
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

	var workers sync.WaitGroup
	for i := 0; i < c.cfg.maxConcurrency; i++ {
		workers.Add(1)
		go func() {
			defer workers.Done()
			c.worker()
		}()
	}
	commitDone := make(chan struct{})
	go c.commitLoop(pctx, commitDone)

	c.pollLoop(pctx)

	c.shutdown(&workers)
	<-commitDone
	c.runErr = c.fatal()
	return c.runErr
}

// Close stops the consumer as cancelling Run's context does and waits for
// Run to return, then returns Run's error. Without Run it just closes the
// client. Safe to call more than once.
func (c *Consumer) Close() error {
	c.markClosing()
	if c.started.CompareAndSwap(false, true) { // Run never started and now cannot
		c.cl.Close()
		c.hcancel()
		close(c.done)
	}
	<-c.done
	c.unregOne.Do(func() {
		if c.cfg.registerer != nil {
			c.cfg.registerer.Unregister(c.m)
		}
	})
	return c.runErr
}

func (c *Consumer) markClosing() {
	c.closeOne.Do(func() {
		c.stopFlag.Store(true)
		close(c.closing)
	})
}

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

// pollLoop polls and admits. A poll takes everything kgo has buffered:
// those records are decoded in memory already, and leaving some in kgo
// means a partition paused meanwhile has them dropped and fetched and
// decoded again (with PollRecords(free) and a 2M-record backlog this
// re-decoding was most of the CPU). Polled records wait in per-partition
// backlogs and are admitted round-robin across partitions as room frees
// under MaxBuffered, so every partition's keys get workers. A new poll
// happens once the backlog is admitted, or while room is left (the backlog
// then waits for completion-map room), so at most one poll's records wait
// beyond MaxBuffered.
func (c *Consumer) pollLoop(ctx context.Context) {
	var (
		ready  []*lane
		queue  []*partition // partitions with a backlog, round-robin
		nudged = time.NewTimer(time.Hour)
	)
	defer nudged.Stop()
	for ctx.Err() == nil {
		queue = c.admitRound(queue, &ready)
		room := int64(c.cfg.maxBuffered) - c.total.Load()
		if room <= 0 && c.backlog.Load() > 0 {
			nudged.Reset(100 * time.Millisecond) // belt and braces
			select {
			case <-c.space:
			case <-ctx.Done():
			case <-nudged.C:
			}
			continue
		}
		pctx, cancel := ctx, context.CancelFunc(nil)
		if c.backlog.Load() > 0 {
			// Room is left but the backlog waits for map room, which a
			// completion can make: come back soon to admit it.
			pctx, cancel = context.WithTimeout(ctx, 20*time.Millisecond)
		}
		fs := c.cl.PollFetches(pctx)
		if cancel != nil {
			cancel()
		}
		if fs.IsClientClosed() {
			return
		}
		fs.EachError(func(t string, p int32, err error) {
			if ctx.Err() == nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				c.cfg.logf("parallel: fetch %s[%d]: %v", t, p, err)
			}
		})
		fs.EachPartition(func(fp kgo.FetchTopicPartition) {
			if len(fp.Records) == 0 {
				return
			}
			p := c.partitionFor(fp.Topic, fp.Partition)
			c.receiveAll(p, fp.HighWatermark, fp.Records)
			if !slicesContains(queue, p) {
				queue = append(queue, p)
			}
		})
		c.cl.AllowRebalance()
	}
}

// admitRound admits backlog records into the free room and returns the
// partitions still holding a backlog. Each pass gives every backlogged
// partition an equal share of the room, first only up to its fair share of
// MaxBuffered (MaxBuffered / owned partitions, at most
// MaxBufferedPerPartition): a partition whose records came first must not
// take all the room, or only its keys get workers. Room that no other
// partition can use then goes beyond fair shares (MaxBufferedPerPartition
// is the pause threshold, not an admission cap).
func (c *Consumer) admitRound(queue []*partition, ready *[]*lane) []*partition {
	c.mu.Lock()
	fair := c.cfg.maxBuffered / max(1, len(c.parts))
	c.mu.Unlock()
	fair = max(1, min(fair, c.cfg.maxPerPart))
	for len(queue) > 0 {
		room := int64(c.cfg.maxBuffered) - c.total.Load()
		if room <= 0 {
			break
		}
		share := int(max(room/int64(len(queue)), 1))
		moved := 0
		kept := queue[:0]
		for _, p := range queue {
			p.mu.Lock()
			moved += c.admitFrom(p, min(share, fair-p.admitted), ready)
			left := len(p.parked) > 0 && !p.dead
			p.mu.Unlock()
			c.q.putAll(*ready)
			clear(*ready)
			*ready = (*ready)[:0]
			if left {
				kept = append(kept, p)
			}
		}
		clear(queue[len(kept):])
		queue = kept
		if moved == 0 {
			if fair == math.MaxInt {
				break // the rest waits for room or map room
			}
			fair = math.MaxInt // everyone had a fair share: share the rest
		}
	}
	return queue
}

func slicesContains(ps []*partition, p *partition) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

// partitionFor returns the live state of a partition, creating one without a
// restored map if the offset fetch callback did not (it always should).
func (c *Consumer) partitionFor(topic string, part int32) *partition {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := tp{topic, part}
	if p := c.parts[k]; p != nil {
		return p
	}
	p := c.newPartitionLocked(k)
	c.parts[k] = p
	return p
}

// waitIdle waits until ps have no handler running, or the deadline passes.
func (c *Consumer) waitIdle(ps []*partition, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for _, p := range ps {
		for {
			p.mu.Lock()
			n := p.inflight
			p.mu.Unlock()
			if n == 0 || c.abandon.Load() || time.Now().After(deadline) {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
}

func (c *Consumer) shutdown(workers *sync.WaitGroup) {
	c.markClosing() // ctx cancelled: same as Close
	c.q.close()
	idle := make(chan struct{})
	go func() { workers.Wait(); close(idle) }()
	select {
	case <-idle:
	case <-time.After(c.cfg.drainTimeout):
		c.abandon.Store(true)
		c.hcancel()
		c.cfg.logf("parallel: drain timeout %v: %d handlers abandoned", c.cfg.drainTimeout, c.inflight.Load())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	if err := c.commit(ctx, c.cl, true, nil); err != nil {
		c.cfg.logf("parallel: final commit: %v", err)
		c.fail(fmt.Errorf("%w: %w", ErrFinalCommit, err))
	}
	cancel()
	c.cl.Close() // leaves the group; onRevoked commits again, a no-op when nothing changed
	c.hcancel()
}

// detach takes the named partitions out of service: no more dispatch.
func (c *Consumer) detach(m map[string][]int32) []*partition {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ps []*partition
	for t, parts := range m {
		for _, n := range parts {
			if p := c.parts[tp{t, n}]; p != nil {
				p.mu.Lock()
				p.revoking = true
				p.halt.Store(true)
				p.mu.Unlock()
				ps = append(ps, p)
			}
		}
	}
	return ps
}

// drop forgets ps: later results for them are ignored, never committed.
func (c *Consumer) drop(cl *kgo.Client, ps []*partition) {
	c.mu.Lock()
	resume := map[string][]int32{}
	for _, p := range ps {
		if c.parts[p.tp] == p {
			delete(c.parts, p.tp)
		}
		p.mu.Lock()
		p.dead = true
		p.halt.Store(true)
		c.total.Add(-int64(p.admitted))
		c.backlog.Add(-int64(len(p.parked)))
		p.admitted, p.parked, p.lanes, p.open = 0, nil, nil, nil
		if p.paused {
			resume[p.tp.topic] = append(resume[p.tp.topic], p.tp.part)
		}
		p.mu.Unlock()
		p.cancel()
	}
	c.mu.Unlock()
	if len(resume) > 0 {
		// Pauses outlive assignments in kgo; a partition that comes back
		// to us must fetch again.
		cl.ResumeFetchPartitions(resume)
	}
	select {
	case c.space <- struct{}{}:
	default:
	}
}

func (c *Consumer) onRevoked(ctx context.Context, cl *kgo.Client, m map[string][]int32) {
	ps := c.detach(m)
	if len(ps) == 0 {
		return
	}
	c.waitIdle(ps, c.cfg.revokeTimeout)
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	if err := c.commit(cctx, cl, true, ps); err != nil {
		c.cfg.logf("parallel: commit on revoke: %v", err)
	}
	cancel()
	c.drop(cl, ps)
	c.m.revoked.Add(uint64(len(ps)))
}

func (c *Consumer) onLost(_ context.Context, cl *kgo.Client, m map[string][]int32) {
	ps := c.detach(m)
	c.drop(cl, ps) // no commit: the partitions may already belong to another member
	c.m.lost.Add(uint64(len(ps)))
}

// onFetched seeds each newly assigned partition with its committed offset
// and completion map, before kgo starts fetching it.
func (c *Consumer) onFetched(ctx context.Context, cl *kgo.Client, resp *kmsg.OffsetFetchResponse) error {
	type fetched struct {
		tp   tp
		off  int64
		meta string
	}
	var (
		all   []fetched
		byID  map[[16]byte]string
		fetch = func(t string, ps []kmsg.OffsetFetchResponseGroupTopicPartition) {
			for _, p := range ps {
				if p.ErrorCode != 0 {
					continue
				}
				meta := ""
				if p.Metadata != nil {
					meta = *p.Metadata
				}
				all = append(all, fetched{tp{t, p.Partition}, p.Offset, meta})
			}
		}
	)
	for _, g := range resp.Groups {
		for _, t := range g.Topics {
			name := t.Topic
			if name == "" { // OffsetFetch v10+ names topics by ID only
				if byID == nil {
					byID = c.topicIDs(ctx, cl)
				}
				if name = byID[t.TopicID]; name == "" {
					c.cfg.logf("parallel: offset fetch: unknown topic id %x; its completion map is ignored", t.TopicID)
					continue
				}
			}
			fetch(name, t.Partitions)
		}
	}
	for _, t := range resp.Topics { // pre-v8 responses
		ps := make([]kmsg.OffsetFetchResponseGroupTopicPartition, 0, len(t.Partitions))
		for _, p := range t.Partitions {
			ps = append(ps, kmsg.OffsetFetchResponseGroupTopicPartition{
				Partition: p.Partition, Offset: p.Offset, Metadata: p.Metadata, ErrorCode: p.ErrorCode,
			})
		}
		fetch(t.Topic, ps)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range all {
		if old := c.parts[f.tp]; old != nil {
			// Still ours from before (cooperative): our state is newer
			// than the commit.
			continue
		}
		p := c.newPartitionLocked(f.tp)
		if err := p.tr.Restore(f.off, f.meta); err != nil {
			c.cfg.logf("parallel: %s[%d]: %v", f.tp.topic, f.tp.part, err)
		}
		p.lastOff, p.lastMeta = f.off, f.meta
		c.parts[f.tp] = p
	}
	return nil
}

func (c *Consumer) topicIDs(ctx context.Context, cl *kgo.Client) map[[16]byte]string {
	out := map[[16]byte]string{}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tds, err := kadm.NewClient(cl).ListTopics(ctx)
	if err != nil {
		c.cfg.logf("parallel: list topics for offset fetch: %v", err)
		return out
	}
	for _, td := range tds {
		out[td.ID] = td.Topic
	}
	return out
}

// commit commits the committable offset and completion map of ps (nil: all
// live partitions) when they changed since the last commit.
func (c *Consumer) commit(ctx context.Context, cl *kgo.Client, sync bool, ps []*partition) error {
	c.commitMu.Lock()
	defer c.commitMu.Unlock()
	if ps == nil {
		c.mu.Lock()
		for _, p := range c.parts {
			ps = append(ps, p)
		}
		c.mu.Unlock()
	}
	type snap struct {
		p    *partition
		off  int64
		meta string
	}
	snaps := map[tp]snap{}
	offs := map[string]map[int32]kgo.EpochOffset{}
	for _, p := range ps {
		p.mu.Lock()
		off, meta := p.tr.Committable(), p.tr.Metadata()
		skip := p.dead || off < 0 || (off == p.lastOff && meta == p.lastMeta)
		p.mu.Unlock()
		if skip {
			continue
		}
		snaps[p.tp] = snap{p, off, meta}
		if offs[p.tp.topic] == nil {
			offs[p.tp.topic] = map[int32]kgo.EpochOffset{}
		}
		offs[p.tp.topic][p.tp.part] = kgo.EpochOffset{Epoch: -1, Offset: off}
	}
	if len(snaps) == 0 {
		return nil
	}
	cctx := kgo.PreCommitFnContext(ctx, func(req *kmsg.OffsetCommitRequest) error {
		for i := range req.Topics {
			t := &req.Topics[i]
			for j := range t.Partitions {
				if s, ok := snaps[tp{t.Topic, t.Partitions[j].Partition}]; ok {
					meta := s.meta
					t.Partitions[j].Metadata = &meta
				}
			}
		}
		return nil
	})
	start := time.Now()
	var rerr error
	done := make(chan struct{})
	onDone := func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		defer close(done)
		c.m.commitLatency.Observe(time.Since(start).Seconds())
		if err != nil {
			rerr = err
			return
		}
		for _, t := range resp.Topics {
			for _, rp := range t.Partitions {
				s, ok := snaps[tp{t.Topic, rp.Partition}]
				if !ok {
					continue
				}
				if rp.ErrorCode != 0 {
					rerr = fmt.Errorf("commit %s[%d]: error code %d", t.Topic, rp.Partition, rp.ErrorCode)
					continue
				}
				s.p.mu.Lock()
				s.p.lastOff, s.p.lastMeta = s.off, s.meta
				s.p.mu.Unlock()
			}
		}
	}
	if sync {
		cl.CommitOffsetsSync(cctx, offs, onDone)
	} else {
		cl.CommitOffsets(cctx, offs, onDone)
	}
	<-done
	if rerr != nil {
		c.m.commitErrors.Add(1)
	}
	return rerr
}

func (c *Consumer) commitLoop(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(c.cfg.commitInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := c.commit(cctx, c.cl, false, nil); err != nil && ctx.Err() == nil {
			c.cfg.logf("parallel: commit: %v", err)
		}
		cancel()
	}
}
