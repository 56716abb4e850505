package parallel

import (
	"cmp"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Order says which records may be processed concurrently.
type Order int

const (
	// OrderKey processes records of one key (within a partition) one at a
	// time in offset order; different keys run in parallel. Records with a
	// nil key carry no ordering promise and run unordered. The default.
	OrderKey Order = iota
	// OrderPartition processes each partition's records one at a time in
	// offset order; partitions run in parallel.
	OrderPartition
	// OrderNone processes any record as soon as a worker is free.
	OrderNone
)

func (o Order) String() string {
	switch o {
	case OrderKey:
		return "key"
	case OrderPartition:
		return "partition"
	case OrderNone:
		return "none"
	}
	return fmt.Sprintf("Order(%d)", int(o))
}

// UnmarshalText sets o from "key", "partition" or "none" ("unordered"), the
// names String gives; so an Order can be a flag, a JSON or a config value.
func (o *Order) UnmarshalText(b []byte) error {
	switch string(b) {
	case "key":
		*o = OrderKey
	case "partition":
		*o = OrderPartition
	case "none", "unordered":
		*o = OrderNone
	default:
		return invalid("order %q (want key, partition or none)", b)
	}
	return nil
}

// MarshalText gives String's name, so an Order round-trips through JSON.
func (o Order) MarshalText() ([]byte, error) {
	if o < OrderKey || o > OrderNone {
		return nil, invalid("Order(%d) unknown", int(o))
	}
	return []byte(o.String()), nil
}

// Opt configures a Consumer. Only this package can make one.
type Opt interface{ apply(*cfg) }

type opt func(*cfg)

func (f opt) apply(c *cfg) { f(c) }

type cfg struct {
	clientOpts []kgo.Opt

	order          Order
	maxConcurrency int
	maxBuffered    int
	maxPerPart     int

	commitInterval   time.Duration
	maxMetadataBytes int
	drainTimeout     time.Duration
	revokeTimeout    time.Duration
	handlerTimeout   time.Duration

	maxAttempts    int
	backoffInitial time.Duration
	backoffMax     time.Duration
	backoffFn      func(attempt int, err error) time.Duration

	retryTopic     string
	retryDelay     time.Duration
	retryMaxRounds int
	deadLetter     string
	brokerDLQ      string // BrokerDeadLetter

	batchSize int           // NewBatch
	batchWait time.Duration // NewBatch

	shareGroup   string
	shareMembers int
	orderSet     bool // Ordering was given: in share mode only OrderNone is allowed

	// AdaptiveConcurrency and RateLimit (limit.go)
	adaptiveMin, adaptiveMax int
	adaptiveSet              bool
	ratePerSecond            float64
	rateBurst                int
	rateSet                  bool

	given given // options set by the user that apply to one mode only

	logf func(format string, args ...any)

	observer Observer // observe.go
}

func defaultCfg() cfg {
	return cfg{
		order:            OrderKey,
		maxConcurrency:   100,
		maxBuffered:      10_000,
		maxPerPart:       2_000,
		commitInterval:   0, // back to back: see CommitInterval
		maxMetadataBytes: 4096,
		drainTimeout:     30 * time.Second,
		revokeTimeout:    15 * time.Second,
		maxAttempts:      3,
		backoffInitial:   100 * time.Millisecond,
		backoffMax:       5 * time.Second,
		retryDelay:       10 * time.Second,
		retryMaxRounds:   3,
		shareMembers:     2,
		batchSize:        0, // NewBatch: min(100, MaxConcurrency)
		batchWait:        10 * time.Millisecond,
		logf:             func(string, ...any) {},
	}
}

// Fetch sizing (fetch.go adapts it). kgo decodes a whole fetch response at
// once and holds it until it is polled, outside any record count: with
// kgo's 50 MiB default and well-compressed records (12 bytes a record on
// disk in the consume bench) one response decoded to ~1M records and 619
// MiB RSS. So the library sizes fetches by what they decode to, measured:
// fetchBudgetPerRecord decoded bytes per MaxBuffered record for one fetch
// response (25 MiB at the default 10,000, what a 1 MiB fetch decoded to in
// the consume bench, whose 2M-record backlog then peaked at 120 MiB RSS).
// Never below 1 MiB: kgo clamps the per-partition limit to the total, and a
// partition limit below the producer's batch size (1 MiB batches are
// common) stalled partitions on Kafka 4.3.1.
const (
	fetchBudgetPerRecord = 2560
	minFetchBytes        = 1 << 20
	maxFetchBytes        = 50 << 20 // kgo's default
	// fetchStartBytes is the size the library starts with: 1 MiB and one
	// byte, a value no one sets by hand, so that a kgo.FetchMaxBytes in
	// ClientOpts (which pins the size) is told apart from the library's.
	fetchStartBytes = minFetchBytes + 1
)

// fetchBudget is the decoded bytes one fetch response may hold, over all
// the brokers the consumer fetches from.
func (c *cfg) fetchBudget() int64 { return int64(c.maxBuffered) * fetchBudgetPerRecord }

// given records the options a user set whose meaning depends on the mode,
// so that one given where it does not apply is refused, not ignored.
type given uint8

const (
	givenShareMembers given = 1 << iota
	givenBatchSize
	givenCommitInterval
	givenMaxMetadataBytes
	givenRevokeTimeout
	givenMaxPerPart
	givenBrokerDLQ
)

// mode is the constructor a consumer was built with.
type mode int

const (
	modeNew mode = iota
	modeTransform
	modeBatch
)

func (m mode) String() string {
	switch m {
	case modeTransform:
		return "NewTransform"
	case modeBatch:
		return "NewBatch"
	}
	return "New"
}

// invalid is an option validation failure: ErrInvalidOption and what is
// wrong, naming the option.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidOption, fmt.Sprintf(format, args...))
}

// validate is the one place where option values are checked, and where an
// option that does not apply to the mode (the constructor, and ShareGroup
// or not) is refused: all of it before any client is made.
func (c *cfg) validate(m mode) error {
	if err := c.validateMode(m); err != nil {
		return err
	}
	if err := c.validateBrokerDLQ(); err != nil {
		return err
	}
	if c.order < OrderKey || c.order > OrderNone {
		return invalid("Ordering(%d) unknown", int(c.order))
	}
	atLeast := func(name string, v, least int) error {
		if v < least {
			return invalid("%s(%d) must be >= %d", name, v, least)
		}
		return nil
	}
	notNegative := func(name string, d time.Duration) error {
		if d < 0 {
			return invalid("%s(%v) must not be negative", name, d)
		}
		return nil
	}
	if err := cmp.Or(atLeast("MaxConcurrency", c.maxConcurrency, 1), atLeast("MaxBuffered", c.maxBuffered, 1),
		atLeast("MaxBufferedPerPartition", c.maxPerPart, 1), notNegative("CommitInterval", c.commitInterval),
		atLeast("MaxMetadataBytes", c.maxMetadataBytes, 64), notNegative("DrainTimeout", c.drainTimeout),
		notNegative("RevokeTimeout", c.revokeTimeout), notNegative("HandlerTimeout", c.handlerTimeout)); err != nil {
		return err
	}
	switch {
	case c.maxAttempts < 1:
		return invalid("Retries: max attempts %d must be >= 1", c.maxAttempts)
	case c.backoffInitial < 0 || c.backoffMax < c.backoffInitial:
		return invalid("Retries: backoff %v..%v invalid", c.backoffInitial, c.backoffMax)
	case c.retryTopic != "" && (c.retryDelay < 0 || c.retryMaxRounds < 1):
		return invalid("RetryTopic: delay %v, rounds %d invalid", c.retryDelay, c.retryMaxRounds)
	case c.retryTopic != "" && c.retryTopic == c.deadLetter:
		return invalid("retry topic and dead-letter topic are both %q", c.retryTopic)
	case c.batchSize < 0 || c.batchWait < 0:
		return invalid("BatchSize(%d, %v): want a size and a wait not negative", c.batchSize, c.batchWait)
	case c.shareMembers < 1:
		return invalid("ShareMembers(%d) must be >= 1", c.shareMembers)
	case c.shareGroup != "" && c.orderSet && c.order != OrderNone:
		return invalid("Ordering(%s) with ShareGroup: a share group hands any record to any member, "+
			"so no key or partition order can hold; use OrderNone, or a consumer group for order", c.order)
	case c.shareGroup != "" && c.retryTopic != "":
		return invalid("RetryTopic with ShareGroup: a share group redelivers released records itself (see ShareGroup)")
	case m == modeBatch && c.batchSize > c.maxConcurrency:
		return invalid("BatchSize(%d) above MaxConcurrency(%d) with NewBatch: a batch holds one record per handler goroutine",
			c.batchSize, c.maxConcurrency)
	}
	return c.validateLimits()
}

// validateMode refuses options given where they have no effect.
func (c *cfg) validateMode(m mode) error {
	share := c.shareGroup != ""
	where := m.String()
	if share {
		where += " with ShareGroup"
	}
	switch {
	case c.given&givenShareMembers != 0 && !share:
		return invalid("ShareMembers(%d) with %s (no ShareGroup): only a share group runs several members", c.shareMembers, where)
	case c.given&givenBatchSize != 0 && m != modeBatch:
		return invalid("BatchSize(%d, %v) with %s: batches are NewBatch's", c.batchSize, c.batchWait, where)
	case share && m == modeTransform:
		return invalid("ShareGroup with NewTransform: a share group has no offsets to commit in a transaction")
	case share && c.given&givenCommitInterval != 0:
		return invalid("CommitInterval(%v) with %s: a share group acknowledges each record, it commits no offsets", c.commitInterval, where)
	case share && c.given&givenMaxMetadataBytes != 0:
		return invalid("MaxMetadataBytes(%d) with %s: a share group commits no offsets, so no completion metadata", c.maxMetadataBytes, where)
	case share && c.given&givenRevokeTimeout != 0:
		return invalid("RevokeTimeout(%v) with %s: a share group assigns no partitions, so none is revoked", c.revokeTimeout, where)
	case share && c.given&givenMaxPerPart != 0:
		return invalid("MaxBufferedPerPartition(%d) with %s: a share group's members poll records, not partitions "+
			"(a poll is at most min(MaxConcurrency, MaxBuffered))", c.maxPerPart, where)
	}
	return nil
}

// ClientOpts passes franz-go options for what is yours to choose: seed
// brokers, TLS/SASL, the consumer group (required) and the topics. The
// library then overrides what correctness needs: auto-commit is disabled,
// rebalances are blocked while a poll is being dispatched, the rebalance and
// offset-fetch callbacks are the library's, and ConsumeResetOffset defaults
// to the start of the log unless you set it. Options may be given more than
// once; they accumulate.
func ClientOpts(opts ...kgo.Opt) Opt {
	return opt(func(c *cfg) { c.clientOpts = append(c.clientOpts, opts...) })
}

// Ordering sets the ordering guarantee; the default is OrderKey (the New
// example shows each key's records handled in offset order).
func Ordering(o Order) Opt { return opt(func(c *cfg) { c.order, c.orderSet = o, true }) }

// MaxConcurrency bounds how many handler calls run at once, across all
// partitions (default 100). It may be far above the partition count.
func MaxConcurrency(n int) Opt { return opt(func(c *cfg) { c.maxConcurrency = n }) }

// MaxBuffered bounds how many records are admitted in total: waiting for a
// worker or their key, or running (default 10,000; strict). Polled records
// beyond it wait in a backlog of at most one poll, and kgo buffers at most
// one fetch response per broker on top. The library therefore sizes
// kgo.FetchMaxBytes from what fetched records measure: all the fetch
// responses (one per broker) decode to about MaxBuffered x 2.5 KiB (25 MiB
// at the default), within 1 MiB to kgo's 50 MiB default per response, and
// the size follows the measured bytes per record as they change. A
// kgo.FetchMaxBytes in ClientOpts pins the size instead. Memory is thus
// bounded by MaxBuffered records plus about two fetch responses per broker,
// whatever the backlog on the broker. In ShareGroup mode it bounds each
// member's poll instead: see ShareMembers for the sum.
func MaxBuffered(n int) Opt { return opt(func(c *cfg) { c.maxBuffered = n }) }

// MaxBufferedPerPartition is the per-partition backpressure threshold
// (default 2,000). A partition holding that many records, admitted plus
// polled and not yet admitted, has its fetching paused (only that partition)
// and resumed once it drains to half. It also caps a partition's fair share
// of MaxBuffered at admission, so that records of one partition do not take
// the room every other partition's keys need. It is not a hard cap: records
// a poll already returned are still admitted when MaxBuffered has room that
// no other partition can use, so a partition can hold up to one poll's
// records beyond it. MaxBuffered is the hard bound.
//
// Refused (ErrInvalidOption) with ShareGroup, which has no partitions
// assigned, no offsets and no commits.
func MaxBufferedPerPartition(n int) Opt {
	return opt(func(c *cfg) { c.maxPerPart, c.given = n, c.given|givenMaxPerPart })
}

// CommitInterval sets how often completed offsets are committed. The default,
// 0, commits back to back: as soon as the previous commit returned and a
// record completed since, one commit in flight at a time. Records completed
// since the last commit are processed again after a crash, so back to back
// keeps that replay to about one commit round trip of completions.
//
// Measured in the lab (kill -9 of a consumer with 64 handlers of 0-8 ms
// running, 12 partitions, ~7k records/s; two runs of 15 kills per interval,
// seeds 13-15): duplicates per kill 4,415 and 4,173 at 1s, 835 and 1,214 at
// 250ms, 22 and 18 back to back, against 62-64 records in flight at each
// kill (back to back: 0.28-0.36x the records in flight). Throughput showed
// no cost beyond the machine's noise: lab records/s, medians of 3, 8,249
// and 8,450 at 1s, 7,156 and 8,470 at 250ms, 7,216 and 8,017 back to back
// (single runs 5,066-9,465); concurrency 500 with 5 ms handlers, 1M
// records: 88.6-89.0k records/s at 100ms and 1s, 88.6-88.7k back to back. The
// costs are CPU and the broker: about one commit per round trip (~400/s at
// 86k records/s with 500 handlers of 5 ms, 12 partitions, against 1/s at 1s),
// each encoding and carrying every changed partition's completion map (at
// most MaxMetadataBytes each) into __consumer_offsets; the consumer used 5.7
// us of CPU per record there against 2.7-3.2 us at 250ms and 1s. Under CPU
// saturation commits slow down and so grow fewer by themselves. Set an
// interval where that CPU or that write rate matters more than the replay.
//
// Refused (ErrInvalidOption) with ShareGroup, which has no partitions
// assigned, no offsets and no commits.
func CommitInterval(d time.Duration) Opt {
	return opt(func(c *cfg) { c.commitInterval, c.given = d, c.given|givenCommitInterval })
}

// MaxMetadataBytes must not exceed the broker's offset.metadata.max.bytes
// (default 4096, as the broker). It bounds the completion map in commits.
//
// Refused (ErrInvalidOption) with ShareGroup, which has no partitions
// assigned, no offsets and no commits.
func MaxMetadataBytes(n int) Opt {
	return opt(func(c *cfg) { c.maxMetadataBytes, c.given = n, c.given|givenMaxMetadataBytes })
}

// DrainTimeout bounds how long Close (or cancelling Run's context) waits for
// in-flight handlers before the final commit (default 30s). Handlers still
// running then see their context cancelled; their records are not committed.
func DrainTimeout(d time.Duration) Opt { return opt(func(c *cfg) { c.drainTimeout = d }) }

// RevokeTimeout bounds how long a revoked partition waits for its in-flight
// handlers before committing and letting the rebalance proceed (default
// 15s). Keep it below the group's rebalance timeout.
//
// Refused (ErrInvalidOption) with ShareGroup, which has no partitions
// assigned, no offsets and no commits.
func RevokeTimeout(d time.Duration) Opt {
	return opt(func(c *cfg) { c.revokeTimeout, c.given = d, c.given|givenRevokeTimeout })
}

// HandlerTimeout gives each handler call a context deadline (default none).
// A timed-out call counts as a failed attempt.
func HandlerTimeout(d time.Duration) Opt { return opt(func(c *cfg) { c.handlerTimeout = d }) }

// Retries sets in-place retries: up to maxAttempts handler calls per record
// (default 3), sleeping an exponential backoff from initial to max (defaults
// 100ms, 5s) with full jitter between them. Under OrderKey and
// OrderPartition the record's key (or partition) waits while it retries.
func Retries(maxAttempts int, initial, max time.Duration) Opt {
	return opt(func(c *cfg) { c.maxAttempts, c.backoffInitial, c.backoffMax = maxAttempts, initial, max })
}

// RetryTopic sends a record that exhausted its in-place attempts to topic,
// due again after delay, for up to rounds trips (defaults 10s, 3). The
// consumer subscribes to topic itself and holds each of its records until
// due without blocking any other partition. The topic must exist. The source
// record counts as done once the retry record is written.
func RetryTopic(topic string, delay time.Duration, rounds int) Opt {
	return opt(func(c *cfg) { c.retryTopic, c.retryDelay, c.retryMaxRounds = topic, delay, rounds })
}

// DeadLetterTopic writes records that failed every attempt (and every retry
// round) to topic with headers naming their origin, error, attempt count and
// first and last failure times. Without it, such a record stops the consumer:
// Run returns an error wrapping ErrRecordFailed and the record is never
// committed.
func DeadLetterTopic(topic string) Opt { return opt(func(c *cfg) { c.deadLetter = topic }) }

// RetryBackoff replaces the in-place retries' exponential backoff with fn:
// after failed attempt n (1, 2, ...) with error err, the record waits
// fn(n, err) before attempt n+1 (0 or less: at once). Retries still sets the
// number of attempts. For callers with their own delay policy, e.g. the
// Retry-After of a rate-limited API. Under OrderKey and OrderPartition the
// record's key (or partition) waits meanwhile. nil restores the default.
func RetryBackoff(fn func(attempt int, err error) time.Duration) Opt {
	return opt(func(c *cfg) { c.backoffFn = fn })
}

// Logf receives the library's rare diagnostic lines (failed commits, corrupt
// commit metadata). Default: discarded.
func Logf(fn func(format string, args ...any)) Opt { return opt(func(c *cfg) { c.logf = fn }) }

// Sentinel errors, for errors.Is.
var (
	// ErrInvalidOption wraps every option validation failure.
	ErrInvalidOption = errors.New("parallel: invalid option")
	// ErrNoGroup: ClientOpts named no consumer group; commits need one.
	ErrNoGroup = errors.New("parallel: ClientOpts must include kgo.ConsumerGroup")
	// ErrNoHandler: New was given a nil handler.
	ErrNoHandler = errors.New("parallel: nil handler")
	// ErrRecordFailed: a record failed all attempts and had nowhere to go.
	ErrRecordFailed = errors.New("parallel: record failed and no dead-letter topic is configured")
	// ErrNotAuthorized: the broker refused the group, a topic, or a write to
	// the retry or dead-letter topic (an ACL is missing). Run stops with it,
	// naming what was refused; the record that needed the refused write is
	// not committed.
	ErrNotAuthorized = errors.New("parallel: not authorized")
	// ErrRunning: Run was called twice.
	ErrRunning = errors.New("parallel: Run already called")
	// ErrClosed: Run was called after Close.
	ErrClosed = errors.New("parallel: consumer closed")
	// ErrFinalCommit: the stop drained its handlers but the last commit
	// failed. Nothing is lost (the group's committed offsets are simply
	// older), but records completed since the last successful commit will be
	// processed again by whoever consumes the partitions next.
	ErrFinalCommit = errors.New("parallel: final commit failed")
)

// PanicError is the failure recorded when a handler panics.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("parallel: handler panic: %v", e.Value) }
