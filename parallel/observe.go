package parallel

import (
	"context"
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
// so the unobserved path costs one nil check.
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

// begin starts observing attempt n (1-based, in place) of r; nil without an
// Observer. prior handler calls come from the record's headers.
func (c *Consumer) begin(ctx context.Context, r *kgo.Record, n int) *attempt {
	if c.obs == nil {
		return nil
	}
	a := Attempt{Record: r, Number: headerInt(r, HeaderAttempts) + n, Group: c.groupName()}
	return &attempt{ctx: c.obs.o.AttemptStart(ctx, a), a: a}
}

// finish ends an observed attempt with its route.
func (c *Consumer) finish(at *attempt, route Route, err error) {
	if at == nil {
		return
	}
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
