package parallel

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/parallel/internal/offsets"
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

	mu        sync.Mutex
	tr        *offsets.Tracker
	lanes     map[string]*keyLane // ordered lanes by key: busy ones, and up to maxIdleLanes idle ones
	idleLanes int                 // lanes in lanes that are not busy
	open      *sharedLane         // unordered records of the current admission round, not yet queued
	free      []*keyLane          // spent lanes, out of lanes, for reuse
	parked    []*kgo.Record       // polled, not admitted yet: the backlog
	running   int                 // workers holding records of this partition
	idle      chan struct{}       // set by detach while running > 0; closed when it reaches 0
	revoking  bool
	dead      bool
	paused    bool
	mapWait   bool // the last admission stopped at the completion map's budget
	hwm       int64
	polls     []pollMark // lag.go: polls with records not all done, oldest first

	committed atomic.Int64 // lag.go: last offset the broker acknowledged; -1 none

	// NewTransform only (txn.go): outputs of records marked done, in the
	// order they were, not yet taken into a transaction (p.mu).
	ready []output
	// Outputs of records whose handler returned, not yet marked done.
	outMu sync.Mutex
	outs  map[*kgo.Record]output
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

// addOrdered appends r to its key's lane, queueing the lane if it was idle
// (p.mu held). key is looked up without allocating.
func (p *partition) addOrdered(key []byte, r *kgo.Record, ready *[]runnable) {
	l := p.lanes[string(key)]
	switch {
	case l != nil && !l.busy:
		p.idleLanes-- // an idle lane of this key: no allocation at all
	case l == nil:
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

// maxIdleLanes bounds the spent lanes a partition keeps under their key:
// a key seen again (most keys are, in a backlog) reuses its lane without
// allocating its key string, which was most of the dispatch's allocations
// per record; a stream of ever-new keys keeps at most this many.
const maxIdleLanes = 1024

// spent retires l, whose run found it empty (p.mu held): idle under its
// key while the partition keeps fewer than maxIdleLanes and its buffer is
// small, else out of the map and recycled.
func (p *partition) spent(l *keyLane) {
	if p.lanes[l.key] != l {
		return
	}
	if p.idleLanes < maxIdleLanes && cap(l.recs) <= 64 {
		l.busy = false
		p.idleLanes++
		return
	}
	delete(p.lanes, l.key)
	p.recycle(l)
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
	c.deliver.done(p, recs)
	if p.mapWait {
		c.mapWake.Store(true)
	}
	c.held.Add(-int64(len(recs)))
	c.maybeResume(p)
	select { // wakes a back-to-back commit loop (CommitInterval(0))
	case c.completed <- struct{}{}:
	default:
	}
	return len(recs)
}
