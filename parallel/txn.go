package parallel

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TransformHandler processes one record and returns the records to produce
// for it (none is fine). Outputs of a failed attempt are discarded. The
// library produces the outputs of a record in the transaction that commits
// the record, in the order returned; set each output's Topic. Do not
// produce with Client() yourself: a transactional client refuses records
// outside a transaction.
type TransformHandler func(ctx context.Context, r *kgo.Record) ([]*kgo.Record, error)

// NewTransform builds an exactly-once consume-transform-produce consumer:
// the same concurrency, ordering, retries, retry and dead-letter topics as
// New, but a handler's outputs are produced in a Kafka transaction together
// with the commit of the offsets and completion map that mark their input
// done. A read_committed reader of the outputs sees each input's outputs
// exactly once, across crashes, kills, rebalances and restarts. ClientOpts
// must set kgo.TransactionalID (ErrNoTransactionalID otherwise); the input
// is read read_committed unless ClientOpts says otherwise.
//
// How it works: a handler's outputs wait in memory, with their record,
// until the record is done; each commit (see CommitInterval: back to back
// by default) takes, in one lock round per partition, the committable
// offset, the completion map and the outputs of exactly the records that
// became done since the last commit, and writes them in one transaction:
// produce the outputs, commit the offsets and maps (TxnOffsetCommit, fenced
// by the group generation, KIP-447), end the transaction. Handlers keep
// running meanwhile; nothing waits for a commit but the outputs. A commit
// with no outputs is an ordinary offset commit. Records retried or
// dead-lettered are outputs too: the retry and dead-letter records are in
// the transaction that commits their source.
//
// What is exactly once: the records on Kafka (outputs, retry and dead-letter
// records) and the commits. What is not: anything else a handler does. A
// handler may run more than once for a record (crash, rebalance, retries),
// as with New; only the outputs of the run whose commit went through are
// ever visible.
//
// Choices and their costs:
//   - The commit interval: a transaction costs a few round trips (produce,
//     TxnOffsetCommit, EndTxn) and a marker written to every output
//     partition, whatever it carries. Back to back (the default), outputs
//     become visible to read_committed readers one transaction after their
//     record finished and transactions are as large as the completions of
//     one transaction's time; a longer CommitInterval makes fewer, larger
//     transactions (fewer markers, more throughput at high rates) and later
//     visibility, and holds more outputs in memory. A crash costs
//     re-processing, never duplicate outputs, at any interval.
//   - A fenced producer (another consumer started with the same
//     TransactionalID, or the transaction timed out on the broker): the
//     transaction is aborted, nothing of it is visible, and Run stops with
//     an error wrapping ErrFenced. Give every consumer of the group its own
//     TransactionalID, stable across its restarts (a pod name, a static
//     instance ID): a restarted consumer with its ID aborts its dead
//     predecessor's open transaction at once, instead of after the
//     transaction timeout, during which its partitions' offsets cannot be
//     read by anyone (the broker holds unstable offsets back).
//   - A rebalance: a revoked partition's done records are committed, with
//     their outputs, in a transaction before the partition is released
//     (within RevokeTimeout, as in New); a lost partition's outputs are
//     dropped uncommitted, and its next owner processes its records again.
//     A transaction that races a rebalance is refused by the group
//     (ILLEGAL_GENERATION and the like) and aborted; the outputs of
//     partitions still owned go into the next one.
//   - A failed transaction (an output refused, a commit refused, an abort):
//     aborted, logged, and its outputs retried in the next one; the handlers
//     are not called again. An outcome the broker did not confirm (EndTxn
//     failed) stops Run: guessing could duplicate or lose outputs, and a
//     restart resumes from whatever the broker decided.
//   - An output too large for the producer or the topic (MESSAGE_TOO_LARGE,
//     RECORD_LIST_TOO_LARGE): its input is a failed record: with a
//     DeadLetterTopic it is dead-lettered (in the transaction, in place of
//     its outputs), without one Run stops with ErrRecordFailed and the input
//     is not committed.
//
// Outputs wait in memory from their record's completion to the commit of
// their transaction; records done free MaxBuffered room at once, so a
// cluster that refuses transactions for long grows that memory.
func NewTransform(handler TransformHandler, opts ...Opt) (*Consumer, error) {
	if handler == nil {
		return nil, ErrNoHandler
	}
	h := func(ctx context.Context, r *kgo.Record) error {
		outs, err := handler(ctx, r)
		if err == nil && len(outs) > 0 {
			stash(ctx, r, outs...)
		}
		return err
	}
	return newConsumer(h, modeTransform, opts)
}

var (
	// ErrNoTransactionalID: NewTransform's ClientOpts set no
	// kgo.TransactionalID.
	ErrNoTransactionalID = errors.New("parallel: NewTransform needs kgo.TransactionalID in ClientOpts")
	// ErrFenced: the transactional producer was fenced, by a consumer
	// started with the same TransactionalID or by the transaction timing
	// out on the broker. The open transaction is aborted.
	//
	// A takeover that lands while a commit is on its way reaches the
	// consumer as INVALID_TXN_STATE, not PRODUCER_FENCED: the new
	// producer's InitProducerID aborted the open transaction and bumped
	// the epoch by one, and a coordinator with KIP-890's epoch bump per
	// transaction takes an EndTxn one epoch behind, with no transaction
	// open, for a retry of the last end; a commit asked where that end was
	// an abort is refused as INVALID_TXN_STATE. The outcome is known (the
	// transaction was aborted, by someone else), so it is reported as
	// ErrFenced wrapping INVALID_TXN_STATE, not as ErrTxnUnconfirmed.
	ErrFenced = errors.New("parallel: transactional producer fenced")
	// ErrTxnUnconfirmed: a transaction's end was not confirmed by the
	// broker, so whether its outputs and offsets were committed is unknown.
	ErrTxnUnconfirmed = errors.New("parallel: transaction outcome unconfirmed")
)

// initTxn registers the transactional ID before any record is fetched. A
// predecessor with the same ID that died with a transaction open is fenced
// and its transaction aborted now; until then the broker holds back the
// group's offsets of the partitions it wrote (unstable), so without this
// the first fetch waited out the transaction timeout, while the first
// transaction, which would have aborted it, waited for that fetch.
//
// A cluster that cannot answer yet (a broker restarting, the transaction
// coordinator moving) is waited for, retrying with a backoff up to
// initTxnBackoff, as long as ctx lives: only a refusal no retry cures
// (fenced, not authorized) stops Run.
func (c *Consumer) initTxn(ctx context.Context) {
	wait := 100 * time.Millisecond
	for {
		_, _, err := c.cl.ProducerID(ctx)
		switch {
		case err == nil || ctx.Err() != nil:
			return
		case producerRefused(err), errors.Is(err, kerr.ClusterAuthorizationFailed):
			c.fail(fmt.Errorf("parallel: transactional producer: %w", err))
			return
		}
		c.cfg.logf("parallel: transactional producer: %v; retrying in %v", err, wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, initTxnBackoff)
	}
}

// initTxnBackoff is the longest wait between two tries to register the
// transactional ID.
const initTxnBackoff = 2 * time.Second

// output is one done record's outputs, with the context of the handler
// call that returned them (for a TxnObserver).
type output struct {
	in   *kgo.Record
	outs []*kgo.Record
	ctx  context.Context
}

// partKey is the context key of the partition a handler runs for.
type partKey struct{}

// stash keeps outs as r's outputs until r is marked done. ctx is (derived
// from) r's partition's context.
func stash(ctx context.Context, r *kgo.Record, outs ...*kgo.Record) {
	p, _ := ctx.Value(partKey{}).(*partition)
	if p == nil {
		return
	}
	p.outMu.Lock()
	defer p.outMu.Unlock()
	if p.gone {
		return // the partition was dropped: its next owner redoes r
	}
	if p.outs == nil {
		p.outs = map[*kgo.Record]output{}
	}
	o := p.outs[r]
	p.outs[r] = output{r, append(o.outs, outs...), ctx}
}

// takeOutputs moves the outputs of recs, just marked done, to the
// partition's ready list (p.mu held).
func (p *partition) takeOutputs(recs []*kgo.Record) {
	p.outMu.Lock()
	defer p.outMu.Unlock()
	for _, r := range recs {
		if o, ok := p.outs[r]; ok {
			delete(p.outs, r)
			p.ready = append(p.ready, o)
		}
	}
}

// commitTxn writes outs and commits snaps in one transaction (m.mu held).
// On success the marks are acknowledged and the partitions' carried
// outputs dropped; on failure everything stays carried for the next try.
func (m *committer) commitTxn(ctx context.Context, cl *kgo.Client, snaps map[tp]snap, outs []output) error {
	// A fenced or unconfirmed producer is dead for good: a transaction
	// begun on it (the final commit, a revoke) could only fail, and would
	// read as an ordinary abort to an observer.
	if err := m.c.fatal(); errors.Is(err, ErrFenced) || errors.Is(err, ErrTxnUnconfirmed) {
		return err
	}
	var (
		t *Txn
		o TxnObserver
	)
	if m.c.obs != nil {
		ctx, t, o = m.txnStart(ctx, cl, snaps, outs)
	}
	start := time.Now()
	err := m.txn(ctx, cl, snaps, outs)
	m.stats.commitLatency.observe(time.Since(start))
	if t != nil {
		txnEnd(ctx, o, t, err)
	}
	if err != nil {
		m.stats.commitErrors.Add(1)
		return err
	}
	for _, s := range snaps {
		m.last[s.p] = s.mark
		s.p.setCommitted(s.mark.off)
		delete(m.carry, s.p)
	}
	return nil
}

func (m *committer) txn(ctx context.Context, cl *kgo.Client, snaps map[tp]snap, outs []output) error {
	if err := cl.BeginTransaction(); err != nil {
		return m.fatal(err)
	}
	var (
		mu       sync.Mutex
		rejected = map[*kgo.Record]error{} // input -> why its output was refused
		failed   error
	)
	for _, o := range outs {
		in := o.in
		for _, r := range o.outs {
			// kgo keeps the first produce's context in the record: an
			// output retried after an aborted transaction must not
			// carry that transaction's, long cancelled.
			r.Context = ctx
			cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
				if err == nil {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if errors.Is(err, kerr.MessageTooLarge) || errors.Is(err, kerr.RecordListTooLarge) {
					rejected[in] = err
				} else if failed == nil {
					failed = err
				}
			})
		}
	}
	err := cl.Flush(ctx)
	mu.Lock()
	if err == nil {
		err = failed
	}
	if err == nil && len(rejected) > 0 {
		err = m.reject(rejected)
	}
	mu.Unlock()
	if err == nil {
		err = m.commitOffsets(ctx, cl, snaps)
	}
	// The abort gets its own time: err may be the commit's deadline.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err != nil {
		aerr := cl.AbortBufferedRecords(actx) // only if Flush gave up
		if aerr == nil {
			aerr = cl.EndTransaction(actx, kgo.TryAbort)
		}
		if aerr != nil {
			return m.fatal(fmt.Errorf("%w: abort after %w: %w", ErrTxnUnconfirmed, err, aerr))
		}
		return m.fatal(err)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		_ = cl.EndTransaction(actx, kgo.TryAbort)
		if errors.Is(err, kerr.InvalidTxnState) {
			return m.fatal(fmt.Errorf("%w: the coordinator had aborted the transaction it was asked to commit: %w", ErrFenced, err))
		}
		// The commit may or may not have happened on the broker.
		return m.fatal(fmt.Errorf("%w: %w", ErrTxnUnconfirmed, err))
	}
	return nil
}

// reject turns inputs whose outputs the producer or the broker refused for
// their size into failed records: dead-lettered in place of their outputs,
// or, without a dead-letter topic, a stop (mu held).
func (m *committer) reject(rejected map[*kgo.Record]error) error {
	c := m.c
	if c.cfg.deadLetter == "" {
		for in, err := range rejected {
			err = fmt.Errorf("%w: %s[%d]@%d: output refused: %w", ErrRecordFailed, in.Topic, in.Partition, in.Offset, err)
			c.fail(err)
			return err
		}
	}
	now := time.Now()
	for p, carried := range m.carry {
		for i, o := range carried {
			if err, ok := rejected[o.in]; ok {
				dl := c.derived(o.in, c.cfg.deadLetter, failure{err: Permanent(err), attempts: 1, first: now, last: now})
				m.carry[p][i].outs = []*kgo.Record{dl}
				c.stats.deadLettered.Add(1)
			}
		}
	}
	return fmt.Errorf("parallel: %d records' outputs refused for size: dead-lettered in the next transaction", len(rejected))
}

// producerRefused: the broker refuses this transactional producer for good
// (another took its ID, or it may not use it).
func producerRefused(err error) bool {
	return errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch) ||
		errors.Is(err, kerr.TransactionalIDAuthorizationFailed)
}

// fatal stops the consumer on errors no retry can cure (a fenced or failed
// producer, an unconfirmed end) and returns err either way.
func (m *committer) fatal(err error) error {
	switch {
	case errors.Is(err, ErrFenced):
		m.c.fail(err)
	case producerRefused(err):
		err = fmt.Errorf("%w: %w", ErrFenced, err)
		m.c.fail(err)
	case errors.Is(err, ErrTxnUnconfirmed), errors.Is(err, ErrRecordFailed):
		m.c.fail(err)
	}
	return err
}

// commitOffsets commits snaps' offsets and completion maps into the open
// transaction with the group's generation (KIP-447 fencing). kgo commits
// transactional offsets only through GroupTransactSession, which commits
// what was polled, not what is done, and rewinds fetching on abort; so the
// request is built here.
func (m *committer) commitOffsets(ctx context.Context, cl *kgo.Client, snaps map[tp]snap) error {
	id, epoch, err := cl.ProducerID(ctx)
	if err != nil {
		return err
	}
	txnID, _ := cl.OptValue(kgo.TransactionalID).(string)
	group, _ := cl.OptValue(kgo.ConsumerGroup).(string)
	member, gen := cl.GroupMetadata()
	if m.addOffsets {
		add := kmsg.NewPtrAddOffsetsToTxnRequest()
		add.TransactionalID, add.ProducerID, add.ProducerEpoch, add.Group = txnID, id, epoch, group
		resp, err := add.RequestWith(ctx, cl)
		if err == nil {
			err = kerr.ErrorForCode(resp.ErrorCode)
		}
		if err != nil {
			return fmt.Errorf("add offsets to transaction: %w", err)
		}
	}
	req := kmsg.NewPtrTxnOffsetCommitRequest()
	req.TransactionalID, req.Group, req.ProducerID, req.ProducerEpoch = txnID, group, id, epoch
	req.Generation, req.MemberID = gen, member
	if inst, ok := cl.OptValue(kgo.InstanceID).(string); ok && inst != "" {
		req.InstanceID = &inst
	}
	byTopic := map[string]int{}
	names := map[[16]byte]string{}
	for k, s := range snaps {
		i, ok := byTopic[k.topic]
		if !ok {
			i = len(req.Topics)
			byTopic[k.topic] = i
			t := kmsg.NewTxnOffsetCommitRequestTopic()
			t.Topic, t.TopicID = k.topic, m.topicID(ctx, cl, k.topic)
			names[t.TopicID] = k.topic
			req.Topics = append(req.Topics, t)
		}
		rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset, rp.LeaderEpoch = k.part, s.mark.off, -1
		meta := s.mark.meta
		rp.Metadata = &meta
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, rp)
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("transactional offset commit: %w", err)
	}
	for _, t := range resp.Topics {
		name := t.Topic
		if name == "" {
			name = names[t.TopicID]
		}
		for _, p := range t.Partitions {
			err := kerr.ErrorForCode(p.ErrorCode)
			if errors.Is(err, kerr.InvalidTxnState) && !m.addOffsets {
				// A cluster without KIP-890 part 2 wants the group
				// added to the transaction first: from now on.
				m.addOffsets = true
			}
			if err != nil {
				return fmt.Errorf("transactional offset commit %s[%d]: %w", name, p.Partition, err)
			}
		}
	}
	return nil
}

// topicID returns topic's ID (m.mu held), read once: TxnOffsetCommit v6
// names topics by ID.
func (m *committer) topicID(ctx context.Context, cl *kgo.Client, topic string) [16]byte {
	if id, ok := m.ids[topic]; ok {
		return id
	}
	if m.ids == nil {
		m.ids = map[string][16]byte{}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tds, err := kadm.NewClient(cl).ListTopics(ctx, topic)
	if err != nil {
		m.logf("parallel: topic id of %s: %v", topic, err)
		return [16]byte{}
	}
	for _, td := range tds {
		m.ids[td.Topic] = td.ID
	}
	return m.ids[topic]
}
