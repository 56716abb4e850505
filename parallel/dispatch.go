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
// that workers take without a hand-off per record. Under OrderKey an ordered
// lane is every record held for one key of one partition (OrderPartition:
// for the partition); one worker owns it until it is empty, so the order
// holds. Unordered records of one poll of one partition form a shared lane:
// workers claim its records one at a time with an atomic counter, and a
// worker that claims one while more remain queues the lane again (unless it
// is queued already) so the next free worker joins in. Fast handlers thus run
// a lane on the workers that happen to be free, and slow or blocked ones
// spread it over every free worker; one slow record never holds up the rest.
//
// Per lane, not per record: one ready-queue push, one worker wake-up, one
// partition-lock round to take the records and (for fast handlers) one to
// report them done. Completions are reported at least every flushEvery, so
// slow handlers still mark each record done as soon as it finishes: a crash
// then replays no more than the commit interval promises.
const flushEvery = time.Millisecond

// partition is one assignment of one partition. A new assignment gets a new
// partition value; lanes hold the pointer, so a result for an earlier
// assignment (dead) can never reach the new assignment's tracker.
type partition struct {
	tp     tp
	epoch  uint64
	ctx    context.Context
	cancel context.CancelFunc
	halt   atomic.Bool // revoking or dead: workers stop between records

	mu       sync.Mutex
	tr       *offsets.Tracker
	lanes    map[string]*lane // ordered lanes with records held, by key
	open     *lane            // unordered records of the current poll, not yet queued
	free     []*lane          // spent lanes for reuse
	parked   []*kgo.Record    // polled, not admitted yet: the backlog
	admitted int              // admitted, not done
	inflight int              // workers holding records of this partition
	revoking bool
	dead     bool
	paused   bool
	hwm      int64

	lastOff  int64 // last committed offset and metadata
	lastMeta string
}

// lane is a run of records processed by one worker at a time. An ordered
// lane stays "busy" from its first queued record until a worker found it
// empty, so later records of its key wait behind the running ones.
type lane struct {
	p    *partition
	key  string
	ord  bool
	busy bool          // ordered: queued or being run (p.mu)
	recs []*kgo.Record // ordered: taken by the next run (p.mu); shared: fixed once queued

	next   atomic.Int64 // shared: next record to claim
	queued atomic.Bool  // shared: in the ready queue
}

func (c *Consumer) newPartitionLocked(k tp) *partition {
	c.epoch++
	ctx, cancel := context.WithCancel(c.hctx)
	return &partition{
		tp: k, epoch: c.epoch, ctx: ctx, cancel: cancel,
		tr:      offsets.NewTracker(c.cfg.maxMetadataBytes),
		lanes:   make(map[string]*lane),
		lastOff: -1, hwm: -1,
	}
}

func (p *partition) newLane() *lane {
	if n := len(p.free); n > 0 {
		l := p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
		return l
	}
	return &lane{p: p}
}

// recycle keeps a spent lane (not queued, not referenced) for reuse.
func (p *partition) recycle(l *lane) {
	if len(p.free) < 64 && cap(l.recs) <= 1024 {
		l.key, l.ord, l.busy, l.recs = "", false, false, l.recs[:0]
		p.free = append(p.free, l)
	}
}

// receiveAll parks one poll's records of p; the poll loop admits them.
func (c *Consumer) receiveAll(p *partition, hwm int64, rs []*kgo.Record) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hwm = hwm
	if p.dead {
		return
	}
	if len(p.parked) == 0 {
		p.parked = rs // the poll's slice is ours now: no copy
	} else {
		p.parked = append(p.parked, rs...)
	}
	c.backlog.Add(int64(len(rs)))
	c.maybePause(p)
}

// admitFrom admits up to max parked records of p within the global room
// (MaxBuffered) and the completion map budget; it returns how many it took
// from the backlog (p.mu held).
func (c *Consumer) admitFrom(p *partition, max int, ready *[]*lane) int {
	want := min(max, len(p.parked))
	if want <= 0 || p.dead {
		return 0
	}
	// Reserve room for want records at once; give back what is unused.
	var got int64
	for {
		held := c.total.Load()
		got = min(int64(want), int64(c.cfg.maxBuffered)-held)
		if got <= 0 {
			return 0
		}
		if c.total.CompareAndSwap(held, held+got) {
			break
		}
	}
	n, kept := 0, 0
	for n < int(got) && p.tr.CanAdd(p.parked[n].Offset) {
		r := p.parked[n]
		p.parked[n] = nil
		n++
		if c.admit(p, r, ready) {
			kept++
		}
	}
	p.parked = p.parked[n:]
	if len(p.parked) == 0 {
		p.parked = nil // let the fetch's record slice go
	}
	p.admitted += kept
	c.total.Add(int64(kept) - got)
	c.backlog.Add(-int64(n))
	c.closeOpen(p, ready)
	return n
}

// admit registers r with the tracker and hands it to its lane (p.mu held).
// It reports whether r is held; false when r needs no processing.
func (c *Consumer) admit(p *partition, r *kgo.Record, ready *[]*lane) bool {
	skip, err := p.tr.Add(r.Offset)
	if err != nil || skip {
		// err: a redelivered offset, already tracked. skip: completed
		// before the last restart, per the commit metadata.
		if skip {
			c.m.skipped.Add(1)
		}
		return false
	}
	var key string
	switch {
	case c.cfg.retryTopic != "" && r.Topic == c.cfg.retryTopic:
		// Retry records have lost their order already; each waits for
		// its due time on a timer, never holding up its partition.
		if due := headerTime(r, HeaderDue); !due.IsZero() {
			if d := time.Until(due); d > 0 {
				l := &lane{p: p, recs: []*kgo.Record{r}}
				l.queued.Store(true)
				time.AfterFunc(d, func() { c.q.put(l) })
				return true
			}
		}
		c.addUnordered(p, r, ready)
		return true
	case c.cfg.order == OrderPartition:
	case c.cfg.order == OrderKey && r.Key != nil:
		if l := p.lanes[string(r.Key)]; l != nil { // no allocation on lookup
			l.recs = append(l.recs, r)
			if !l.busy {
				l.busy = true
				*ready = append(*ready, l)
			}
			return true
		}
		key = string(r.Key)
	default:
		c.addUnordered(p, r, ready)
		return true
	}
	l := p.lanes[key]
	if l == nil {
		l = p.newLane()
		l.key, l.ord = key, true
		p.lanes[key] = l
	}
	l.recs = append(l.recs, r)
	if !l.busy {
		l.busy = true
		*ready = append(*ready, l)
	}
	return true
}

func (c *Consumer) addUnordered(p *partition, r *kgo.Record, ready *[]*lane) {
	if p.open == nil {
		p.open = &lane{p: p}
	}
	p.open.recs = append(p.open.recs, r)
}

// closeOpen queues the shared lane of unordered records gathered so far.
func (c *Consumer) closeOpen(p *partition, ready *[]*lane) {
	if p.open != nil {
		p.open.queued.Store(true)
		*ready = append(*ready, p.open)
		p.open = nil
	}
}

func (c *Consumer) maybePause(p *partition) {
	if !p.paused && p.admitted+len(p.parked) >= c.cfg.maxPerPart {
		p.paused = true
		c.cl.PauseFetchPartitions(map[string][]int32{p.tp.topic: {p.tp.part}})
	}
}

func (c *Consumer) maybeResume(p *partition) {
	if p.paused && p.admitted+len(p.parked) <= c.cfg.maxPerPart/2 {
		p.paused = false
		c.cl.ResumeFetchPartitions(map[string][]int32{p.tp.topic: {p.tp.part}})
	}
}

func (c *Consumer) worker() {
	var buf []*kgo.Record
	for {
		l, ok := c.q.get()
		if !ok {
			return
		}
		buf = c.runLane(l, buf)
	}
}

// runLane runs records of l; buf is the worker's scratch slice, returned
// for reuse.
func (c *Consumer) runLane(l *lane, buf []*kgo.Record) []*kgo.Record {
	p := l.p
	if !l.ord {
		l.queued.Store(false)
	}
	p.mu.Lock()
	if p.dead || p.revoking || c.stopFlag.Load() {
		p.mu.Unlock() // left pending: not committed, replayed by the next owner
		return buf
	}
	batch := buf[:0]
	if l.ord {
		// Take the lane's records by swapping slices: buf is empty
		// (cleared) and becomes the lane's, for records that arrive
		// meanwhile. No copy, no clearing of the lane's slice.
		batch, l.recs = l.recs, batch
	}
	p.inflight++
	p.mu.Unlock()
	c.inflight.Add(1)

	var (
		done, flushed int
		ok            uint64 // first-attempt successes
		last          = time.Now()
		checked       = last
		since, stride = 0, 1 // records since the clock was read; read every stride
	)
	for i := 0; ; i++ {
		if p.halt.Load() || c.stopFlag.Load() {
			break
		}
		var r *kgo.Record
		if l.ord {
			if i == len(batch) {
				break
			}
			r = batch[i]
		} else {
			j := int(l.next.Add(1)) - 1
			if j >= len(l.recs) {
				break
			}
			r = l.recs[j]
			batch = append(batch, r)
			if j+1 < len(l.recs) && l.queued.CompareAndSwap(false, true) {
				// Records left: offer the lane to the next free worker.
				// At most one re-queue per visit, so a lane costs
				// O(workers) queue trips, not one per record.
				c.q.put(l)
			}
		}
		if err := c.call(p.ctx, r); err == nil {
			ok++
		} else if err = c.retryFailed(p.ctx, r, err); err != nil {
			if !errors.Is(err, errAbandoned) {
				c.fail(err)
			}
			break
		}
		done = i + 1
		// Reading the clock per record cost more than the rest of the
		// dispatch for no-op handlers: read it every stride records,
		// doubling stride while records are fast and back to 1 when slow.
		if since++; since >= stride {
			now := time.Now()
			if el := now.Sub(checked); el < 50*time.Microsecond && stride < 64 {
				stride *= 2
			} else if el > flushEvery/2 {
				stride = 1
			}
			checked, since = now, 0
			if now.Sub(last) >= flushEvery {
				c.complete(l, batch[flushed:done], nil, false)
				flushed, last = done, now
			}
		}
	}
	c.m.completed.Add(ok)
	var rest []*kgo.Record
	if l.ord && done < len(batch) {
		// Cut short by a revoke or Close, or stuck on a record that
		// failed for good: back to the front of the lane, in order.
		rest = batch[done:]
	}
	c.complete(l, batch[flushed:done], rest, true)
	c.inflight.Add(-1)
	clear(batch)
	return batch[:0]
}

// complete marks recs done. With last set, the worker lets go of l: rest
// (records taken but not run) go back to the front of the lane, and the
// lane is queued again when more records wait for it.
func (c *Consumer) complete(l *lane, recs, rest []*kgo.Record, last bool) {
	p := l.p
	n := len(recs)
	p.mu.Lock()
	if !p.dead && n > 0 {
		for _, r := range recs {
			p.tr.Done(r.Offset)
		}
		p.admitted -= n
		c.total.Add(-int64(n))
		c.maybeResume(p)
	}
	if last {
		p.inflight--
		switch {
		case !l.ord:
			// A shared lane is spent once claimed out; an unordered
			// record that failed for good stays pending, uncommitted.
		case len(rest) > 0:
			// Revoking or closing: the lane stays busy and is dropped
			// with its partition. Stuck: it holds its key for good.
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
	}
	p.mu.Unlock()
	if n > 0 {
		select {
		case c.space <- struct{}{}:
		default:
		}
	}
}

// readyQueue is an unbounded FIFO of runnable lanes. Unbounded because
// pushes happen under partition locks and must never block; its length is
// bounded by the records held, which MaxBuffered bounds.
type readyQueue struct {
	mu      sync.Mutex
	cond    sync.Cond
	items   []*lane
	head    int
	waiting int
	closed  bool
}

func (q *readyQueue) init() { q.cond.L = &q.mu }

func (q *readyQueue) put(l *lane) {
	q.mu.Lock()
	q.items = append(q.items, l)
	wake := q.waiting > 0
	q.mu.Unlock()
	if wake {
		q.cond.Signal()
	}
}

func (q *readyQueue) putAll(ls []*lane) {
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

func (q *readyQueue) get() (*lane, bool) {
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

func (q *readyQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) - q.head
}
