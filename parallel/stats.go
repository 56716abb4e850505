package parallel

import (
	"math"
	"sync/atomic"
	"time"
)

// counters are the consumer's event counts: atomics bumped on the hot path
// and read by Stats. Gauges (in flight, held, backlog, lag) are not counted
// here: Stats reads them from the partitions, their one home.
type counters struct {
	completed, failed, retried, retryRouted, deadLettered atomic.Uint64
	skipped, revoked, lost, commitErrors                  atomic.Uint64
	released, redelivered, ackErrors                      atomic.Uint64 // share mode
	commitLatency                                         latency
}

// commitBounds are the upper bounds, in seconds, of the commit latency
// histogram: 0.5 ms doubling to about 16 s.
var commitBounds = func() []float64 {
	b := make([]float64, 16)
	for i := range b {
		b[i] = 0.0005 * math.Pow(2, float64(i))
	}
	return b
}()

// latency is a fixed-bucket histogram over commitBounds, lock-free.
type latency struct {
	buckets [17]atomic.Uint64 // the last one: above every bound
	sumNs   atomic.Int64
}

func (l *latency) observe(d time.Duration) {
	s := d.Seconds()
	i := 0
	for i < len(commitBounds) && s > commitBounds[i] {
		i++
	}
	l.buckets[i].Add(1)
	l.sumNs.Add(int64(d))
}

func (l *latency) snapshot() Histogram {
	h := Histogram{Bounds: append([]float64(nil), commitBounds...), Counts: make([]uint64, len(l.buckets))}
	for i := range l.buckets {
		h.Counts[i] = l.buckets[i].Load()
		h.Count += h.Counts[i]
	}
	h.Sum = time.Duration(l.sumNs.Load()).Seconds()
	return h
}

// Histogram is a latency distribution in seconds. Counts[i] counts
// observations above Bounds[i-1] and at most Bounds[i]; the last count,
// Counts[len(Bounds)], is above every bound.
type Histogram struct {
	Bounds []float64
	Counts []uint64
	Count  uint64
	Sum    float64
}

// Stats is a point-in-time view of the consumer, for tests, benches,
// dashboards, and the Prometheus collector in the kprom subpackage.
type Stats struct {
	InFlight         int64 // workers running records of owned partitions
	Held             int64 // records admitted: queued, waiting or running (<= MaxBuffered)
	Backlog          int64 // records polled, waiting for room under MaxBuffered
	PausedPartitions int
	Completed        uint64 // handler successes
	Failed           uint64 // failed attempts
	Retried          uint64 // in-place retries
	RetryTopic       uint64 // records sent to the retry topic
	DeadLettered     uint64
	Skipped          uint64 // already done per commit metadata
	Revoked          uint64 // partitions revoked (committed and released)
	Lost             uint64 // partitions lost (released without commit)
	CommitErrors     uint64 // commits that failed in whole or part
	CommitLatency    Histogram
	Partitions       []PartitionStats // group mode only
	// The largest CommittedLag and HeadWait over Partitions (group mode
	// only): -1 and 0 when none is known.
	MaxCommittedLag int64
	MaxHeadWait     time.Duration
	// ConcurrencyLimit is the number of handler calls allowed at once:
	// AdaptiveConcurrency's current limit (BatchHandler calls with
	// NewBatch), else MaxConcurrency. InFlight counts workers waiting
	// for a slot under it too.
	ConcurrencyLimit int

	// ShareGroup mode only.
	Released    uint64 // records handed back for redelivery (failed delivery, or abandoned at Close)
	Redelivered uint64 // records received with a delivery count above 1
	AckErrors   uint64 // acknowledgements the broker refused (the record is redelivered)
}

// PartitionStats describes one owned partition.
type PartitionStats struct {
	Topic       string
	Partition   int32
	Committable int64 // -1: nothing known yet
	Held        int   // admitted, not done
	Backlog     int   // polled, not admitted
	Paused      bool
	Lag         int64 // high watermark - committable; -1 unknown
	// Committed is the last offset the broker acknowledged as committed
	// (or the group's at assignment); -1 none yet. CommittedLag is the
	// consumer lag as Kafka tools report it: high watermark - Committed;
	// -1 unknown. It trails Lag by what is done but not yet committed.
	Committed    int64
	CommittedLag int64
	// HeadWait is how long the oldest record not yet done (the one the
	// commit waits for) has been in the consumer, since the poll that
	// returned it; 0 when every polled record is done. A record stuck in
	// its handler shows here as a wait that keeps growing.
	HeadWait time.Duration
}

// Stats returns counters and the state of owned partitions.
func (c *Consumer) Stats() Stats {
	st := Stats{
		Held:          c.held.Load(),
		Completed:     c.stats.completed.Load(),
		Failed:        c.stats.failed.Load(),
		Retried:       c.stats.retried.Load(),
		RetryTopic:    c.stats.retryRouted.Load(),
		DeadLettered:  c.stats.deadLettered.Load(),
		Skipped:       c.stats.skipped.Load(),
		Revoked:       c.stats.revoked.Load(),
		Lost:          c.stats.lost.Load(),
		CommitErrors:  c.stats.commitErrors.Load(),
		CommitLatency: c.stats.commitLatency.snapshot(),
		Released:      c.stats.released.Load(),
		Redelivered:   c.stats.redelivered.Load(),
		AckErrors:     c.stats.ackErrors.Load(),
	}
	st.MaxCommittedLag = -1
	st.ConcurrencyLimit = c.concurrencyLimit()
	c.engine.stats(&st)
	return st
}

// stats fills what the group engine knows: each partition's state.
func (e groupEngine) stats(st *Stats) {
	c := e.c
	now := time.Now()
	for _, p := range c.live() {
		p.mu.Lock()
		s := PartitionStats{Topic: p.tp.topic, Partition: p.tp.part, Committable: p.tr.Committable(),
			Held: p.tr.Pending(), Backlog: len(p.parked), Paused: p.paused, Lag: -1,
			Committed: p.committed.Load(), CommittedLag: -1, HeadWait: p.headWait(now)}
		if p.hwm >= 0 && s.Committable >= 0 {
			s.Lag = p.hwm - s.Committable
		}
		if p.hwm >= 0 && s.Committed >= 0 {
			s.CommittedLag = max(p.hwm-s.Committed, 0)
		}
		st.MaxCommittedLag = max(st.MaxCommittedLag, s.CommittedLag)
		st.MaxHeadWait = max(st.MaxHeadWait, s.HeadWait)
		st.InFlight += int64(p.running)
		p.mu.Unlock()
		st.Backlog += int64(s.Backlog)
		if s.Paused {
			st.PausedPartitions++
		}
		st.Partitions = append(st.Partitions, s)
	}
}

// stats fills what the share engine knows: the handlers running.
func (s *shareMode) stats(st *Stats) { st.InFlight = s.running.Load() }
