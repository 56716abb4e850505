package parallel

import (
	"context"
)

// engine is what one mode runs, chosen once in New: the group engine (New,
// NewTransform, NewBatch: a consumer group's partitions, tracked offsets and
// commits) or the share engine (ShareGroup: members acknowledging each
// record, share.go). Run, Close and Stats call it; nothing else asks which
// mode the consumer is in.
type engine interface {
	// run processes records until ctx ends or the consumer fails, then
	// drains: handlers finish (or are abandoned), the last work is committed
	// or acknowledged.
	run(ctx context.Context)
	// closeUnstarted releases the clients of a consumer closed before Run.
	closeUnstarted()
	// stats fills in what only the mode knows.
	stats(st *Stats)
}

// groupEngine runs a consumer group: the poll loop admits records into
// partitions' lanes (poll.go), workers run them (lanes.go, workers.go), the
// commit loop commits what is done (commit.go), rebalances drain what is
// revoked (rebalance.go).
type groupEngine struct{ c *Consumer }

func (e groupEngine) run(pctx context.Context) {
	c := e.c
	c.deliver.start(pctx)
	workers := c.startWorkers()
	commitDone := make(chan struct{})
	go c.commitLoop(pctx, commitDone)
	// The sweeper outlives the poll loop: during the drain it still
	// reports completions waiting behind handlers that take long.
	stopSweep, sweepDone := make(chan struct{}), make(chan struct{})
	go c.sweep(stopSweep, sweepDone)

	c.pollLoop(pctx)

	c.drain(workers, func() { close(stopSweep); <-sweepDone })
	<-commitDone
}

func (e groupEngine) closeUnstarted() { e.c.cl.Close() }
