package parallel

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/parallel/internal/sharegroup"
)

// Share-group mode (KIP-932), chosen with ShareGroup. The broker hands each
// record to one member and tracks it by itself (acquired, acknowledged,
// redelivered after a lock timeout, archived after a delivery limit), so
// there is no offset map, no commit loop and no rebalance handling here:
// each record is acknowledged when its handler is done with it.
//
// franz-go accepts every record of the previous poll that has no terminal
// acknowledgement when a member polls again (renewed ones included). So a
// member never polls before every record of its last poll is acknowledged,
// and one member's concurrency is bounded by one poll. Several members per
// Consumer (ShareMembers) keep the workers busy while one member waits for
// its slowest record.

// HeaderDeliveryCount is written on dead-letter records of a share group:
// the broker's delivery count of the record when it was dead-lettered.
const HeaderDeliveryCount = "kpar-delivery-count"

// defaultDeliveryLimit is the broker's group.share.delivery.count.limit
// default, used when the group's config cannot be read.
const defaultDeliveryLimit = 5

// renewBefore: a record still running this close to its acquisition
// deadline has its lock renewed (AckRenew), once a second until it is done.
const renewBefore = 10 * time.Second

type shareMode struct {
	members []*kgo.Client
	limit   int // the group's delivery count limit
	pollMax int // records per poll of one member
	running atomic.Int64
}

type shareJob struct {
	r  *kgo.Record
	wg *sync.WaitGroup
}

// newShareClients builds the share members; the first is c.cl.
func (c *Consumer) newShareClients() error {
	s := &shareMode{limit: defaultDeliveryLimit, pollMax: min(c.cfg.maxConcurrency, c.cfg.maxBuffered)}
	c.share = s
	for range c.cfg.shareMembers {
		kopts := append([]kgo.Opt{kgo.ShareMaxRecords(int32(s.pollMax))}, c.cfg.clientOpts...)
		kopts = append(kopts, kgo.ShareGroup(c.cfg.shareGroup), kgo.ShareAckCallback(c.onAcked))
		cl, err := kgo.NewClient(kopts...)
		if err != nil {
			c.closeShareClients()
			return fmt.Errorf("parallel: %w", err)
		}
		s.members = append(s.members, cl)
	}
	c.cl = s.members[0]
	return nil
}

func (c *Consumer) closeShareClients() {
	var wg sync.WaitGroup
	for _, cl := range c.share.members {
		wg.Add(1)
		go func() { defer wg.Done(); cl.Close() }()
	}
	wg.Wait()
}

// onAcked counts acknowledgements the broker refused: their records are
// redelivered (or were already, after a lock timeout).
func (c *Consumer) onAcked(_ *kgo.Client, rs kgo.ShareAckResults) {
	for _, r := range rs {
		if r.Err != nil {
			c.stats.ackErrors.Add(1)
			c.cfg.logf("parallel: share ack %s[%d]: %v", r.Topic, r.Partition, r.Err)
		}
	}
}

// runShare is Run in share-group mode.
func (c *Consumer) runShare(pctx context.Context) {
	s := c.share
	if n, err := sharegroup.Int(pctx, c.cl, c.cfg.shareGroup, sharegroup.DeliveryCountLimit, defaultDeliveryLimit); err != nil {
		c.cfg.logf("parallel: share group %s: delivery count limit unknown, assuming %d: %v", c.cfg.shareGroup, n, err)
	} else {
		s.limit = n
	}
	if c.cfg.brokerDLQ != "" {
		if err := c.setupBrokerDLQ(pctx); err != nil {
			c.fail(err)
			c.hcancel()
			c.closeShareClients()
			return
		}
	}

	jobs := make(chan shareJob)
	var workers sync.WaitGroup
	for range c.cfg.maxConcurrency {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for j := range jobs {
				s.running.Add(1)
				c.shareProcess(j.r)
				s.running.Add(-1)
				c.held.Add(-1)
				j.wg.Done()
			}
		}()
	}
	var members sync.WaitGroup
	for _, cl := range s.members {
		members.Add(1)
		go func() { defer members.Done(); c.shareMember(pctx, cl, jobs) }()
	}

	// The drain: members stop polling when pctx ends and wait for their
	// last poll's records; past DrainTimeout the handlers' context is
	// cancelled and what they did not finish is released.
	<-pctx.Done()
	membersDone := make(chan struct{})
	go func() { members.Wait(); close(membersDone) }()
	t := time.NewTimer(c.cfg.drainTimeout)
	select {
	case <-membersDone:
	case <-t.C:
		c.hcancel()
		<-membersDone
	}
	t.Stop()
	close(jobs)
	workers.Wait()
	c.hcancel()
	// Close sends the last acknowledgements as the members leave.
	c.closeShareClients()
}

// shareMember polls one member and hands each poll's records to the
// workers, polling again only once all of them are acknowledged.
func (c *Consumer) shareMember(ctx context.Context, cl *kgo.Client, jobs chan<- shareJob) {
	for ctx.Err() == nil {
		fs := cl.PollRecords(ctx, c.share.pollMax)
		if fs.IsClientClosed() {
			return
		}
		fs.EachError(func(topic string, part int32, err error) {
			if c.failRefused(c.cfg.shareGroup, topic, err) {
				return
			}
			if !errors.Is(err, context.Canceled) {
				c.cfg.logf("parallel: share fetch %s[%d]: %v", topic, part, err)
			}
		})
		recs := fs.Records()
		if len(recs) == 0 {
			continue
		}
		var wg sync.WaitGroup
		wg.Add(len(recs))
		c.held.Add(int64(len(recs)))
		for _, r := range recs {
			if r.DeliveryCount() > 1 {
				c.stats.redelivered.Add(1)
			}
			if c.stopFlag.Load() || ctx.Err() != nil { // stopping: not started, back to the group
				r.Ack(kgo.AckRelease)
				c.stats.released.Add(1)
				c.held.Add(-1)
				wg.Done()
				continue
			}
			jobs <- shareJob{r, &wg}
		}
		waitRenewing(&wg, recs)
	}
}

// waitRenewing waits for a poll's records, renewing the lock of any still
// running near its acquisition deadline, so that a long handler does not
// see its record handed to another member.
func waitRenewing(wg *sync.WaitGroup, recs []*kgo.Record) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
			for _, r := range recs {
				// A no-op on records already acknowledged (a terminal
				// status cannot be renewed) and while a renew is in flight.
				if d := r.AcquisitionDeadline(); !d.IsZero() && time.Until(d) < renewBefore {
					r.Ack(kgo.AckRenew)
				}
			}
		}
	}
}

// shareProcess runs one record and acknowledges it: accepted when done or
// dead-lettered, released for redelivery after a failed delivery with
// deliveries left, or when abandoned.
func (c *Consumer) shareProcess(r *kgo.Record) {
	ctx := c.hctx
	at, err := c.call(ctx, r, 1)
	if err == nil {
		c.stats.completed.Add(1)
		c.finish(at, RouteDone, nil)
		r.Ack(kgo.AckAccept)
		return
	}
	f, err := c.retryInPlace(ctx, r, at, err)
	switch {
	case err != nil: // abandoned: Close gave up waiting
		c.release(r)
		return
	case f.err == nil: // a retry succeeded
		r.Ack(kgo.AckAccept)
		return
	}
	delivery := int(r.DeliveryCount())
	if !IsPermanent(f.err) && delivery < c.share.limit {
		c.finish(f.at, RouteReleased, f.err)
		c.release(r) // the broker redelivers it, to any member
		return
	}
	if c.cfg.brokerDLQ != "" { // the broker writes it (BrokerDeadLetter)
		c.stats.deadLettered.Add(1)
		r.Ack(kgo.AckReject)
		return
	}
	if c.cfg.deadLetter != "" {
		out := c.derived(r, c.cfg.deadLetter, f)
		out.Headers = append(out.Headers, kgo.RecordHeader{Key: HeaderDeliveryCount, Value: []byte(strconv.Itoa(delivery))})
		c.forward(f.at, out)
		if err := c.produce(ctx, out); err != nil {
			c.finish(f.at, RouteAbandoned, f.err)
			c.release(r)
			if !errors.Is(err, errAbandoned) {
				c.fail(err) // refused by ACL
			}
			return
		}
		c.stats.deadLettered.Add(1)
		c.finish(f.at, RouteDeadLetter, f.err)
		r.Ack(kgo.AckAccept)
		return
	}
	c.finish(f.at, RouteFailed, f.err)
	c.release(r)
	c.fail(fmt.Errorf("%w: %s[%d]@%d on delivery %d of %d after %d attempts: %w",
		ErrRecordFailed, r.Topic, r.Partition, r.Offset, delivery, c.share.limit, f.attempts, f.err))
}

func (c *Consumer) release(r *kgo.Record) {
	r.Ack(kgo.AckRelease)
	c.stats.released.Add(1)
}
