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

var pollRepeat = Repeat{
	Exact: []string{"stall_after"},
	Why:   "members join, fetch and process on wall-clock time and the group protocol moves partitions on heartbeats and timeouts, so the slow batch's size, the removal time and what is redone move between reruns; whether the slow member is removed and its commit refused does not.",
}

// pollCell: members A (slow) and B consume a seeded input with
// RebalanceTimeout = cfg.RebalanceTimeout; after A processed the seeded
// count, the batch it is in ends in a stall of cfg.Stall before its commit;
// as the stall starts, member C joins, which starts the rebalance. The group
// is described every 100 ms to see when A's member id leaves it. The cell
// ends once every record was processed and the group committed the input.
func pollCell(ctx context.Context, k *cellKit, variant string) (PollCell, error) {
	cfg := k.cfg
	c := PollCell{Variant: variant, RebalanceTimeoutSeconds: cfg.RebalanceTimeout.Seconds(),
		StallSeconds: cfg.Stall.Seconds(), StallAfter: stallAfter(cfg.Seed, cfg.Records)}
	topic, err := k.input(ctx, 2*cfg.Partitions, "poll", variant)
	if err != nil {
		return c, err
	}
	cctx, cancel := context.WithTimeout(ctx, cfg.CellTimeout)
	defer cancel()
	mctx, stopMembers := context.WithCancel(cctx)
	defer stopMembers()
	p := &pollRun{k: k, variant: variant, topic: topic, ctx: mctx, stallAfter: c.StallAfter, by: map[int64][]string{},
		started: make(chan struct{}), ended: make(chan struct{})}
	if err := errors.Join(p.start("a"), p.start("b")); err != nil {
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
	k          *cellKit
	variant    string
	topic      string
	ctx        context.Context
	stallAfter int
	wg         sync.WaitGroup

	mu   sync.Mutex
	by   map[int64][]string // seq -> members that processed it, in order
	slow []int64            // the slow batch's records

	// The slow member's report: started is closed as its stall starts,
	// ended once its commit after the stall returned.
	started, ended chan struct{}
	memberID       string
	batch          int
	commitErr      error
}

// start starts member name; member "a" is the slow one.
func (p *pollRun) start(name string) error {
	cfg := p.k.cfg
	opts := []kgo.Opt{kgo.RebalanceTimeout(cfg.RebalanceTimeout), kgo.HeartbeatInterval(max(100*time.Millisecond, cfg.RebalanceTimeout/10))}
	if p.variant == VariantBlock {
		opts = append(opts, kgo.BlockRebalanceOnPoll())
	}
	cl, err := p.k.consumer(p.topic, p.topic, opts...)
	if err != nil {
		return err
	}
	p.wg.Go(func() {
		defer cl.Close()
		p.member(cl, name)
	})
	return nil
}

// observe waits for the stall, starts the third member, describes the group
// every 100 ms until the stall is over (when did the slow member's id
// leave?), then waits until the input is processed and committed. It
// returns why the cell failed, or "".
func (p *pollRun) observe(ctx context.Context, c *PollCell) (string, error) {
	select {
	case <-p.started:
	case <-ctx.Done():
		return fmt.Sprintf("the slow member had not processed %d records after %s", c.StallAfter, p.k.cfg.CellTimeout), nil
	}
	joined := time.Now()
	if err := p.start("c"); err != nil {
		return "", err
	}
	watch := time.NewTicker(100 * time.Millisecond)
	defer watch.Stop()
	for ended := false; !ended; {
		select {
		case <-p.ended:
			ended = true
			continue
		case <-ctx.Done():
			return fmt.Sprintf("the slow member's stall had not ended after %s", p.k.cfg.CellTimeout), nil
		case <-watch.C:
		}
		if !c.Removed && !p.inGroup(ctx, p.memberID) {
			c.Removed, c.RemovedAfterSeconds = true, time.Since(joined).Seconds()
		}
	}
	c.SlowBatch = p.batch
	if p.commitErr != nil {
		c.SlowCommitError = p.commitErr.Error()
	}
	if !labrun.Until(ctx, 100*time.Millisecond, func() bool {
		p.mu.Lock()
		n := len(p.by)
		p.mu.Unlock()
		return n == p.k.cfg.Records && p.k.committedThrough(ctx, p.topic, p.topic)
	}) {
		return fmt.Sprintf("the group had not processed and committed the input after %s", p.k.cfg.CellTimeout), nil
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
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ms := range p.by {
		c.Duplicated += len(ms) - 1
	}
	c.Lost = p.k.cfg.Records - len(p.by)
	for _, s := range p.slow {
		if slices.ContainsFunc(p.by[s][1:], func(m string) bool { return m != "a" }) {
			c.SlowBatchRedone++
		}
	}
}

// member is one member's loop: poll up to 50 records, process each, commit
// them, allow the rebalance. The slow member stalls once, at the end of the
// batch that takes it to stallAfter records, before that batch's commit.
func (p *pollRun) member(cl *kgo.Client, name string) {
	slow, n := name == "a", 0
	for p.ctx.Err() == nil {
		recs := cl.PollRecords(p.ctx, 50).Records()
		for _, r := range recs {
			if seq := seqOf(r); seq >= 0 {
				p.mu.Lock()
				p.by[seq] = append(p.by[seq], name)
				p.mu.Unlock()
			}
			n++
			time.Sleep(perRecord)
		}
		stalled := slow && n >= p.stallAfter && len(recs) > 0
		if stalled {
			p.memberID, _ = cl.GroupMetadata()
			p.batch = len(recs)
			p.mu.Lock()
			for _, r := range recs {
				p.slow = append(p.slow, seqOf(r))
			}
			p.mu.Unlock()
			close(p.started)
			_ = workload.Sleep(p.ctx, p.k.cfg.Stall)
		}
		var err error
		if len(recs) > 0 {
			err = cl.CommitRecords(context.WithoutCancel(p.ctx), recs...)
		}
		if stalled {
			p.commitErr, slow = err, false
			close(p.ended)
		}
		if p.variant == VariantBlock {
			cl.AllowRebalance()
		}
	}
}
