package parallel

import (
	"context"
	"errors"
	"math"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

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
//
// The loop never sleeps: it waits on c.space, which every completion and
// every dropped partition signals.
func (c *Consumer) pollLoop(ctx context.Context) {
	var (
		ready []runnable
		queue []*partition // partitions with a backlog, round-robin
	)
	for ctx.Err() == nil {
		queue = c.admitRound(queue, &ready)
		if len(queue) > 0 && c.held.Load() >= int64(c.cfg.maxBuffered) {
			select { // full: wait for a completion
			case <-c.space:
			case <-ctx.Done():
			}
			continue
		}
		fs := c.poll(ctx, len(queue) > 0)
		if fs.IsClientClosed() {
			return
		}
		fs.EachError(func(t string, p int32, err error) {
			// refused first: c.group() reads a client option (allocating),
			// and every poll cut short by a completion ends in an error.
			if refused(err) && c.failRefused(c.group(), t, err) {
				return
			}
			if ctx.Err() == nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				c.cfg.logf("parallel: fetch %s[%d]: %v", t, p, err)
			}
		})
		fs.EachPartition(func(fp kgo.FetchTopicPartition) {
			if len(fp.Records) == 0 {
				return
			}
			p := c.partitionFor(fp.Topic, fp.Partition)
			c.park(p, fp.HighWatermark, fp.Records)
			if !slices.Contains(queue, p) {
				queue = append(queue, p)
			}
		})
		c.cl.AllowRebalance()
	}
}

// poll fetches. With a backlog waiting for completion-map room (room is
// left, or the caller would not poll), a completion can make that room:
// the poll then also returns at the next completion, without records.
func (c *Consumer) poll(ctx context.Context, backlog bool) kgo.Fetches {
	if !backlog {
		return c.cl.PollFetches(ctx)
	}
	pctx, cancel := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-c.space:
			cancel()
		case <-pctx.Done():
		}
	}()
	fs := c.cl.PollFetches(pctx)
	cancel()
	// Wait for the watcher: once the loop goes on, a signal on c.space
	// must reach the loop, not a watcher that is still running.
	<-watched
	return fs
}

// admitRound admits backlog records into the free room and returns the
// partitions still holding a backlog. Each pass gives every backlogged
// partition an equal share of the room, first only up to its fair share of
// MaxBuffered (MaxBuffered / owned partitions, at most
// MaxBufferedPerPartition): a partition whose records came first must not
// take all the room, or only its keys get workers. Room that no other
// partition can use then goes beyond fair shares (MaxBufferedPerPartition
// is the pause threshold, not an admission cap).
func (c *Consumer) admitRound(queue []*partition, ready *[]runnable) []*partition {
	c.mu.Lock()
	fair := c.cfg.maxBuffered / max(1, len(c.parts))
	c.mu.Unlock()
	fair = max(1, min(fair, c.cfg.maxPerPart))
	for len(queue) > 0 {
		room := int64(c.cfg.maxBuffered) - c.held.Load()
		if room <= 0 {
			break
		}
		share := int(max(room/int64(len(queue)), 1))
		moved := 0
		kept := queue[:0]
		for _, p := range queue {
			p.mu.Lock()
			moved += c.admitFrom(p, min(share, fair-p.tr.Pending()), ready)
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

// partitionFor returns the live state of a partition, creating one without a
// restored map if the offset fetch callback did not (it always should).
func (c *Consumer) partitionFor(topic string, part int32) *partition {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := tp{topic, part}
	if p := c.parts[k]; p != nil {
		return p
	}
	p := c.newPartition(k)
	c.parts[k] = p
	return p
}

// park adds one poll's records of p to its backlog; admitRound admits them.
func (c *Consumer) park(p *partition, hwm int64, rs []*kgo.Record) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hwm = hwm
	if p.dead {
		return
	}
	if len(rs) > 0 {
		p.markPoll(rs[0].Offset, time.Now())
	}
	if len(p.parked) == 0 {
		p.parked = rs // the poll's slice is ours now: no copy
	} else {
		p.parked = append(p.parked, rs...)
	}
	c.maybePause(p)
}

// admitFrom admits up to max parked records of p within the global room
// (MaxBuffered) and the completion map budget; it returns how many it took
// from the backlog (p.mu held).
func (c *Consumer) admitFrom(p *partition, max int, ready *[]runnable) int {
	want := min(max, len(p.parked))
	if want <= 0 || p.dead {
		return 0
	}
	// Reserve room for want records at once; give back what is unused.
	var got int64
	for {
		held := c.held.Load()
		got = min(int64(want), int64(c.cfg.maxBuffered)-held)
		if got <= 0 {
			return 0
		}
		if c.held.CompareAndSwap(held, held+got) {
			break
		}
	}
	n, kept := 0, 0
	limit := p.tr.AddableThrough(p.parked[0].Offset) // the map budget, once per round
	for n < int(got) && p.parked[n].Offset <= limit {
		if c.admit(p, p.parked[n], ready) {
			kept++
		}
		n++
	}
	// The admitted records leave the backlog's array in one clear: a nil
	// stored per record cost a write barrier each while the GC marks.
	p.mapWait = n < int(got) // stopped at limit: a completion may make map room
	clear(p.parked[:n])
	p.parked = p.parked[n:]
	if len(p.parked) == 0 {
		p.parked = nil // let the fetch's record slice go
	}
	c.held.Add(int64(kept) - got)
	// Records taken but not held (done before a restart, per the commit
	// metadata) leave the partition without a completion to resume it: a
	// backlog of only those, parked when nothing else was held, would keep
	// the partition paused for good.
	c.maybeResume(p)
	if p.open != nil { // queue the shared lane gathered by this round
		p.open.queued.Store(true)
		*ready = append(*ready, p.open)
		p.open = nil
	}
	return n
}

// admit registers r with the tracker and hands it to its lane (p.mu held).
// It reports whether r is held; false when r needs no processing.
func (c *Consumer) admit(p *partition, r *kgo.Record, ready *[]runnable) bool {
	skip, err := p.tr.Add(r.Offset)
	if err != nil || skip {
		// err: a redelivered offset, already tracked. skip: completed
		// before the last restart, per the commit metadata.
		if skip {
			c.stats.skipped.Add(1)
		}
		return false
	}
	switch {
	case c.cfg.retryTopic != "" && r.Topic == c.cfg.retryTopic:
		// Retry records have lost their order already; each waits for
		// its due time on a timer, never holding up its partition.
		if due := headerTime(r, HeaderDue); !due.IsZero() {
			if d := time.Until(due); d > 0 {
				l := &sharedLane{p: p, recs: []*kgo.Record{r}}
				l.queued.Store(true)
				time.AfterFunc(d, func() { c.q.put(l) })
				return true
			}
		}
		p.addShared(r)
	case c.cfg.order == OrderPartition:
		p.addOrdered(nil, r, ready)
	case c.cfg.order == OrderKey && r.Key != nil:
		p.addOrdered(r.Key, r, ready)
	default:
		p.addShared(r)
	}
	return true
}

// maybePause pauses fetching p when it holds MaxBufferedPerPartition
// records, admitted or in its backlog (p.mu held).
func (c *Consumer) maybePause(p *partition) {
	if !p.paused && p.tr.Pending()+len(p.parked) >= c.cfg.maxPerPart {
		p.paused = true
		c.cl.PauseFetchPartitions(map[string][]int32{p.tp.topic: {p.tp.part}})
	}
}

// maybeResume resumes p once it has drained to half (p.mu held). Every
// place that lowers what p holds calls it: a completion (markDone) and an
// admission that skipped records (admitFrom); a dropped partition is
// resumed by drop.
func (c *Consumer) maybeResume(p *partition) {
	if p.paused && p.tr.Pending()+len(p.parked) <= c.cfg.maxPerPart/2 {
		p.paused = false
		c.cl.ResumeFetchPartitions(map[string][]int32{p.tp.topic: {p.tp.part}})
	}
}
