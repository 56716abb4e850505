package settings

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

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
	var out []PollCell
	for _, v := range pollVariants {
		cfg.cellStart(PollInterval, v)
		start := time.Now()
		c, err := pollCell(ctx, cfg, v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", v, err)
		}
		c.Seconds = time.Since(start).Seconds()
		c.Rerun = cfg.rerun(PollInterval)
		c.Exact = []string{"stall_after"}
		c.Why = "members join, fetch and process on wall-clock time and the group protocol moves partitions on heartbeats and timeouts, so the slow batch's size, the removal time and what is redone move between reruns; whether the slow member is removed and its commit refused does not."
		out = append(out, c)
		cfg.cellDone(c.Line())
	}
	return out, nil
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
	k, err := newKit(cfg.Brokers, cfg.clientOpts...)
	if err != nil {
		return c, err
	}
	defer k.close()
	topic := name(cfg.Seed, "poll", variant)
	if _, err := k.input(ctx, topic, 2*cfg.Partitions, cfg.Seed+streamRecords, cfg.Records); err != nil {
		return c, err
	}
	ends, err := k.ends(ctx, topic)
	if err != nil {
		return c, err
	}
	group := k.group(topic)
	cctx, cancel := context.WithTimeout(ctx, cfg.CellTimeout)
	defer cancel()
	mctx, stopMembers := context.WithCancel(cctx)
	defer stopMembers()

	ledger := &pollLedger{by: map[int64][]string{}}
	slow := &slowState{started: make(chan struct{}), ended: make(chan struct{})}
	var wg sync.WaitGroup
	var startErr error
	start := func(name string, s *slowState) {
		opts := []kgo.Opt{kgo.SeedBrokers(cfg.Brokers...), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(),
			kgo.RebalanceTimeout(cfg.RebalanceTimeout),
			kgo.HeartbeatInterval(max(100*time.Millisecond, cfg.RebalanceTimeout/10)),
			kgo.FetchMaxWait(200 * time.Millisecond)}
		if variant == VariantBlock {
			opts = append(opts, kgo.BlockRebalanceOnPoll())
		}
		cl, err := kgo.NewClient(append(opts, cfg.clientOpts...)...)
		if err != nil {
			startErr = err
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cl.Close()
			pollMember(mctx, cl, name, variant == VariantBlock, cfg, ledger, s, c.StallAfter)
		}()
	}
	start("a", slow)
	start("b", nil)
	if startErr != nil {
		return c, startErr
	}
	finish := func(failure string) (PollCell, error) {
		stopMembers()
		wg.Wait()
		if err := ctx.Err(); err != nil {
			return c, err
		}
		c.Failure = failure
		ledger.mu.Lock()
		defer ledger.mu.Unlock()
		for _, ms := range ledger.by {
			c.Duplicated += len(ms) - 1
		}
		c.Lost = cfg.Records - len(ledger.by)
		for _, s := range ledger.slow {
			if slices.ContainsFunc(ledger.by[s][1:], func(m string) bool { return m != "a" }) {
				c.SlowBatchRedone++
			}
		}
		return c, nil
	}
	select {
	case <-slow.started:
	case <-cctx.Done():
		return finish(fmt.Sprintf("the slow member had not processed %d records after %s", c.StallAfter, cfg.CellTimeout))
	}
	joined := time.Now()
	start("c", nil)
	if startErr != nil {
		return c, startErr
	}
	// Watch the group until the stall is over.
	watch := time.NewTicker(100 * time.Millisecond)
	defer watch.Stop()
watching:
	for {
		select {
		case <-slow.ended:
			break watching
		case <-cctx.Done():
			return finish(fmt.Sprintf("the slow member's stall had not ended after %s", cfg.CellTimeout))
		case <-watch.C:
		}
		if c.Removed {
			continue
		}
		dg, err := k.adm.DescribeGroups(cctx, group)
		if err != nil {
			continue
		}
		g := dg[group]
		if g.Err != nil || len(g.Members) == 0 {
			continue
		}
		if !slices.ContainsFunc(g.Members, func(m kadm.DescribedGroupMember) bool { return m.MemberID == slow.memberID }) {
			c.Removed, c.RemovedAfterSeconds = true, time.Since(joined).Seconds()
		}
	}
	c.SlowBatch = slow.batch
	if slow.commitErr != nil {
		c.SlowCommitError = slow.commitErr.Error()
	}
	if !waitFor(cctx, func() bool {
		return ledger.distinct() == cfg.Records && k.committedThrough(cctx, group, topic, ends)
	}) {
		return finish(fmt.Sprintf("the group had not processed and committed the input after %s", cfg.CellTimeout))
	}
	return finish("")
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
