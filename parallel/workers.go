package parallel

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

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
	at      attempt      // the worker's alone: its observed attempt, one record's after another's (observe.go)
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

// startWorkers starts MaxConcurrency workers, one per slot; they return
// once the queue is closed and empty.
func (c *Consumer) startWorkers() *sync.WaitGroup {
	c.slots = make([]workerSlot, c.cfg.maxConcurrency)
	var wg sync.WaitGroup
	for i := range c.slots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.worker(&c.slots[i])
		}()
	}
	return &wg
}

// waitWithin waits up to d for wg; done closes once wg is done, after the
// limit too.
func waitWithin(wg *sync.WaitGroup, d time.Duration) (done <-chan struct{}, ok bool) {
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
		return ch, true
	case <-t.C:
		return ch, false
	}
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
		if c.held.Load() < int64(c.cfg.maxBuffered) {
			c.nudge() // room below wakeRoom, left by completions that did not wake the loop
		}
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
			c.nudgeDone()
		}
	}
}
