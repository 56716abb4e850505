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

	"github.com/kpar/kpar/parallel/sharegroup"
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
// its slowest record; by default their number follows the concurrency
// (shareMembersFor).

// HeaderDeliveryCount is written on dead-letter records of a share group:
// the broker's delivery count of the record when it was dead-lettered.
const HeaderDeliveryCount = "kpar-delivery-count"

// ShareGroup runs the handler over the share group name (KIP-932, Kafka
// 4.2+) instead of a consumer group: queue semantics, with any number of
// consumers per partition. ClientOpts then names the topics
// (kgo.ConsumeTopics) and no kgo.ConsumerGroup. The broker hands each record
// to one member and tracks it itself; the library acknowledges each record
// when its handler is done with it: accepted once processed (or written to
// the dead-letter topic), released for redelivery after a failed delivery
// that has deliveries left. So there is no commit, no offset map and no
// rebalance to wait for.
//
// What changes from a consumer group:
//   - No order: records of one key may run at once and finish in any
//     order, on any member. Ordering other than OrderNone is refused (the
//     default becomes OrderNone).
//   - Failures: each delivery gets the in-place attempts of Retries (with
//     their backoff). A delivery that fails them all is released, and the
//     broker redelivers the record, to any member, counting deliveries. A
//     Permanent failure, or a failure on the group's last allowed delivery
//     (its share.delivery.count.limit, read from the broker at Run, 5 by
//     default), goes to the DeadLetterTopic with the usual headers plus
//     HeaderDeliveryCount, and is then accepted; without a dead-letter
//     topic it stops the consumer (ErrRecordFailed) and is released, and
//     the broker archives it once its deliveries are used up. With
//     BrokerDeadLetter instead, such a record is rejected and the broker
//     writes it to its own dead-letter queue (Kafka 4.4+). RetryTopic is
//     refused: releasing is the share group's retry.
//   - Processed twice: a record whose member dies (crash, kill) or whose
//     handler outlives the acquisition lock without its lock being renewed
//     is redelivered, the first after the lock duration
//     (share.record.lock.duration.ms, 30 s by default). The library renews
//     the lock of records still running near their deadline, but a renewal
//     is best-effort; so, as in group mode, handlers must be idempotent.
//   - Concurrency: franz-go accepts every record of a poll that has no
//     final acknowledgement when its member polls again, so a member polls
//     only after each record of its last poll is acknowledged. One poll is
//     at most min(MaxConcurrency, MaxBuffered) records; ShareMembers
//     members (by default from 2 to 8, following MaxConcurrency) poll in
//     turn so workers stay busy while one member waits for its slowest
//     record.
//   - Stats: Completed, Failed, Retried, DeadLettered as in group mode, plus
//     Released, Redelivered and AckErrors; no partitions, commits or lag.
//     Client returns the first member's client.
//
// The group reads new records only, unless its share.auto.offset.reset
// config is earliest: a group config on the broker, which
// sharegroup.FromEarliest sets (package
// github.com/kpar/kpar/parallel/sharegroup; see the ShareGroup example).
func ShareGroup(name string) Opt { return opt(func(c *cfg) { c.shareGroup = name }) }

// ShareMembers sets how many share-group members (franz-go clients) one
// Consumer runs in ShareGroup mode. Each polls at most
// min(MaxConcurrency, MaxBuffered) records and waits for all of them before
// it polls again; with several, one member's slowest record does not idle
// the workers. Refused (ErrInvalidOption) without ShareGroup.
//
// By default the count follows the concurrency and the poll size: enough
// members that their polls together hold twice MaxConcurrency records, or
// four times from a concurrency of 2,500 up (a poll that large waits
// longer for its slowest record), at least 2 and at most 8. That is 2
// members at the default concurrency, 4 at MaxConcurrency(5000). Each
// member counts toward the broker's group.share.max.size (200 by default).
// The records this process holds in share mode are therefore at most the
// member count times one poll (20,000 at MaxConcurrency(5000) with the
// default MaxBuffered): MaxBuffered bounds each poll, not their sum.
func ShareMembers(n int) Opt {
	return opt(func(c *cfg) { c.shareMembers, c.given = n, c.given|givenShareMembers })
}

// The default member count (shareMembersFor): the records the members'
// polls hold together, in multiples of MaxConcurrency, and the bounds.
const (
	shareHeldPolls       = 2 // below shareHighConcurrency
	shareHeldPollsHigh   = 4 // from shareHighConcurrency up
	shareHighConcurrency = 2500
	shareMinMembers      = 2
	shareMaxMembers      = 8
)

// shareMembersFor is the member count when ShareMembers is not given, for
// a concurrency and the records one member polls (pollMax). A member polls
// again only once its whole poll is acknowledged, so while it waits for
// its slowest record the workers run the other members' polls. At
// concurrency 5,000 (5 ms handlers, 12 partitions, a shared 2-core
// machine) two members of 5,000-record polls reached a median 0.41 of the
// ideal rate, four 0.54 (see DESIGN.md). The polls' records wait in this
// process and hold the broker's record locks: hence a bound.
func shareMembersFor(concurrency, pollMax int) int {
	held := shareHeldPolls
	if concurrency >= shareHighConcurrency {
		held = shareHeldPollsHigh
	}
	n := (held*concurrency + pollMax - 1) / pollMax
	return min(shareMaxMembers, max(shareMinMembers, n))
}

// defaultDeliveryLimit is the broker's group.share.delivery.count.limit
// default, used when the group's config cannot be read.
const defaultDeliveryLimit = 5

// renewBefore: a record still running this close to its acquisition
// deadline has its lock renewed (AckRenew), once a second until it is done.
const renewBefore = 10 * time.Second

type shareMode struct {
	c       *Consumer
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
	s := &shareMode{c: c, limit: defaultDeliveryLimit, pollMax: min(c.cfg.maxConcurrency, c.cfg.maxBuffered)}
	c.engine = s
	n := c.cfg.shareMembers
	if c.cfg.given&givenShareMembers == 0 {
		n = shareMembersFor(c.cfg.maxConcurrency, s.pollMax)
	}
	for range n {
		kopts := append([]kgo.Opt{kgo.ShareMaxRecords(int32(s.pollMax))}, c.cfg.clientOpts...)
		kopts = append(kopts, kgo.ShareGroup(c.cfg.shareGroup), kgo.ShareAckCallback(c.onAcked))
		cl, err := kgo.NewClient(kopts...)
		if err != nil {
			s.closeUnstarted()
			return fmt.Errorf("parallel: %w", err)
		}
		s.members = append(s.members, cl)
	}
	c.cl = s.members[0]
	return nil
}

func (s *shareMode) closeUnstarted() {
	var wg sync.WaitGroup
	for _, cl := range s.members {
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

// run is Run in share-group mode.
func (s *shareMode) run(pctx context.Context) {
	c := s.c
	if n, err := sharegroup.Int(pctx, c.cl, c.cfg.shareGroup, sharegroup.DeliveryCountLimit, defaultDeliveryLimit); err != nil {
		c.cfg.logf("parallel: share group %s: delivery count limit unknown, assuming %d: %v", c.cfg.shareGroup, n, err)
	} else {
		s.limit = n
	}
	if c.cfg.brokerDLQ != "" {
		if err := c.setupBrokerDLQ(pctx); err != nil {
			c.fail(err)
			c.hcancel()
			s.closeUnstarted()
			return
		}
	}

	jobs := make(chan shareJob)
	var workers sync.WaitGroup
	for range c.cfg.maxConcurrency {
		workers.Add(1)
		go func() {
			defer workers.Done()
			var at attempt // this worker's observed attempt, one record's after another's
			for j := range jobs {
				s.running.Add(1)
				s.process(j.r, &at)
				s.running.Add(-1)
				c.held.Add(-1)
				j.wg.Done()
			}
		}()
	}
	var members sync.WaitGroup
	for _, cl := range s.members {
		members.Add(1)
		go func() { defer members.Done(); s.member(pctx, cl, jobs) }()
	}

	// The drain: members stop polling when pctx ends and wait for their
	// last poll's records; past DrainTimeout the handlers' context is
	// cancelled and what they did not finish is released.
	<-pctx.Done()
	if membersDone, ok := waitWithin(&members, c.cfg.drainTimeout); !ok {
		c.hcancel()
		<-membersDone
	}
	close(jobs)
	workers.Wait()
	c.hcancel()
	// Close sends the last acknowledgements as the members leave.
	s.closeUnstarted()
}

// member polls one member and hands each poll's records to the
// workers, polling again only once all of them are acknowledged.
func (s *shareMode) member(ctx context.Context, cl *kgo.Client, jobs chan<- shareJob) {
	c := s.c
	for ctx.Err() == nil {
		fs := cl.PollRecords(ctx, s.pollMax)
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

// process runs one record and acknowledges it: accepted when done or
// dead-lettered, released for redelivery after a failed delivery with
// deliveries left, or when abandoned. buf is the worker's storage for the
// observed attempt.
func (s *shareMode) process(r *kgo.Record, buf *attempt) {
	c := s.c
	ctx := c.hctx
	at, err := c.call(ctx, r, 1, buf)
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
	if !IsPermanent(f.err) && delivery < s.limit {
		c.finish(f.at, RouteReleased, f.err)
		c.release(r) // the broker redelivers it, to any member
		return
	}
	if c.cfg.brokerDLQ != "" { // the broker writes it (BrokerDeadLetter)
		c.stats.deadLettered.Add(1)
		c.finish(f.at, RouteDeadLetter, f.err)
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
		ErrRecordFailed, r.Topic, r.Partition, r.Offset, delivery, s.limit, f.attempts, f.err))
}

func (c *Consumer) release(r *kgo.Record) {
	r.Ack(kgo.AckRelease)
	c.stats.released.Add(1)
}
