package parallel

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
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
		p.spent(l)
	}
	p.mu.Unlock()
	return c.endPass(slot, n, batch)
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
	return c.endPass(slot, n, batch)
}

// endPass frees the worker's slot after a pass that reported n records
// done, wakes the poll loop if that made room, and hands the pass's batch
// back, cleared, as the worker's buffer.
func (c *Consumer) endPass(slot *workerSlot, n int, batch []*kgo.Record) []*kgo.Record {
	slot.end()
	if n > 0 {
		c.nudgeDone()
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
	if at, err := c.call(p.ctx, r, 1, &s.slot.at); err == nil {
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
				c.nudgeDone()
			}
			s.last = now
		}
	}
	return true
}

func (s *laneRun) end() { s.c.stats.completed.Add(s.ok) }
