package window

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

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
	resp, err := adm.CreateTopic(ctx, int32(c.Partitions), 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return nil, fmt.Errorf("create topic %s: %w", topic, err)
	}
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("start offsets of %s: %w", topic, err)
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	var empty, full int
	for p := range c.Partitions {
		s, ok1 := starts.Lookup(topic, int32(p))
		e, ok2 := ends.Lookup(topic, int32(p))
		switch {
		case !ok1 || !ok2 || s.Err != nil || e.Err != nil:
			return nil, fmt.Errorf("topic %s: partition %d: no offsets (does it have %d partitions?)", topic, p, c.Partitions)
		case s.Offset == 0 && e.Offset == 0:
			empty++
		case s.Offset == 0 && e.Offset == int64(c.RecordsPerPartition):
			full++
		}
	}
	if len(ends[topic]) != c.Partitions || (empty != c.Partitions && full != c.Partitions) {
		return nil, fmt.Errorf("topic %s exists but does not hold %d partitions of %d records each from offset 0; delete it or name another",
			topic, c.Partitions, c.RecordsPerPartition)
	}
	if full == c.Partitions {
		return keys, nil
	}
	var perrMu sync.Mutex
	var perr error
	val := []byte("window-record-16")
	for i := range c.RecordsPerPartition {
		for p := range c.Partitions {
			r := &kgo.Record{Topic: topic, Partition: int32(p), Key: []byte(recordKey(p, i, c.Partitions, c.Keys)), Value: val}
			cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
				perrMu.Lock()
				if err != nil && perr == nil {
					perr = err
				}
				perrMu.Unlock()
			})
		}
	}
	if err := cl.Flush(ctx); err != nil {
		return nil, err
	}
	perrMu.Lock()
	defer perrMu.Unlock()
	if perr != nil {
		return nil, fmt.Errorf("produce to %s: %w", topic, perr)
	}
	if ends, err = adm.ListEndOffsets(ctx, topic); err != nil {
		return nil, fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	for p := range c.Partitions {
		if e, _ := ends.Lookup(topic, int32(p)); e.Offset != int64(c.RecordsPerPartition) {
			return nil, fmt.Errorf("topic %s: partition %d holds %d records after producing, want %d", topic, p, e.Offset, c.RecordsPerPartition)
		}
	}
	return keys, nil
}
