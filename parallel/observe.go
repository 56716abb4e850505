package parallel

import (
	"context"
	"errors"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Observer sees every handler attempt, for tracing (parallel/kotel is an
// OpenTelemetry one) or logging. The library calls it from the worker that
// runs the attempt, so its methods must be safe for concurrent use and
// quick: they run on the hot path.
//
//   - AttemptStart is called just before the handler; the handler runs with
//     the context it returns (e.g. one holding a span).
//   - Forward is called, with that context, just before the library writes
//     out, the retry-topic or dead-letter copy of the attempt's record: the
//     observer may add or replace headers of out (e.g. a trace context), and
//     nothing else. The copy already carries the record's own headers.
//   - AttemptEnd is called once the attempt's route is known (Attempt.Route):
//     after the retry-topic or dead-letter copy was written, or after the
//     backoff before an in-place retry was decided (not slept). err is the
//     handler's error, nil on success.
//
// With NewBatch, each record's attempt is observed (its call waits for its
// batch), and so is each batch call (Attempt.Batch set, Record nil): the
// handler then runs with the batch call's context.
type Observer interface {
	AttemptStart(ctx context.Context, a Attempt) context.Context
	Forward(ctx context.Context, a Attempt, out *kgo.Record)
	AttemptEnd(ctx context.Context, a Attempt, err error)
}

// Attempt describes one handler call to an Observer.
type Attempt struct {
	Record *kgo.Record   // the record; nil for a NewBatch batch call
	Batch  []*kgo.Record // a NewBatch batch call: its records; nil otherwise
	// Number is the record's handler calls so far, this one included, over
	// every trip through the retry topic (1: the first call); 0 for a batch.
	Number int
	Group  string // the consumer group, or the share group
	Route  Route  // what follows the attempt; set for AttemptEnd only
}

// Route is what happens to a record after a handler attempt.
type Route uint8

const (
	RouteDone       Route = iota + 1 // the handler succeeded
	RouteRetry                       // failed; retried in place after a backoff
	RouteRetryTopic                  // failed for this round; written to the retry topic
	RouteDeadLetter                  // failed for good (Permanent, or out of attempts); written to the dead-letter topic
	RouteFailed                      // failed for good with nowhere to go: Run stops with ErrRecordFailed
	RouteReleased                    // ShareGroup: released to the broker for redelivery
	RouteAbandoned                   // revoked, lost, closing, or the write of its copy failed: left uncommitted (share: released)
	RouteSplit                       // a NewBatch batch call failed: its records are retried alone
)

var routeNames = [...]string{"", "done", "retry", "retry_topic", "dead_letter", "failed", "released", "abandoned", "split"}

// String returns the route's name, e.g. "dead_letter".
func (r Route) String() string {
	if int(r) < len(routeNames) && r > 0 {
		return routeNames[r]
	}
	return "unknown"
}

// Observe sets an Observer of handler attempts (see Observer); nil, the
// default, observes nothing and costs nothing.
func Observe(o Observer) Opt { return opt(func(c *cfg) { c.observer = o }) }

// observing is the consumer's Observer and the group it reports.
type observing struct {
	o     Observer
	once  sync.Once
	group string
}

// attempt is an observed attempt in progress: nil when no Observer is set,
// so the unobserved path costs one nil check. Its storage is the caller's
// (a worker's pass holds one, reused by each record's attempts in turn), so
// observing allocates nothing and shares nothing between workers; finish is
// an attempt's last use (the worker that began it finishes it, once;
// forward comes before).
type attempt struct {
	ctx context.Context
	a   Attempt
}

func (c *Consumer) groupName() string {
	c.obs.once.Do(func() {
		if c.cfg.shareGroup != "" {
			c.obs.group = c.cfg.shareGroup
		} else {
			c.obs.group = c.group()
		}
	})
	return c.obs.group
}

// begin starts observing attempt n (1-based, in place) of r in at, the
// caller's storage, and returns at; nil without an Observer. prior handler
// calls come from the record's headers.
func (c *Consumer) begin(ctx context.Context, r *kgo.Record, n int, at *attempt) *attempt {
	if c.obs == nil {
		return nil
	}
	at.a = Attempt{Record: r, Number: headerInt(r, HeaderAttempts) + n, Group: c.groupName()}
	at.ctx = c.obs.o.AttemptStart(ctx, at.a)
	return at
}

// finish ends an observed attempt with its route. Its storage is free for
// the next attempt after.
func (c *Consumer) finish(at *attempt, route Route, err error) {
	if at != nil { // inlined: the unobserved path costs the nil check
		c.end(at, route, err)
	}
}

func (c *Consumer) end(at *attempt, route Route, err error) {
	at.a.Route = route
	c.obs.o.AttemptEnd(at.ctx, at.a, err)
}

// forward lets the Observer stamp out, the copy of at's record about to be
// written to the retry or dead-letter topic.
func (c *Consumer) forward(at *attempt, out *kgo.Record) {
	if at != nil {
		c.obs.o.Forward(at.ctx, at.a, out)
	}
}

// TxnObserver is an Observer that also sees the transactions of a
// NewTransform consumer (each commit that carries outputs; a commit with
// none is an ordinary offset commit and is not observed). The consumer
// checks at each transaction whether its Observer implements it: an
// Observer that does not, or no Observer, costs one nil check.
//
//   - TxnStart is called by the commit loop just before the transaction
//     begins; the transaction (the produce of its records, the offset
//     commit, the end or abort) runs with the context it returns, which
//     its records carry as their kgo Record.Context (so kgo's produce hooks,
//     e.g. franz-go's plugin/kotel, see it).
//   - TxnEnd is called once the outcome is known (Txn.Outcome), with the
//     transaction's error, nil when committed.
type TxnObserver interface {
	Observer
	TxnStart(ctx context.Context, t Txn) context.Context
	TxnEnd(ctx context.Context, t Txn, err error)
}

// Txn describes one NewTransform transaction to a TxnObserver.
type Txn struct {
	ID    string // the transactional ID
	Group string // the consumer group
	// Partitions are the input partitions whose offsets and completion
	// maps it commits.
	Partitions []TxnPartition
	// Inputs are the input records whose outputs, retry or dead-letter
	// copies it writes (records done without any are committed by the
	// offsets alone and are not listed), in the order they were done.
	Inputs  []TxnInput
	Outputs int        // records it produces: outputs, retry and dead-letter copies
	Outcome TxnOutcome // set for TxnEnd only
}

// TxnPartition is one input partition a transaction commits.
type TxnPartition struct {
	Topic     string
	Partition int32
	Offset    int64 // the offset committed: the next record to read
	Prev      int64 // the offset acknowledged before; -1 when none is known
}

// TxnInput is one input record of a transaction.
type TxnInput struct {
	Record *kgo.Record
	// Context is the context of the handler call that returned the
	// record's outputs: it holds the attempt's span with parallel/kotel.
	// For a retry or dead-letter copy it is the worker's, with no attempt.
	Context context.Context
}

// TxnOutcome is how a transaction ended.
type TxnOutcome uint8

const (
	TxnCommitted   TxnOutcome = iota + 1 // committed: its records and offsets are visible
	TxnAborted                           // aborted (refused, failed, raced a rebalance): its records are retried in the next one
	TxnFenced                            // fenced (ErrFenced): aborted, and Run stops
	TxnUnconfirmed                       // the end was not confirmed (ErrTxnUnconfirmed): Run stops
)

var txnOutcomeNames = [...]string{"", "committed", "aborted", "fenced", "unconfirmed"}

// String returns the outcome's name, e.g. "committed".
func (o TxnOutcome) String() string {
	if int(o) < len(txnOutcomeNames) && o > 0 {
		return txnOutcomeNames[o]
	}
	return "unknown"
}

// txnStart starts observing the transaction that writes outs and commits
// snaps (m.mu held); nil when the Observer does not observe transactions.
func (m *committer) txnStart(ctx context.Context, cl *kgo.Client, snaps map[tp]snap, outs []output) (context.Context, *Txn, TxnObserver) {
	o, ok := m.c.obs.o.(TxnObserver)
	if !ok {
		return ctx, nil, nil
	}
	t := &Txn{Group: m.c.groupName(), Partitions: make([]TxnPartition, 0, len(snaps)), Inputs: make([]TxnInput, len(outs))}
	t.ID, _ = cl.OptValue(kgo.TransactionalID).(string)
	for k, s := range snaps {
		prev := int64(-1)
		if mk, ok := m.last[s.p]; ok {
			prev = mk.off
		}
		t.Partitions = append(t.Partitions, TxnPartition{Topic: k.topic, Partition: k.part, Offset: s.mark.off, Prev: prev})
	}
	for i, out := range outs {
		t.Inputs[i] = TxnInput{Record: out.in, Context: out.ctx}
		t.Outputs += len(out.outs)
	}
	return o.TxnStart(ctx, *t), t, o
}

// txnEnd ends an observed transaction with the outcome err stands for.
func txnEnd(ctx context.Context, o TxnObserver, t *Txn, err error) {
	switch {
	case err == nil:
		t.Outcome = TxnCommitted
	case errors.Is(err, ErrFenced):
		t.Outcome = TxnFenced
	case errors.Is(err, ErrTxnUnconfirmed):
		t.Outcome = TxnUnconfirmed
	default:
		t.Outcome = TxnAborted
	}
	o.TxnEnd(ctx, *t, err)
}
