package workload

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
// a partition is its high watermark, taken when the read starts; a read is
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
	// high watermark it had to reach; LastStable the last stable offset
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

// ReadAll returns every record of topic up to the high watermarks taken when
// it starts, in offset order per partition, read_uncommitted, failing after
// DefaultStall without progress. The lab calls it only after every writer
// has stopped, so that snapshot is the whole topic. clientOpts (TLS, SASL)
// go to both of its clients.
func ReadAll(ctx context.Context, seeds []string, topic string, clientOpts ...kgo.Opt) ([]*kgo.Record, error) {
	return Reader{Seeds: seeds, ClientOpts: clientOpts}.All(ctx, topic)
}

// All reads topic to its end, read_uncommitted.
func (r Reader) All(ctx context.Context, topic string) ([]*kgo.Record, error) {
	return r.read(ctx, topic, false)
}

// Committed reads topic to its end, read_committed: records of aborted
// transactions are skipped, records of transactions still open are waited
// for.
func (r Reader) Committed(ctx context.Context, topic string) ([]*kgo.Record, error) {
	return r.read(ctx, topic, true)
}

func (r Reader) read(ctx context.Context, topic string, committed bool) ([]*kgo.Record, error) {
	stall := r.Stall
	if stall <= 0 {
		stall = DefaultStall
	}
	adm, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(r.Seeds...)}, r.ClientOpts...)...)
	if err != nil {
		return nil, err
	}
	defer adm.Close()
	ends, err := kadm.NewClient(adm).ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	end := map[int32]int64{}  // partitions left, with their high watermark
	next := map[int32]int64{} // how far the read got
	offsets := map[string]map[int32]kgo.Offset{topic: {}}
	total := 0
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			end[o.Partition] = o.Offset
			offsets[topic][o.Partition] = kgo.NewOffset().AtStart()
			total += int(o.Offset)
		}
	})
	if len(end) == 0 {
		return nil, nil
	}
	// Control records (transaction markers) are kept so that the read sees
	// every offset up to the end, a marker as the last one included; they
	// are dropped from what is returned.
	opts := []kgo.Opt{kgo.SeedBrokers(r.Seeds...), kgo.ConsumePartitions(offsets), kgo.KeepControlRecords(),
		kgo.FetchMaxWait(100 * time.Millisecond)}
	if committed {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	cl, err := kgo.NewClient(append(opts, r.ClientOpts...)...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	out := make([]*kgo.Record, 0, total)
	moved := time.Now()
	for len(end) > 0 {
		if time.Since(moved) >= stall {
			return nil, r.stalled(ctx, adm, topic, committed, stall, end, next)
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
				out = append(out, rec)
			}
			if rec.Offset == e-1 {
				delete(end, rec.Partition)
			}
		})
	}
	return out, nil
}

// stalled builds the StalledError of a read, listing each unfinished
// partition's last stable offset as the broker gives it now.
func (r Reader) stalled(ctx context.Context, adm *kgo.Client, topic string, committed bool, stall time.Duration, end, next map[int32]int64) error {
	e := &StalledError{Topic: topic, Committed: committed, Stall: stall}
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	lso, err := kadm.NewClient(adm).ListCommittedOffsets(lctx, topic)
	for p, hw := range end {
		b := Behind{Partition: p, Next: next[p], End: hw, LastStable: -1}
		if err == nil {
			if o, ok := lso.Lookup(topic, p); ok && o.Err == nil {
				b.LastStable = o.Offset
			}
		}
		e.Behind = append(e.Behind, b)
	}
	sort.Slice(e.Behind, func(i, j int) bool { return e.Behind[i].Partition < e.Behind[j].Partition })
	return e
}
