package parallel

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/parallel/internal/offsets"
)

// Dispatch works in lanes, not single records: a lane is a run of records
// that workers take without a hand-off per record. There are two kinds.
//
// A keyLane holds every admitted record of one key of one partition (under
// OrderPartition: of the partition). One worker owns it until it is empty,
// so the order holds: the lane is "busy" from its first queued record until
// a worker finds it empty, and later records of its key wait behind the
// running ones.
//
// A sharedLane holds the unordered records of one admission round of one
// partition. Workers claim its records one at a time with an atomic
// counter, and a worker that claims one while more remain queues the lane
// again (unless it is queued already) so the next free worker joins in. Fast
// handlers thus run a lane on the workers that happen to be free, and slow
// or blocked ones spread it over every free worker; one slow record never
// holds up the rest.
//
// Per lane, not per record: one ready-queue push, one worker wake-up, one
// partition-lock round to take the records and (for fast handlers) one to
// report them done. A worker reports its completions every flushEvery
// between records. A worker whose handler takes long cannot: the sweeper
// (every sweepEvery) reports the completions of a pass that has not moved
// since its last look, so records done just before a slow or stuck one are
// committable within about two sweepEvery, not only once it returns. A
// crash then replays no more than the commit interval promises.
const (
	flushEvery = time.Millisecond
	sweepEvery = 10 * time.Millisecond
)

// partition is one assignment of one partition. A new assignment gets a new
// partition value; lanes hold the pointer, so a result for an earlier
// assignment (dead) can never reach the new assignment's tracker.
//
// Counts have one home each: records held (admitted, not done) are the
// tracker's Pending; the backlog is len(parked); workers running its records
// are running. Consumer.held is the MaxBuffered budget over all partitions,
// reserved before records are added to trackers.
type partition struct {
	tp     tp
	ctx    context.Context
	cancel context.CancelFunc
	halt   atomic.Bool // revoking or dead: workers stop between records

	mu       sync.Mutex
	tr       *offsets.Tracker
	lanes    map[string]*keyLane // ordered lanes with records held, by key
	open     *sharedLane         // unordered records of the current admission round, not yet queued
	free     []*keyLane          // spent lanes for reuse
	parked   []*kgo.Record       // polled, not admitted yet: the backlog
	running  int                 // workers holding records of this partition
	idle     chan struct{}       // set by detach while running > 0; closed when it reaches 0
	revoking bool
	dead     bool
	paused   bool
	hwm      int64
	polls    []pollMark // lag.go: polls with records not all done, oldest first

	committed atomic.Int64 // lag.go: last offset the broker acknowledged; -1 none

	// NewTransform only (txn.go): outputs of records marked done, in the
	// order they were, not yet taken into a transaction (p.mu).
	ready []output
	// Outputs of records whose handler returned, not yet marked done.
	outMu sync.Mutex
	outs  map[*kgo.Record][]*kgo.Record
	gone  bool // dropped: outputs arriving late are discarded (outMu)
}

func (c *Consumer) newPartition(k tp) *partition {
	p := &partition{
		tp:    k,
		tr:    offsets.NewTracker(c.cfg.maxMetadataBytes),
		lanes: make(map[string]*keyLane),
		hwm:   -1,
	}
	p.committed.Store(-1)
	// The partition rides in its handlers' contexts so that a transform
	// handler's outputs land on the assignment that ran the record.
	p.ctx, p.cancel = context.WithCancel(context.WithValue(c.hctx, partKey{}, p))
	return p
}

// runnable is what the ready queue holds: a lane a worker can run.
type runnable interface {
	run(c *Consumer, slot *workerSlot, buf []*kgo.Record) []*kgo.Record
}

type keyLane struct {
	p    *partition
	key  string
	busy bool          // queued or being run (p.mu)
	recs []*kgo.Record // taken whole by the next run (p.mu)
}

type sharedLane struct {
	p      *partition
	recs   []*kgo.Record // fixed once queued
	next   atomic.Int64  // next record to claim
	queued atomic.Bool   // in the ready queue
}

// addOrdered appends r to its key's lane, queueing the lane if it was idle
// (p.mu held). key is looked up without allocating.
func (p *partition) addOrdered(key []byte, r *kgo.Record, ready *[]runnable) {
	l := p.lanes[string(key)]
	if l == nil {
		if n := len(p.free); n > 0 {
			l = p.free[n-1]
			p.free[n-1] = nil
			p.free = p.free[:n-1]
		} else {
			l = &keyLane{p: p}
		}
		l.key = string(key)
		p.lanes[l.key] = l
	}
	l.recs = append(l.recs, r)
	if !l.busy {
		l.busy = true
		*ready = append(*ready, l)
	}
}

// addShared appends r to the round's shared lane (p.mu held).
func (p *partition) addShared(r *kgo.Record) {
	if p.open == nil {
		p.open = &sharedLane{p: p}
	}
	p.open.recs = append(p.open.recs, r)
}

// recycle keeps a spent lane (not queued, not referenced) for reuse.
func (p *partition) recycle(l *keyLane) {
	if len(p.free) < 64 && cap(l.recs) <= 1024 {
		l.key, l.busy, l.recs = "", false, l.recs[:0]
		p.free = append(p.free, l)
	}
}

// take registers a worker on p, unless p no longer dispatches (p.mu held).
// Records left untaken stay pending: not committed, replayed by the next owner.
func (c *Consumer) take(p *partition) bool {
	if p.dead || p.revoking || c.stopFlag.Load() {
		return false
	}
	p.running++
	return true
}

// letGo unregisters a worker from p (p.mu held).
func (p *partition) letGo() {
	p.running--
	if p.running == 0 && p.idle != nil {
		close(p.idle)
		p.idle = nil
	}
}

// markDone marks recs done in p's tracker and frees their room (p.mu held).
// For a dead partition nothing changes: its room was freed when it was
// dropped, and its results are never committed.
func (c *Consumer) markDone(p *partition, recs []*kgo.Record) int {
	if p.dead || len(recs) == 0 {
		return 0
	}
	for _, r := range recs {
		p.tr.Done(r.Offset)
	}
	if c.txn {
		p.takeOutputs(recs)
	}
	c.held.Add(-int64(len(recs)))
	c.maybeResume(p)
	select { // wakes a back-to-back commit loop (CommitInterval(0))
	case c.completed <- struct{}{}:
	default:
	}
	return len(recs)
}

func (l *keyLane) run(c *Consumer, slot *workerSlot, buf []*kgo.Record) []*kgo.Record {
	p := l.p
	p.mu.Lock()
	if !c.take(p) {
		p.mu.Unlock()
		return buf
	}
	// Take the lane's records by swapping slices: buf is empty (cleared)
	// and becomes the lane's, for records that arrive meanwhile. No copy,
	// no clearing of the lane's slice.
	batch := l.recs
	l.recs = buf[:0]
	p.mu.Unlock()

	s := c.newRun(slot, p, batch)
	for i := 0; i < len(batch) && s.step(batch[i]); i++ {
	}
	s.end()

	var rest []*kgo.Record
	if s.done < len(batch) {
		// Cut short by a revoke or Close, or stuck on a record that
		// failed for good: back to the front of the lane, in order.
		rest = batch[s.done:]
	}
	p.mu.Lock()
	n := c.report(slot, s.done)
	p.letGo()
	switch {
	case len(rest) > 0:
		// Revoking or closing: the lane stays busy and is dropped with its
		// partition. Stuck: it holds its key for good.
		l.recs = append(append(make([]*kgo.Record, 0, len(rest)+len(l.recs)), rest...), l.recs...)
	case p.dead:
	case len(l.recs) > 0:
		if !p.revoking {
			c.q.put(l) // still busy: more of its key arrived meanwhile
		}
	default:
		if p.lanes[l.key] == l {
			delete(p.lanes, l.key)
		}
		p.recycle(l)
	}
	p.mu.Unlock()
	slot.end()
	if n > 0 {
		c.nudge()
	}
	clear(batch)
	return batch[:0]
}

func (l *sharedLane) run(c *Consumer, slot *workerSlot, buf []*kgo.Record) []*kgo.Record {
	p := l.p
	l.queued.Store(false)
	p.mu.Lock()
	if !c.take(p) {
		p.mu.Unlock()
		return buf
	}
	p.mu.Unlock()

	// Room for every record this pass could claim: the batch's array
	// must not move while the sweeper may read it.
	if cap(buf) < len(l.recs) {
		buf = make([]*kgo.Record, 0, len(l.recs))
	}
	batch := buf[:0]
	s := c.newRun(slot, p, buf[:cap(buf)])
	for {
		j := int(l.next.Add(1)) - 1
		if j >= len(l.recs) {
			break
		}
		r := l.recs[j]
		batch = append(batch, r)
		if j+1 < len(l.recs) && l.queued.CompareAndSwap(false, true) {
			// Records left: offer the lane to the next free worker. At
			// most one re-queue per visit, so a lane costs O(workers)
			// queue trips, not one per record.
			c.q.put(l)
		}
		if !s.step(r) {
			break
		}
	}
	s.end()
	// A shared lane is spent once claimed out; an unordered record that
	// failed for good, or was cut short, stays pending, uncommitted.
	p.mu.Lock()
	n := c.report(slot, s.done)
	p.letGo()
	p.mu.Unlock()
	slot.end()
	if n > 0 {
		c.nudge()
	}
	clear(batch)
	return batch[:0]
}

// laneRun is one worker's pass over a lane: it runs records one after
// another and reports completions every flushEvery. The pass's records are
// its slot's batch; batch[:done] ran.
type laneRun struct {
	c             *Consumer
	slot          *workerSlot
	p             *partition
	done          int
	ok            uint64 // first-attempt successes
	last, checked time.Time
	since, stride int // records since the clock was read; read every stride
}

// newRun starts a pass over batch, publishing it in the worker's slot for
// the sweeper. batch's array must not move until the pass ends.
func (c *Consumer) newRun(slot *workerSlot, p *partition, batch []*kgo.Record) laneRun {
	slot.mu.Lock()
	slot.batch, slot.flushed = batch, 0
	slot.done.Store(0)
	slot.p.Store(p)
	slot.mu.Unlock()
	now := time.Now()
	return laneRun{c: c, slot: slot, p: p, last: now, checked: now, stride: 1}
}

// step runs r, the next record of the pass, and reports whether the pass
// goes on: false when the partition halts, the consumer stops, or r failed
// with nowhere to go.
func (s *laneRun) step(r *kgo.Record) bool {
	c, p := s.c, s.p
	if p.halt.Load() || c.stopFlag.Load() {
		return false
	}
	if at, err := c.call(p.ctx, r, 1); err == nil {
		s.ok++
		c.finish(at, RouteDone, nil)
	} else if err = c.retryFailed(p.ctx, r, at, err); err != nil {
		if !errors.Is(err, errAbandoned) {
			c.fail(err)
		}
		return false
	}
	s.done++
	s.slot.done.Store(int64(s.done))
	// Reading the clock per record cost more than the rest of the dispatch
	// for no-op handlers: read it every stride records, doubling stride
	// while records are fast and back to 1 when slow.
	if s.since++; s.since >= s.stride {
		now := time.Now()
		if el := now.Sub(s.checked); el < 50*time.Microsecond && s.stride < 64 {
			s.stride *= 2
		} else if el > flushEvery/2 {
			s.stride = 1
		}
		s.checked, s.since = now, 0
		if now.Sub(s.last) >= flushEvery {
			p.mu.Lock()
			n := c.report(s.slot, s.done)
			p.mu.Unlock()
			if n > 0 {
				c.nudge()
			}
			s.last = now
		}
	}
	return true
}

func (s *laneRun) end() { s.c.stats.completed.Add(s.ok) }

// workerSlot is a worker's current pass as the sweeper sees it. p is set
// for the length of a pass; mu keeps the pass from ending (and its batch
// from being cleared) while the sweeper reports from it; flushed is guarded
// by the partition's lock, under which both the worker and the sweeper
// report; done is published after every record.
type workerSlot struct {
	mu      sync.Mutex
	p       atomic.Pointer[partition]
	batch   []*kgo.Record
	flushed int          // batch[:flushed] reported (p.mu)
	done    atomic.Int64 // batch[:done] ran
	seen    int64        // the sweeper's alone: done at its previous look (a stale value costs one needless report)
}

// report marks the pass's records from the last report up to to done (the
// partition's lock held).
func (c *Consumer) report(slot *workerSlot, to int) int {
	if to <= slot.flushed {
		return 0
	}
	n := c.markDone(slot.p.Load(), slot.batch[slot.flushed:to])
	slot.flushed = to
	return n
}

// end withdraws the pass from the sweeper's sight.
func (slot *workerSlot) end() {
	slot.mu.Lock()
	slot.p.Store(nil)
	slot.batch = nil
	slot.mu.Unlock()
}

func (c *Consumer) worker(slot *workerSlot) {
	var buf []*kgo.Record
	for {
		l, ok := c.q.get()
		if !ok {
			return
		}
		buf = l.run(c, slot, buf)
	}
}

// sweep reports the completions waiting in workers' slots behind a running
// handler, every sweepEvery until stop is closed.
func (c *Consumer) sweep(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		c.sweepOnce(false)
	}
}

// sweepOnce reports the completions of every pass that has not moved since
// the previous look (all: of every pass), i.e. whose handler runs long.
func (c *Consumer) sweepOnce(all bool) {
	for i := range c.slots {
		s := &c.slots[i]
		p := s.p.Load()
		if p == nil {
			continue
		}
		if d := s.done.Load(); d != s.seen && !all {
			s.seen = d // moving: the worker reports by itself
			continue
		}
		s.mu.Lock()
		n := 0
		if s.p.Load() == p { // still the same pass, and it cannot end meanwhile
			p.mu.Lock()
			n = c.report(s, int(s.done.Load()))
			p.mu.Unlock()
		}
		s.mu.Unlock()
		if n > 0 {
			c.nudge()
		}
	}
}

// readyQueue is an unbounded FIFO of runnable lanes. Unbounded because
// pushes happen under partition locks and must never block; its length is
// bounded by the records held, which MaxBuffered bounds.
type readyQueue struct {
	mu      sync.Mutex
	cond    sync.Cond
	items   []runnable
	head    int
	waiting int
	closed  bool
}

func (q *readyQueue) init() { q.cond.L = &q.mu }

func (q *readyQueue) put(l runnable) {
	q.mu.Lock()
	q.items = append(q.items, l)
	wake := q.waiting > 0
	q.mu.Unlock()
	if wake {
		q.cond.Signal()
	}
}

func (q *readyQueue) putAll(ls []runnable) {
	if len(ls) == 0 {
		return
	}
	q.mu.Lock()
	q.items = append(q.items, ls...)
	wake := min(q.waiting, len(ls))
	all := wake == q.waiting
	q.mu.Unlock()
	if all && wake > 1 {
		q.cond.Broadcast()
		return
	}
	for ; wake > 0; wake-- {
		q.cond.Signal()
	}
}

func (q *readyQueue) get() (runnable, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.head == len(q.items) && !q.closed {
		q.waiting++
		q.cond.Wait()
		q.waiting--
	}
	if q.closed {
		return nil, false
	}
	l := q.items[q.head]
	q.items[q.head] = nil
	q.head++
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	} else if q.head > 4096 && q.head > len(q.items)/2 {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	return l, true
}

func (q *readyQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}
