package parallel

import (
	"context"

	"github.com/twmb/franz-go/pkg/kgo"
)

// delivery is how done records reach Kafka, chosen once in New as
// Confluent's Parallel Consumer picks its OffsetCommitter: atLeastOnce (New,
// NewBatch) commits offsets and writes retry and dead-letter copies at once;
// transactional (NewTransform, txn.go) writes every output, retry and
// dead-letter copy in the transaction that commits the records they stand for.
type delivery interface {
	// start runs before the first fetch.
	start(ctx context.Context)
	// done sees records just marked done (p.mu held).
	done(p *partition, recs []*kgo.Record)
	// handOn writes out, the retry or dead-letter copy standing for r.
	handOn(ctx context.Context, r, out *kgo.Record) error
	// commitContext is the context a commit of the commit loop runs under.
	commitContext(ctx context.Context) context.Context
}

type atLeastOnce struct{ c *Consumer }

func (atLeastOnce) start(context.Context)          {}
func (atLeastOnce) done(*partition, []*kgo.Record) {}
func (d atLeastOnce) handOn(ctx context.Context, _, out *kgo.Record) error {
	return d.c.produce(ctx, out)
}
func (atLeastOnce) commitContext(ctx context.Context) context.Context { return ctx }

type transactional struct{ c *Consumer }

func (d transactional) start(ctx context.Context)           { d.c.initTxn(ctx) }
func (transactional) done(p *partition, recs []*kgo.Record) { p.takeOutputs(recs) }
func (transactional) handOn(ctx context.Context, r, out *kgo.Record) error {
	stash(ctx, r, out)
	return nil
}

// commitContext: a transaction cut by the stop would end unconfirmed, so it
// runs to its end and the drain's commit waits for it.
func (transactional) commitContext(ctx context.Context) context.Context {
	return context.WithoutCancel(ctx)
}
