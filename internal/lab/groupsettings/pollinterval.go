package groupsettings

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/lab/labrun"
	"github.com/kpar/kpar/internal/lab/workload"
)

// The pollinterval experiment's variants.
const (
	// VariantBlock: BlockRebalanceOnPoll, the rebalance waits until the
	// member's batch is processed and committed (the Java poll loop's shape:
	// it rejoins only from poll()).
	VariantBlock = "block-rebalance"
	// VariantDefault: kgo's default, the member rejoins from the client's
	// own goroutine while the handler is still busy.
	VariantDefault = "kgo-default"
)

var pollVariants = []string{VariantBlock, VariantDefault}

// perRecord is the members' processing time per record: slow enough that
// the group is mid-stream when the slow batch stalls.
const perRecord = 2 * time.Millisecond

// stallAfter is the seeded count of records the slow member processes
// before the batch that stalls: 5-12.5% of the input.
func stallAfter(seed int64, records int) int {
	lo, hi := records/20, records/8
	return lo + int(workload.Uint64(seed, streamStall)%uint64(hi-lo+1))
}

func runPollInterval(ctx context.Context, cfg Config) ([]PollCell, error) {
	return runCells(cfg, PollInterval, Repeat{
		Exact: []string{"stall_after"},
		Why:   "members join, fetch and process on wall-clock time and the group protocol moves partitions on heartbeats and timeouts, so the slow batch's size, the removal time and what is redone move between reruns; whether the slow member is removed and its commit refused does not.",
	}, func(v string) (PollCell, error) { return pollCell(ctx, cfg, v) })
}

// pollLedger records every processing of the pollinterval members.
type pollLedger struct {
	mu   sync.Mutex
	by   map[int64][]string // seq -> members that processed it, in order
	slow []int64            // the slow batch's records
}

func (l *pollLedger) add(member string, seq int64) {
	l.mu.Lock()
	l.by[seq] = append(l.by[seq], member)
	l.mu.Unlock()
}

func (l *pollLedger) distinct() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.by)
}

// slowState is what the slow member reports about its stall.
type slowState struct {
	started   chan struct{} // closed as the stall starts
	ended     chan struct{} // closed once its commit after the stall returned
	memberID  string
	batch     int
	commitErr error
}

// pollCell: members A (slow) and B consume a seeded input with
// RebalanceTimeout = cfg.RebalanceTimeout; after A processed the seeded
// count, the batch it is in ends in a stall of cfg.Stall before its commit;
// as the stall starts, member C joins, which starts the rebalance. The group
// is described every 100 ms to see when A's member id leaves it. The cell
// ends once every record was processed and the group committed the input.
func pollCell(ctx context.Context, cfg Config, variant string) (PollCell, error) {
	c := PollCell{Variant: variant, RebalanceTimeoutSeconds: cfg.RebalanceTimeout.Seconds(),
		StallSeconds: cfg.Stall.Seconds(), StallAfter: stallAfter(cfg.Seed, cfg.Records)}
	k, err := newKit(cfg)
	if err != nil {
		return c, err
	}
	defer k.close()
	topic, _, err := k.input(ctx, 2*cfg.Partitions, "poll", variant)
	if err != nil {
		return c, err
	}
	cctx, cancel := context.WithTimeout(ctx, cfg.CellTimeout)
	defer cancel()
	mctx, stopMembers := context.WithCancel(cctx)
	defer stopMembers()
	p := &pollRun{cfg: cfg, variant: variant, k: k, topic: topic, ctx: mctx, stallAfter: c.StallAfter,
		ledger: &pollLedger{by: map[int64][]string{}},
		slow:   &slowState{started: make(chan struct{}), ended: make(chan struct{})}}
	if err := errors.Join(p.start("a", p.slow), p.start("b", nil)); err != nil {
		return c, err
	}
	failure, err := p.observe(cctx, &c)
	if err != nil {
		return c, err
	}
	stopMembers()
	p.wg.Wait()
	if err := ctx.Err(); err != nil {
		return c, err
	}
	c.Failure = failure
	p.tally(&c)
	return c, nil
}

// pollRun is one pollinterval cell in progress: its members (they run until
// ctx ends), what they processed and the slow member's report.
type pollRun struct {
	cfg        Config
	variant    string
	k          *cellKit
	topic      string
	ctx        context.Context
	stallAfter int
	ledger     *pollLedger
	slow       *slowState
	wg         sync.WaitGroup
}

// start starts member name; s is the slow member's report (nil: a member
// that never stalls).
func (p *pollRun) start(name string, s *slowState) error {
	cfg := p.cfg
	opts := []kgo.Opt{kgo.RebalanceTimeout(cfg.RebalanceTimeout), kgo.HeartbeatInterval(max(100*time.Millisecond, cfg.RebalanceTimeout/10))}
	if p.variant == VariantBlock {
		opts = append(opts, kgo.BlockRebalanceOnPoll())
	}
	cl, err := p.k.consumer(p.topic, p.topic, opts...)
	if err != nil {
		return err
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer cl.Close()
		pollMember(p.ctx, cl, name, p.variant == VariantBlock, cfg, p.ledger, s, p.stallAfter)
	}()
	return nil
}

// observe waits for the stall, starts the third member, describes the group
// every 100 ms until the stall is over (when did the slow member's id
// leave?), then waits until the input is processed and committed. It
// returns why the cell failed, or "".
func (p *pollRun) observe(ctx context.Context, c *PollCell) (string, error) {
	select {
	case <-p.slow.started:
	case <-ctx.Done():
		return fmt.Sprintf("the slow member had not processed %d records after %s", c.StallAfter, p.cfg.CellTimeout), nil
	}
	joined := time.Now()
	if err := p.start("c", nil); err != nil {
		return "", err
	}
	watch := time.NewTicker(100 * time.Millisecond)
	defer watch.Stop()
	for ended := false; !ended; {
		select {
		case <-p.slow.ended:
			ended = true
			continue
		case <-ctx.Done():
			return fmt.Sprintf("the slow member's stall had not ended after %s", p.cfg.CellTimeout), nil
		case <-watch.C:
		}
		if !c.Removed && !p.inGroup(ctx, p.slow.memberID) {
			c.Removed, c.RemovedAfterSeconds = true, time.Since(joined).Seconds()
		}
	}
	c.SlowBatch = p.slow.batch
	if p.slow.commitErr != nil {
		c.SlowCommitError = p.slow.commitErr.Error()
	}
	if !labrun.Until(ctx, 100*time.Millisecond, func() bool {
		return p.ledger.distinct() == p.cfg.Records && p.k.committedThrough(ctx, p.topic, p.topic)
	}) {
		return fmt.Sprintf("the group had not processed and committed the input after %s", p.cfg.CellTimeout), nil
	}
	return "", nil
}

// inGroup reports whether member is in the group's description; a group
// that could not be described, or has no members listed, counts as in.
func (p *pollRun) inGroup(ctx context.Context, member string) bool {
	dg, err := p.k.adm.DescribeGroups(ctx, p.topic)
	if err != nil {
		return true
	}
	g := dg[p.topic]
	if g.Err != nil || len(g.Members) == 0 {
		return true
	}
	return slices.ContainsFunc(g.Members, func(m kadm.DescribedGroupMember) bool { return m.MemberID == member })
}

// tally counts the ledger into c once the members stopped: duplicates,
// losses and the slow batch's records another member redid.
func (p *pollRun) tally(c *PollCell) {
	l := p.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ms := range l.by {
		c.Duplicated += len(ms) - 1
	}
	c.Lost = p.cfg.Records - len(l.by)
	for _, s := range l.slow {
		if slices.ContainsFunc(l.by[s][1:], func(m string) bool { return m != "a" }) {
			c.SlowBatchRedone++
		}
	}
}

// pollMember is one member's loop: poll up to 50 records, process each,
// commit them, allow the rebalance. The slow member (s non-nil) stalls once,
// at the end of the batch that takes it to stallAfter records, before that
// batch's commit.
func pollMember(ctx context.Context, cl *kgo.Client, name string, block bool, cfg Config, l *pollLedger, s *slowState, stallAfter int) {
	n := 0
	for ctx.Err() == nil {
		fs := cl.PollRecords(ctx, 50)
		recs := fs.Records()
		for _, r := range recs {
			if seq := seqOf(r); seq >= 0 {
				l.add(name, seq)
			}
			n++
			time.Sleep(perRecord)
		}
		stalled := false
		if s != nil && n >= stallAfter && len(recs) > 0 {
			stalled = true
			s.memberID, _ = cl.GroupMetadata()
			s.batch = len(recs)
			l.mu.Lock()
			for _, r := range recs {
				l.slow = append(l.slow, seqOf(r))
			}
			l.mu.Unlock()
			close(s.started)
			select {
			case <-ctx.Done():
			case <-time.After(cfg.Stall):
			}
		}
		var err error
		if len(recs) > 0 {
			err = cl.CommitRecords(context.WithoutCancel(ctx), recs...)
		}
		if stalled {
			s.commitErr = err
			close(s.ended)
			s = nil
		}
		if block {
			cl.AllowRebalance()
		}
	}
}
