package kafka

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// DefaultStall is how long a read may go without getting further before it
// fails, when the caller names no stall timeout: the consumer lab's default
// --stall-timeout.
const DefaultStall = 30 * time.Second

// Reader reads a topic to its end once every writer has stopped. The end of
// a partition is its high watermark (or last stable offset, ToStable), taken
// when the read starts, or an end the caller gives; a read is
// done when it got there, never because a poll came back empty. Under
// read_committed the broker hands out records only up to the last stable
// offset, which an open transaction holds at its first record and which
// reaches the high watermark only once every transaction ended (its markers
// written, after the writer already heard back). So a read_committed read
// waits for late commits and aborts, and fails, naming the partition, if a
// partition gets no further for Stall.
type Reader struct {
	Seeds []string
	// ClientOpts (TLS, SASL) go to every client the read makes.
	ClientOpts []kgo.Opt
	// Stall: how long the read may go without getting further on any
	// partition before it fails; DefaultStall if zero.
	Stall time.Duration
}

// StalledError is a read that could not reach the end of every partition:
// each unfinished partition with how far it got.
type StalledError struct {
	Topic     string
	Committed bool // read_committed
	Stall     time.Duration
	Behind    []Behind
}

// Behind is one partition a read did not finish.
type Behind struct {
	Partition int32
	// Next is the offset the read had got to (every offset below it read
	// or skipped as a transaction marker or aborted record); End is the
	// end it had to reach; LastStable the last stable offset
	// when the read gave up (-1 if it could not be listed).
	Next, End, LastStable int64
}

func (e *StalledError) Error() string {
	level := "read_uncommitted"
	if e.Committed {
		level = "read_committed"
	}
	parts := make([]string, len(e.Behind))
	for i, b := range e.Behind {
		parts[i] = fmt.Sprintf("partition %d at offset %d of %d", b.Partition, b.Next, b.End)
		if e.Committed && b.LastStable >= 0 {
			parts[i] += fmt.Sprintf(" (last stable offset %d)", b.LastStable)
		}
	}
	return fmt.Sprintf("read of %s (%s) got no further for %s: %s", e.Topic, level, e.Stall, strings.Join(parts, ", "))
}

// Level is how far a read goes and what it is handed.
type Level int

const (
	// ToEnd reads read_uncommitted to the high watermarks.
	ToEnd Level = iota
	// ToEndCommitted reads read_committed to the high watermarks: records
	// of aborted transactions are skipped, transactions still open are
	// waited for (the read stalls on one that never ends).
	ToEndCommitted
	// ToStable reads read_committed to the last stable offsets listed when
	// the read starts: what is committed now, without waiting for the
	// transactions still open.
	ToStable
)

// All reads topic to its end, read_uncommitted, and returns its records in
// offset order per partition.
func (r Reader) All(ctx context.Context, topic string) ([]*kgo.Record, error) {
	return r.collect(ctx, topic, ToEnd)
}

// Committed reads topic to its end, read_committed (ToEndCommitted).
func (r Reader) Committed(ctx context.Context, topic string) ([]*kgo.Record, error) {
	return r.collect(ctx, topic, ToEndCommitted)
}

func (r Reader) collect(ctx context.Context, topic string, level Level) ([]*kgo.Record, error) {
	var out []*kgo.Record
	if _, err := r.Read(ctx, topic, level, nil, func(rec *kgo.Record) { out = append(out, rec) }); err != nil {
		return nil, err
	}
	return out, nil
}

// Read reads topic from the start of each partition to its end at level,
// calling each for every record (control records left out) in offset order
// per partition. ends, when not nil, are the ends to read to instead of
// those listed at the start. It returns how far it got on each partition
// to read; a read that gets no further for Stall fails with a
// *StalledError, returned with how far it got.
func (r Reader) Read(ctx context.Context, topic string, level Level, ends map[int32]int64, each func(*kgo.Record)) (map[int32]int64, error) {
	stall := r.Stall
	if stall <= 0 {
		stall = DefaultStall
	}
	adm, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(r.Seeds...)}, r.ClientOpts...)...)
	if err != nil {
		return nil, err
	}
	defer adm.Close()
	end, next, err := plan(ctx, adm, topic, level, ends)
	if err != nil || len(end) == 0 {
		return next, err
	}
	offsets := map[string]map[int32]kgo.Offset{topic: {}}
	for p := range end {
		offsets[topic][p] = kgo.NewOffset().AtStart()
	}
	// Control records (transaction markers) are kept so that the read sees
	// every offset up to the end, a marker as the last one included; they
	// are not handed to each.
	opts := []kgo.Opt{kgo.SeedBrokers(r.Seeds...), kgo.ConsumePartitions(offsets), kgo.KeepControlRecords(),
		kgo.FetchMaxWait(100 * time.Millisecond)}
	if level != ToEnd {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	cl, err := kgo.NewClient(append(opts, r.ClientOpts...)...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	moved := time.Now()
	for len(end) > 0 {
		if time.Since(moved) >= stall {
			return next, r.stalled(ctx, adm, topic, level != ToEnd, stall, end, next)
		}
		pctx, cancel := context.WithTimeout(ctx, min(time.Second, stall-time.Since(moved)))
		fs := cl.PollFetches(pctx)
		cancel()
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("read %s: %w (%d partitions unfinished)", topic, err, len(end))
		}
		for _, e := range fs.Errors() {
			if !errors.Is(e.Err, context.DeadlineExceeded) && !errors.Is(e.Err, context.Canceled) {
				return nil, fmt.Errorf("read %s partition %d: %w", topic, e.Partition, e.Err)
			}
		}
		fs.EachRecord(func(rec *kgo.Record) {
			e, ok := end[rec.Partition]
			if !ok || rec.Offset >= e {
				return
			}
			if rec.Offset+1 > next[rec.Partition] {
				next[rec.Partition] = rec.Offset + 1
				moved = time.Now()
			}
			if !rec.Attrs.IsControl() {
				each(rec)
			}
			if rec.Offset == e-1 {
				delete(end, rec.Partition)
			}
		})
	}
	return next, nil
}

// plan returns the partitions a read has to read with their ends (listed
// at level when ends is nil), and where it is on every partition: 0.
func plan(ctx context.Context, adm *kgo.Client, topic string, level Level, ends map[int32]int64) (end, next map[int32]int64, err error) {
	if ends == nil {
		list := Ends
		if level == ToStable {
			list = Stable
		}
		o, err := list(ctx, kadm.NewClient(adm), topic)
		if err != nil {
			return nil, nil, err
		}
		ends = o[topic]
	}
	end, next = map[int32]int64{}, map[int32]int64{}
	for p, e := range ends {
		next[p] = 0
		if e > 0 {
			end[p] = e
		}
	}
	return end, next, nil
}

// stalled builds the StalledError of a read, listing each unfinished
// partition's last stable offset as the broker gives it now.
func (r Reader) stalled(ctx context.Context, adm *kgo.Client, topic string, committed bool, stall time.Duration, end, next map[int32]int64) error {
	e := &StalledError{Topic: topic, Committed: committed, Stall: stall}
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	lso, err := Stable(lctx, kadm.NewClient(adm), topic)
	for p, hw := range end {
		b := Behind{Partition: p, Next: next[p], End: hw, LastStable: -1}
		if o, ok := lso[topic][p]; err == nil && ok {
			b.LastStable = o
		}
		e.Behind = append(e.Behind, b)
	}
	sort.Slice(e.Behind, func(i, j int) bool { return e.Behind[i].Partition < e.Behind[j].Partition })
	return e
}
