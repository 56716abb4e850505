package parallel

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// onRevoked runs before kgo gives partitions away: stop dispatching them,
// wait up to RevokeTimeout for their running handlers, commit them
// synchronously, then forget them. A handler still running after that sees
// its context cancelled and its result is never committed.
func (c *Consumer) onRevoked(_ context.Context, cl *kgo.Client, m map[string][]int32) {
	ps := c.detach(m)
	if len(ps) == 0 {
		return
	}
	c.waitIdle(ps, c.cfg.revokeTimeout)
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	if err := c.commits.commit(cctx, cl, true, ps); err != nil {
		c.cfg.logf("parallel: commit on revoke: %v", err)
	}
	cancel()
	c.drop(cl, ps)
	c.stats.revoked.Add(uint64(len(ps)))
}

// onLost drops partitions without committing: the group already considers
// this member gone, and they may belong to another member by now.
func (c *Consumer) onLost(_ context.Context, cl *kgo.Client, m map[string][]int32) {
	ps := c.detach(m)
	c.drop(cl, ps)
	c.stats.lost.Add(uint64(len(ps)))
}

// detach takes the named partitions out of service: no more dispatch, and
// workers stop between records.
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
				if p.running > 0 && p.idle == nil {
					p.idle = make(chan struct{})
				}
				p.mu.Unlock()
				ps = append(ps, p)
			}
		}
	}
	return ps
}

// waitIdle waits until ps have no worker running their records, the
// timeout passes, or the drain gave up on handlers altogether.
func (c *Consumer) waitIdle(ps []*partition, timeout time.Duration) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for _, p := range ps {
		p.mu.Lock()
		idle := p.idle
		p.mu.Unlock()
		if idle == nil {
			continue
		}
		select {
		case <-idle:
		case <-t.C:
			return
		case <-c.abandoned:
			return
		}
	}
}

// drop forgets ps: their room is freed, their fetch pauses lifted, their
// handlers' contexts cancelled; later results for them change nothing.
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
		c.held.Add(-int64(p.tr.Pending()))
		p.parked, p.lanes, p.open, p.ready = nil, nil, nil, nil
		p.outMu.Lock()
		p.outs, p.gone = nil, true
		p.outMu.Unlock()
		if p.paused {
			resume[p.tp.topic] = append(resume[p.tp.topic], p.tp.part)
		}
		p.mu.Unlock()
		p.cancel()
	}
	c.mu.Unlock()
	c.commits.forget(ps)
	if len(resume) > 0 {
		// Pauses outlive assignments in kgo; a partition that comes back
		// to us must fetch again.
		cl.ResumeFetchPartitions(resume)
	}
	c.nudge()
}

// drain ends Run: no more dispatch, wait up to DrainTimeout for the workers,
// stop the sweeper and report what still waits behind abandoned handlers,
// make the final commit, leave the group.
func (c *Consumer) drain(workers *sync.WaitGroup, stopSweep func()) {
	c.markClosing() // ctx cancelled: same as Close
	c.q.close()
	if _, ok := waitWithin(workers, c.cfg.drainTimeout); !ok {
		close(c.abandoned)
		c.hcancel()
		c.cfg.logf("parallel: drain timeout %v: %d handlers abandoned", c.cfg.drainTimeout, c.Stats().InFlight)
	}
	stopSweep()
	c.sweepOnce(true) // records done before a handler that never returned
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	if err := c.commits.commit(ctx, c.cl, true, c.live()); err != nil {
		c.cfg.logf("parallel: final commit: %v", err)
		c.fail(fmt.Errorf("%w: %w", ErrFinalCommit, err))
	}
	cancel()
	c.cl.Close() // leaves the group; onRevoked commits again, a no-op when nothing changed
	c.hcancel()
}
