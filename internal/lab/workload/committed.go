package workload

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// committedIdle is how long ReadAllCommitted waits for more records of a
// partition whose last offset it has not seen. Once every writer stopped
// that only happens after a transaction: its last offset is a commit or
// abort marker, which no reader is ever handed.
const committedIdle = 1500 * time.Millisecond

// ReadAllCommitted is ReadAll as a read_committed reader: records of
// aborted transactions are skipped. A partition is done when its last
// record (end offset - 1) is read or, since that can be a transaction
// marker, when nothing more comes for committedIdle.
// clientOpts (TLS, SASL) go to both of its clients.
func ReadAllCommitted(ctx context.Context, seeds []string, topic string, clientOpts ...kgo.Opt) ([]*kgo.Record, error) {
	adm, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(seeds...)}, clientOpts...)...)
	if err != nil {
		return nil, err
	}
	ends, err := kadm.NewClient(adm).ListEndOffsets(ctx, topic)
	adm.Close()
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	want := map[int32]int64{}
	offsets := map[string]map[int32]kgo.Offset{topic: {}}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			want[o.Partition] = o.Offset
			offsets[topic][o.Partition] = kgo.NewOffset().AtStart()
		}
	})
	if len(want) == 0 {
		return nil, nil
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(seeds...), kgo.ConsumePartitions(offsets),
		kgo.FetchMaxWait(100 * time.Millisecond), kgo.FetchIsolationLevel(kgo.ReadCommitted())}, clientOpts...)...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	var out []*kgo.Record
	for len(want) > 0 {
		pctx, cancel := context.WithTimeout(ctx, committedIdle)
		fs := cl.PollFetches(pctx)
		cancel()
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("read %s: %w (%d partitions unfinished)", topic, err, len(want))
		}
		if pctx.Err() != nil && fs.NumRecords() == 0 {
			return out, nil // idle: the rest ends in markers
		}
		for _, e := range fs.Errors() {
			if !errors.Is(e.Err, context.DeadlineExceeded) {
				return nil, fmt.Errorf("read %s partition %d: %w", topic, e.Partition, e.Err)
			}
		}
		fs.EachRecord(func(r *kgo.Record) {
			end, ok := want[r.Partition]
			if !ok || r.Offset >= end {
				return
			}
			out = append(out, r)
			if r.Offset == end-1 {
				delete(want, r.Partition)
			}
		})
	}
	return out, nil
}
