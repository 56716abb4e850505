package parallel

import (
	"context"
	"runtime/debug"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// BatchHandler processes a batch of records in one call, e.g. one bulk write
// to a database. A nil error marks every record of the batch done; an error
// or a panic fails the attempt of every record in it (see NewBatch for what
// happens next).
type BatchHandler func(ctx context.Context, rs []*kgo.Record) error

// NewBatch builds a consumer that hands records to handler in batches of up
// to BatchSize records, with every guarantee of New: the same commits,
// ordering, retries, retry and dead-letter topics, rebalances.
//
// A batch gathers records that are ready to run at the same moment: every
// record that New would hand to a handler goroutine waits (holding its
// goroutine) until the batch is full or its first record has waited the
// BatchSize wait, and the call's result is each record's result. So:
//   - OrderKey: a batch holds at most one record per key, and a key's next
//     record joins a batch only once the batch holding its previous record
//     returned: batches never hold a key out of order, and never two running
//     batches the same key. Many keys make full batches; few keys small ones.
//   - OrderPartition: likewise per partition, so a batch holds at most one
//     record per partition.
//   - OrderNone: any records, up to BatchSize.
//
// A batch holds at most MaxConcurrency records (one per handler goroutine),
// so BatchSize may not exceed it; MaxConcurrency at a few times BatchSize
// lets the next batches fill while one runs.
//
// A failed batch is split: each of its records is retried alone, a batch of
// one, with the in-place retries and backoff of Retries and then the retry
// and dead-letter topics as in New. Retrying the whole batch would fail on
// the same bad record every time, and a batch cannot say which record
// failed; alone, the bad record fails alone and goes to the dead-letter
// topic (or stops the consumer), and the others succeed. The cost is one
// call per record of a failed batch. A Permanent error from a batch fails
// every record of it for good: return it only when the whole batch is bad.
//
// The handler's context ends when Close gives up waiting (DrainTimeout), or
// after HandlerTimeout; a revoked partition's records in a running batch are
// waited for like any handler (RevokeTimeout).
func NewBatch(handler BatchHandler, opts ...Opt) (*Consumer, error) {
	if handler == nil {
		return nil, ErrNoHandler
	}
	b := &batcher{h: handler, alone: map[*kgo.Record]int{}}
	c, err := newConsumer(b.add, modeBatch, opts)
	if err != nil {
		return nil, err
	}
	b.c = c
	return c, nil
}

// BatchSize sets NewBatch's batches: at most n records (0, the default:
// min(100, MaxConcurrency)), and at most wait (default 10ms) from a batch's
// first record to its call when fewer than n are ready. n must not exceed
// MaxConcurrency. Refused (ErrInvalidOption) by New and NewTransform.
func BatchSize(n int, wait time.Duration) Opt {
	return opt(func(c *cfg) { c.batchSize, c.batchWait, c.given = n, wait, c.given|givenBatchSize })
}

// batcher gathers handler calls into batches.
type batcher struct {
	h BatchHandler
	c *Consumer

	mu    sync.Mutex
	open  *batch              // gathering records, nil when none
	alone map[*kgo.Record]int // records whose batch failed: in-place attempts left, each alone
}

type batch struct {
	recs  []*kgo.Record
	done  chan struct{} // closed once the call returned; err is then set
	err   error
	timer *time.Timer
}

// add is the Handler New runs: r joins the open batch (or runs alone after
// its batch failed) and add returns the batch's result.
func (b *batcher) add(_ context.Context, r *kgo.Record) error {
	b.mu.Lock()
	if left := b.alone[r]; left > 0 {
		b.mu.Unlock()
		err := b.call([]*kgo.Record{r})
		b.mu.Lock()
		if err == nil || left == 1 {
			delete(b.alone, r) // done, or its attempts are spent
		} else {
			b.alone[r] = left - 1
		}
		b.mu.Unlock()
		return err
	}
	bt := b.open
	if bt == nil {
		bt = &batch{done: make(chan struct{})}
		b.open = bt
		bt.timer = time.AfterFunc(b.c.cfg.batchWait, func() { b.flush(bt) })
	}
	bt.recs = append(bt.recs, r)
	full := len(bt.recs) >= b.c.cfg.batchSize
	if full {
		b.open = nil // closed to others: this call runs it
	}
	b.mu.Unlock()
	if full {
		b.run(bt)
	}
	<-bt.done
	if n := b.c.cfg.maxAttempts - 1; bt.err != nil && n > 0 && !IsPermanent(bt.err) {
		b.mu.Lock()
		b.alone[r] = n // the retries in place run r alone
		b.mu.Unlock()
	}
	return bt.err
}

// flush is bt's wait timer: it runs bt unless the record that filled it
// took it first.
func (b *batcher) flush(bt *batch) {
	b.mu.Lock()
	if b.open != bt {
		b.mu.Unlock()
		return
	}
	b.open = nil
	b.mu.Unlock()
	b.run(bt)
}

func (b *batcher) run(bt *batch) {
	bt.timer.Stop()
	bt.err = b.call(bt.recs)
	close(bt.done)
}

// call runs the handler once on rs, observed as a batch attempt when an
// Observer is set.
func (b *batcher) call(rs []*kgo.Record) error {
	o := b.c.obs
	if o == nil {
		return b.gated(b.c.hctx, rs)
	}
	a := Attempt{Batch: rs, Group: b.c.groupName()}
	ctx := o.o.AttemptStart(b.c.hctx, a)
	err := b.gated(ctx, rs)
	a.Route = RouteDone
	if err != nil {
		a.Route = RouteSplit
	}
	o.o.AttemptEnd(ctx, a, err)
	return err
}

// invoke runs the handler once on rs; a panic becomes a *PanicError.
func (b *batcher) invoke(ctx context.Context, rs []*kgo.Record) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	if d := b.c.cfg.handlerTimeout; d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	return b.h(ctx, rs)
}
