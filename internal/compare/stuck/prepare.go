package stuck

import (
	"context"
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/kafka"

	"github.com/kpar/kpar/parallel"
)

// roomAbove counts the records of partition p above the stuck one that
// the order lets run while it is stuck: under key order not those of its
// key, which wait behind it; under partition order none.
func roomAbove(c Config, p int, stuck, end int64) int {
	above := end - stuck - 1
	switch c.Order {
	case parallel.OrderPartition:
		return 0
	case parallel.OrderKey:
		above -= above / int64(keysOf(p, c.Partitions, c.Keys))
	}
	return int(max(above, 0))
}

// keysOf is how many keys partition p of parts gets out of keys: key j
// belongs to partition j % parts.
func keysOf(p, parts, keys int) int {
	n := keys / parts
	if p < keys%parts {
		n++
	}
	return max(n, 1)
}

// recordKey is the key of the i-th record of partition p: its keys in turn,
// so the stuck record's key comes back every keysOf records.
func recordKey(p, i, parts, keys int) string {
	return "k" + strconv.Itoa(p+parts*(i%keysOf(p, parts, keys)))
}

// prepare creates the topic and writes RecordsPerPartition records into
// each partition, unless it already holds exactly that. It returns the
// keys per partition.
func prepare(ctx context.Context, cl *kgo.Client, adm *kadm.Client, c Config, topic string) ([]int, error) {
	keys := make([]int, c.Partitions)
	for p := range keys {
		keys[p] = keysOf(p, c.Partitions, c.Keys)
	}
	if _, err := kafka.Create(ctx, adm, []kafka.Topic{{Name: topic, Partitions: c.Partitions}}, kafka.Existing()); err != nil {
		return nil, err
	}
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("start offsets of %s: %w", topic, err)
	}
	ends, err := kafka.EndsOf(ctx, adm, topic)
	if err != nil {
		return nil, err
	}
	var empty, full int
	for p := range c.Partitions {
		s, ok1 := starts.Lookup(topic, int32(p))
		e, ok2 := ends[int32(p)]
		switch {
		case !ok1 || !ok2 || s.Err != nil:
			return nil, fmt.Errorf("topic %s: partition %d: no offsets (does it have %d partitions?)", topic, p, c.Partitions)
		case s.Offset == 0 && e == 0:
			empty++
		case s.Offset == 0 && e == int64(c.RecordsPerPartition):
			full++
		}
	}
	if len(ends) != c.Partitions || (empty != c.Partitions && full != c.Partitions) {
		return nil, fmt.Errorf("topic %s exists but does not hold %d partitions of %d records each from offset 0; delete it or name another",
			topic, c.Partitions, c.RecordsPerPartition)
	}
	if full == c.Partitions {
		return keys, nil
	}
	val := []byte("window-record-16")
	var produced kgo.FirstErrPromise
	for i := range c.RecordsPerPartition {
		for p := range c.Partitions {
			cl.Produce(ctx, &kgo.Record{Topic: topic, Partition: int32(p), Key: []byte(recordKey(p, i, c.Partitions, c.Keys)), Value: val},
				produced.Promise())
		}
	}
	if err := produced.Err(); err != nil {
		return nil, fmt.Errorf("produce to %s: %w", topic, err)
	}
	after, err := kafka.EndsOf(ctx, adm, topic)
	if err != nil {
		return nil, err
	}
	for p := range c.Partitions {
		if e := after[int32(p)]; e != int64(c.RecordsPerPartition) {
			return nil, fmt.Errorf("topic %s: partition %d holds %d records after producing, want %d", topic, p, e, c.RecordsPerPartition)
		}
	}
	return keys, nil
}
