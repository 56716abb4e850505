package workload

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ProduceInput writes recs to topic, keyed, with the idempotent producer so
// that per-key order on the broker is the produce order.
func ProduceInput(ctx context.Context, cl *kgo.Client, topic string, recs []Record) error {
	batch := make([]*kgo.Record, len(recs))
	for i, r := range recs {
		batch[i] = &kgo.Record{Topic: topic, Key: []byte(r.Key), Value: EncodeRecord(r)}
	}
	if err := cl.ProduceSync(ctx, batch...).FirstErr(); err != nil {
		return fmt.Errorf("produce input to %s: %w", topic, err)
	}
	return nil
}

// ReadAll returns every record of topic up to the high watermarks taken when
// it starts, in offset order per partition. The lab calls it only after every
// writer has stopped, so that snapshot is the whole topic.
// clientOpts (TLS, SASL) go to both of its clients.
func ReadAll(ctx context.Context, seeds []string, topic string, clientOpts ...kgo.Opt) ([]*kgo.Record, error) {
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
	total := 0
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			want[o.Partition] = o.Offset
			offsets[topic][o.Partition] = kgo.NewOffset().AtStart()
			total += int(o.Offset)
		}
	})
	if len(want) == 0 {
		return nil, nil
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(seeds...), kgo.ConsumePartitions(offsets),
		kgo.FetchMaxWait(100 * time.Millisecond)}, clientOpts...)...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	out := make([]*kgo.Record, 0, total)
	for len(want) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("read %s: %w (%d partitions unfinished)", topic, err, len(want))
		}
		if errs := fs.Errors(); len(errs) > 0 {
			return nil, fmt.Errorf("read %s partition %d: %w", topic, errs[0].Partition, errs[0].Err)
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
