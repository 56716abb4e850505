package parallel

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Headers written on retry-topic and dead-letter records. Times are Unix
// milliseconds in decimal; counts are decimal.
const (
	HeaderOriginTopic     = "kpar-origin-topic"
	HeaderOriginPartition = "kpar-origin-partition"
	HeaderOriginOffset    = "kpar-origin-offset"
	HeaderError           = "kpar-error"
	HeaderAttempts        = "kpar-attempts"      // handler calls so far, all rounds
	HeaderRetryRound      = "kpar-retry-round"   // trips through the retry topic so far
	HeaderDue             = "kpar-due"           // retry topic: not before this time
	HeaderFirstFailure    = "kpar-first-failure" // time of the first failed attempt
	HeaderLastFailure     = "kpar-last-failure"  // time of the last failed attempt
)

// Permanent marks err as a failure that retrying cannot fix (a malformed
// record, a rule violation): the record skips its remaining in-place
// attempts and the retry topic and goes straight to the dead-letter topic,
// or, without one, stops the consumer with ErrRecordFailed. errors.Is and
// errors.As see through it to err. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// IsPermanent reports whether err, or an error it wraps, was marked with
// Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// errAbandoned: the record's partition was revoked or lost, or Close gave
// up waiting; the record stays uncommitted for its next owner.
var errAbandoned = errors.New("parallel: record abandoned")

// retryFailed takes over a record whose first handler call (observed as
// at) failed with err: in-place retries, then the retry topic or the
// dead-letter topic. A nil return means the record is done (processed, or
// durably handed on).
func (c *Consumer) retryFailed(ctx context.Context, r *kgo.Record, at *attempt, err error) error {
	f, err := c.retryInPlace(ctx, r, at, err)
	if err != nil {
		return err
	}
	if f.err == nil {
		return nil
	}
	round := headerInt(r, HeaderRetryRound)
	var (
		out   *kgo.Record
		route Route
		count *atomic.Uint64
	)
	switch {
	case c.cfg.retryTopic != "" && round < c.cfg.retryMaxRounds && !IsPermanent(f.err):
		out, route, count = c.derived(r, c.cfg.retryTopic, f), RouteRetryTopic, &c.stats.retryRouted
		due := time.Now().Add(c.cfg.retryDelay)
		out.Headers = append(out.Headers,
			kgo.RecordHeader{Key: HeaderRetryRound, Value: []byte(strconv.Itoa(round + 1))},
			kgo.RecordHeader{Key: HeaderDue, Value: []byte(strconv.FormatInt(due.UnixMilli(), 10))},
		)
	case c.cfg.deadLetter != "":
		out, route, count = c.derived(r, c.cfg.deadLetter, f), RouteDeadLetter, &c.stats.deadLettered
	default:
		c.finish(f.at, RouteFailed, f.err)
		return fmt.Errorf("%w: %s[%d]@%d after %d attempts: %w", ErrRecordFailed, r.Topic, r.Partition, r.Offset, f.attempts, f.err)
	}
	c.forward(f.at, out)
	if err := c.handOn(ctx, r, out); err != nil {
		c.finish(f.at, RouteAbandoned, f.err)
		return err
	}
	count.Add(1)
	c.finish(f.at, route, f.err)
	return nil
}

// retryInPlace runs the in-place attempts left to a record whose first call
// (observed as at) failed with err, with backoff between them. It returns a
// zero failure once an attempt succeeds (counted completed), errAbandoned
// when ctx ends, or the last failure (Permanent ones are not retried), whose
// observed attempt the caller finishes with its route.
func (c *Consumer) retryInPlace(ctx context.Context, r *kgo.Record, at *attempt, err error) (failure, error) {
	var (
		attempts = 1
		first    = headerTime(r, HeaderFirstFailure)
		last     time.Time
	)
	prior := headerInt(r, HeaderAttempts)
	for {
		if ctx.Err() != nil {
			c.finish(at, RouteAbandoned, err)
			return failure{}, errAbandoned // the failure may be our own cancellation
		}
		c.stats.failed.Add(1)
		last = time.Now()
		if first.IsZero() {
			first = last
		}
		if attempts >= c.cfg.maxAttempts || IsPermanent(err) {
			return failure{err: err, attempts: prior + attempts, first: first, last: last, at: at}, nil
		}
		c.stats.retried.Add(1)
		c.finish(at, RouteRetry, err)
		if !sleep(ctx, c.retryDelay(attempts, err)) {
			return failure{}, errAbandoned
		}
		attempts++
		if at, err = c.call(ctx, r, attempts, at); err == nil {
			c.stats.completed.Add(1)
			c.finish(at, RouteDone, nil)
			return failure{}, nil
		}
	}
}

type failure struct {
	err         error
	attempts    int
	first, last time.Time
	at          *attempt // the last attempt, observed; its route is the caller's to give
}

// call runs the handler once, as in-place attempt n of r, observed in buf
// (returned as at) when an Observer is set: the caller finishes at with its
// route.
func (c *Consumer) call(ctx context.Context, r *kgo.Record, n int, buf *attempt) (at *attempt, err error) {
	if c.obs != nil {
		at = c.begin(ctx, r, n, buf)
		ctx = at.ctx
	}
	return at, c.gated(ctx, r)
}

// invoke runs the handler once; a panic becomes a *PanicError.
func (c *Consumer) invoke(ctx context.Context, r *kgo.Record) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	if c.cfg.handlerTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.handlerTimeout)
		defer cancel()
	}
	return c.handler(ctx, r)
}

// retryDelay is the wait before in-place attempt n+1 after n failed with
// err: the RetryBackoff function when set, else backoff(n).
func (c *Consumer) retryDelay(n int, err error) time.Duration {
	if c.cfg.backoffFn != nil {
		return c.cfg.backoffFn(n, err)
	}
	return c.backoff(n)
}

// backoff is exponential with full jitter: uniform in [0, min(max, initial*2^(n-1))].
func (c *Consumer) backoff(n int) time.Duration {
	d := c.cfg.backoffInitial << min(n-1, 30)
	if d <= 0 || d > c.cfg.backoffMax {
		d = c.cfg.backoffMax
	}
	if d <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}

// sleep waits d; false when ctx ends first (or has ended, for d <= 0).
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// derived copies r for topic, keeping key, value and user headers, and
// stamping origin and failure headers. A record that already came from the
// retry topic keeps its original origin.
func (c *Consumer) derived(r *kgo.Record, topic string, f failure) *kgo.Record {
	origin := [3]string{r.Topic, strconv.Itoa(int(r.Partition)), strconv.FormatInt(r.Offset, 10)}
	out := &kgo.Record{Topic: topic, Key: r.Key, Value: r.Value}
	for _, h := range r.Headers {
		switch h.Key {
		case HeaderOriginTopic:
			origin[0] = string(h.Value)
		case HeaderOriginPartition:
			origin[1] = string(h.Value)
		case HeaderOriginOffset:
			origin[2] = string(h.Value)
		case HeaderError, HeaderAttempts, HeaderRetryRound, HeaderDue, HeaderFirstFailure, HeaderLastFailure:
		default:
			out.Headers = append(out.Headers, h)
		}
	}
	ms := func(t time.Time) []byte { return []byte(strconv.FormatInt(t.UnixMilli(), 10)) }
	out.Headers = append(out.Headers,
		kgo.RecordHeader{Key: HeaderOriginTopic, Value: []byte(origin[0])},
		kgo.RecordHeader{Key: HeaderOriginPartition, Value: []byte(origin[1])},
		kgo.RecordHeader{Key: HeaderOriginOffset, Value: []byte(origin[2])},
		kgo.RecordHeader{Key: HeaderError, Value: []byte(f.err.Error())},
		kgo.RecordHeader{Key: HeaderAttempts, Value: []byte(strconv.Itoa(f.attempts))},
		kgo.RecordHeader{Key: HeaderFirstFailure, Value: ms(f.first)},
		kgo.RecordHeader{Key: HeaderLastFailure, Value: ms(f.last)},
	)
	return out
}

// handOn writes out, the retry or dead-letter record standing for r: at
// once, or with NewTransform as r's output, in the transaction that
// commits r.
func (c *Consumer) handOn(ctx context.Context, r, out *kgo.Record) error {
	return c.deliver.handOn(ctx, r, out)
}

// produce writes r and waits for the broker's ack, retrying until the
// partition is given up: the source record is done only once r is durable.
// A refusal by ACL is not retried: it stops the consumer (ErrNotAuthorized).
func (c *Consumer) produce(ctx context.Context, r *kgo.Record) error {
	for n := 1; ; n++ {
		err := c.cl.ProduceSync(ctx, r).FirstErr()
		if err == nil {
			return nil
		}
		if refused(err) {
			return fmt.Errorf("%w: writing to topic %s: %v", ErrNotAuthorized, r.Topic, err)
		}
		c.cfg.logf("parallel: produce to %s: %v", r.Topic, err)
		if !sleep(ctx, c.backoff(n)) {
			return errAbandoned
		}
	}
}

// refused reports whether err is an authorization refusal, which waiting
// does not fix.
func refused(err error) bool {
	return errors.Is(err, kerr.GroupAuthorizationFailed) || errors.Is(err, kerr.TopicAuthorizationFailed) ||
		errors.Is(err, kerr.ClusterAuthorizationFailed) || errors.Is(err, kerr.TransactionalIDAuthorizationFailed)
}

// failRefused stops the consumer if a poll error is an authorization
// refusal: kgo would retry it forever, and Run would never say why nothing
// is consumed. topic "" is the group's own error (kgo.ErrGroupSession).
func (c *Consumer) failRefused(group, topic string, err error) bool {
	if !refused(err) {
		return false
	}
	what := "topic " + topic
	if topic == "" {
		what = fmt.Sprintf("group %q", group)
	}
	c.fail(fmt.Errorf("%w: %s: %v", ErrNotAuthorized, what, err))
	return true
}

// Header returns the value of the last header named key, or "".
func Header(r *kgo.Record, key string) string {
	for i := len(r.Headers) - 1; i >= 0; i-- {
		if r.Headers[i].Key == key {
			return string(r.Headers[i].Value)
		}
	}
	return ""
}

// headerInt is strconv.Atoi of Header(r, key), 0 where that fails, without
// allocating on the paths every observed attempt takes: no header (Atoi("")
// allocates its error) and the plain decimal the library writes (no string
// copy). Anything else goes through Atoi.
func headerInt(r *kgo.Record, key string) int {
	for i := len(r.Headers) - 1; i >= 0; i-- {
		if r.Headers[i].Key != key {
			continue
		}
		v := r.Headers[i].Value
		n := 0
		for _, d := range v {
			if d < '0' || d > '9' || len(v) > 9 {
				n, _ = strconv.Atoi(string(v))
				return n
			}
			n = n*10 + int(d-'0')
		}
		return n
	}
	return 0
}

func headerTime(r *kgo.Record, key string) time.Time {
	ms, err := strconv.ParseInt(Header(r, key), 10, 64)
	if err != nil || ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}
