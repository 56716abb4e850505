package parallel

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// committer owns what the group holds for each partition assignment: it
// snapshots trackers into commits (offset plus completion map in the
// metadata), remembers what the broker acknowledged so unchanged partitions
// are not committed again, and reads completion maps back on assignment.
type committer struct {
	c     *Consumer
	mu    sync.Mutex                // one snapshot and request at a time; guards last and carry
	last  map[*partition]commitMark // acknowledged (or restored) per assignment
	stats *counters
	logf  func(string, ...any)

	// NewTransform (txn.go): outputs of done records not yet committed,
	// per assignment. They go into every transaction until one commits
	// their partition's mark; a failed one leaves them here.
	carry map[*partition][]output
	ids   map[string][16]byte // topic IDs, for TxnOffsetCommit v6
	// addOffsets: the cluster wants AddOffsetsToTxn before
	// TxnOffsetCommit (no KIP-890 part 2); learnt from its first refusal.
	addOffsets bool
}

type commitMark struct {
	off  int64
	meta string
}

func (m *committer) init(c *Consumer) {
	m.last = map[*partition]commitMark{}
	m.carry = map[*partition][]output{}
	m.c, m.stats, m.logf = c, &c.stats, c.cfg.logf
}

// forget drops dropped partitions' marks.
func (m *committer) forget(ps []*partition) {
	m.mu.Lock()
	for _, p := range ps {
		delete(m.last, p)
		delete(m.carry, p)
	}
	m.mu.Unlock()
}

// commit commits the committable offset and completion map of each of ps
// that changed since its last acknowledged commit. sync uses kgo's
// CommitOffsetsSync, meant for revokes and the final commit.
//
// With NewTransform, a commit that carries outputs is a transaction
// (commitTxn); one with none is an ordinary commit, as atomic.
func (m *committer) commit(ctx context.Context, cl *kgo.Client, sync bool, ps []*partition) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	snaps, outs := m.snapshot(ps)
	switch {
	case len(snaps) == 0:
		return nil
	case len(outs) > 0:
		return m.commitTxn(ctx, cl, snaps, outs)
	}
	offs := map[string]map[int32]kgo.EpochOffset{}
	for _, s := range snaps {
		if offs[s.p.tp.topic] == nil {
			offs[s.p.tp.topic] = map[int32]kgo.EpochOffset{}
		}
		offs[s.p.tp.topic][s.p.tp.part] = kgo.EpochOffset{Epoch: -1, Offset: s.mark.off}
	}
	cctx := kgo.PreCommitFnContext(ctx, func(req *kmsg.OffsetCommitRequest) error {
		for i := range req.Topics {
			t := &req.Topics[i]
			for j := range t.Partitions {
				if s, ok := snaps[tp{t.Topic, t.Partitions[j].Partition}]; ok {
					meta := s.mark.meta
					t.Partitions[j].Metadata = &meta
				}
			}
		}
		return nil
	})
	start := time.Now()
	var rerr error
	done := make(chan struct{})
	onDone := func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		defer close(done)
		m.stats.commitLatency.observe(time.Since(start))
		if err != nil {
			rerr = err
			return
		}
		for _, t := range resp.Topics {
			for _, rp := range t.Partitions {
				s, ok := snaps[tp{t.Topic, rp.Partition}]
				if !ok {
					continue
				}
				if rp.ErrorCode != 0 {
					rerr = fmt.Errorf("commit %s[%d]: error code %d", t.Topic, rp.Partition, rp.ErrorCode)
					continue
				}
				m.last[s.p] = s.mark
				s.p.setCommitted(s.mark.off)
			}
		}
	}
	if sync {
		cl.CommitOffsetsSync(cctx, offs, onDone)
	} else {
		cl.CommitOffsets(cctx, offs, onDone)
	}
	<-done
	if rerr != nil {
		m.stats.commitErrors.Add(1)
	}
	return rerr
}

type snap struct {
	p    *partition
	mark commitMark
}

// snapshot takes each partition's committable offset and completion map
// that changed since its last acknowledged commit and, in the same lock
// round, the outputs of the records that became done (m.mu held): a
// transaction then holds the outputs of exactly the records its offsets
// and maps mark done.
func (m *committer) snapshot(ps []*partition) (map[tp]snap, []output) {
	snaps := map[tp]snap{}
	var outs []output
	for _, p := range ps {
		p.mu.Lock()
		mk := commitMark{p.tr.Committable(), p.tr.Metadata()}
		dead := p.dead
		ready := p.ready
		p.ready = nil
		p.mu.Unlock()
		if dead {
			delete(m.carry, p)
			continue
		}
		if len(ready) > 0 {
			m.carry[p] = append(m.carry[p], ready...)
		}
		if prev, ok := m.last[p]; mk.off < 0 || (ok && prev == mk && len(m.carry[p]) == 0) {
			continue
		}
		snaps[p.tp] = snap{p, mk}
		outs = append(outs, m.carry[p]...)
	}
	return snaps, outs
}

// restored is one partition's committed offset and metadata as fetched.
type restored struct {
	tp   tp
	off  int64
	meta string
}

// read extracts the committed offsets and metadata from an offset fetch
// response. OffsetFetch v10+ names topics by ID only: their names then come
// from a ListTopics call.
func (m *committer) read(ctx context.Context, cl *kgo.Client, resp *kmsg.OffsetFetchResponse) []restored {
	var (
		all  []restored
		byID map[[16]byte]string
		add  = func(t string, p int32, off int64, meta *string, code int16) {
			if code != 0 {
				return
			}
			r := restored{tp: tp{t, p}, off: off}
			if meta != nil {
				r.meta = *meta
			}
			all = append(all, r)
		}
	)
	for _, g := range resp.Groups {
		for _, t := range g.Topics {
			name := t.Topic
			if name == "" {
				if byID == nil {
					byID = m.topicIDs(ctx, cl)
				}
				if name = byID[t.TopicID]; name == "" {
					m.logf("parallel: offset fetch: unknown topic id %x; its completion map is ignored", t.TopicID)
					continue
				}
			}
			for _, p := range t.Partitions {
				add(name, p.Partition, p.Offset, p.Metadata, p.ErrorCode)
			}
		}
	}
	for _, t := range resp.Topics { // pre-v8 responses
		for _, p := range t.Partitions {
			add(t.Topic, p.Partition, p.Offset, p.Metadata, p.ErrorCode)
		}
	}
	return all
}

func (m *committer) topicIDs(ctx context.Context, cl *kgo.Client) map[[16]byte]string {
	out := map[[16]byte]string{}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tds, err := kadm.NewClient(cl).ListTopics(ctx)
	if err != nil {
		m.logf("parallel: list topics for offset fetch: %v", err)
		return out
	}
	for _, td := range tds {
		out[td.ID] = td.Topic
	}
	return out
}

// restore seeds p's tracker with what the group committed, and remembers it
// as acknowledged: an unchanged partition is not committed again.
func (m *committer) restore(p *partition, r restored) {
	if err := p.tr.Restore(r.off, r.meta); err != nil {
		m.logf("parallel: %s[%d]: %v", r.tp.topic, r.tp.part, err)
	}
	m.mu.Lock()
	m.last[p] = commitMark{r.off, r.meta}
	p.setCommitted(r.off)
	m.mu.Unlock()
}

// onFetched seeds each newly assigned partition with its committed offset
// and completion map, before kgo starts fetching it.
func (c *Consumer) onFetched(ctx context.Context, cl *kgo.Client, resp *kmsg.OffsetFetchResponse) error {
	all := c.commits.read(ctx, cl, resp)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range all {
		if c.parts[r.tp] != nil {
			// Still ours from before (cooperative): our state is newer
			// than the commit.
			continue
		}
		p := c.newPartition(r.tp)
		c.commits.restore(p, r)
		c.parts[r.tp] = p
	}
	return nil
}

// commitRetry is how long a back-to-back commit loop waits after a failed
// commit before it tries again: completions keep coming while a coordinator
// fails, and each would otherwise send a doomed request at once.
const commitRetry = 100 * time.Millisecond

// commitLoop commits every CommitInterval or, with CommitInterval(0), back
// to back: as soon as the previous commit returned and a record completed
// since. A commit waits for its response, so back-to-back commits are one
// request in flight at a time, each taking every completion since the
// last: the replay window after a kill is one commit round trip plus the
// completions not yet reported (see the package doc for measured figures).
func (c *Consumer) commitLoop(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	var tick <-chan time.Time
	if iv := c.cfg.commitInterval; iv > 0 {
		t := time.NewTicker(iv)
		defer t.Stop()
		tick = t.C
	}
	failed := false
	for {
		var (
			wake <-chan time.Time
			next <-chan struct{}
		)
		switch {
		case tick != nil:
			wake = tick
		case failed:
			// Retried without a new completion too: the work done is
			// still uncommitted.
			wake = time.After(commitRetry)
		default:
			next = c.completed
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-next:
		}
		cctx, cancel := context.WithTimeout(c.deliver.commitContext(ctx), 10*time.Second)
		err := c.commits.commit(cctx, c.cl, false, c.live())
		cancel()
		failed = err != nil
		if err != nil && ctx.Err() == nil {
			c.cfg.logf("parallel: commit: %v", err)
		}
	}
}
