package kafka

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// Offsets are offsets by topic and partition.
type Offsets map[string]map[int32]int64

// Sum adds every partition's offset: for end offsets, the records the
// topics hold plus those deleted, so the difference of two sums is the
// records written between.
func (o Offsets) Sum() int64 {
	var n int64
	for _, ps := range o {
		for _, v := range ps {
			n += v
		}
	}
	return n
}

// Ends lists the end offsets (high watermarks) of topics. A partition that
// did not answer, or a topic without partitions, fails it, named.
func Ends(ctx context.Context, adm *kadm.Client, topics ...string) (Offsets, error) {
	lo, err := adm.ListEndOffsets(ctx, topics...)
	return offsets("end offsets", topics, lo, err)
}

// Stable lists the last stable offsets of topics: where a read_committed
// reader stops, the first offset of the oldest transaction still open (the
// high watermark when none is).
func Stable(ctx context.Context, adm *kadm.Client, topics ...string) (Offsets, error) {
	lo, err := adm.ListCommittedOffsets(ctx, topics...)
	return offsets("last stable offsets", topics, lo, err)
}

// EndsOf is Ends of one topic, by partition.
func EndsOf(ctx context.Context, adm *kadm.Client, topic string) (map[int32]int64, error) {
	o, err := Ends(ctx, adm, topic)
	return o[topic], err
}

func offsets(what string, topics []string, lo kadm.ListedOffsets, err error) (Offsets, error) {
	name := strings.Join(topics, ", ")
	if err != nil {
		return nil, fmt.Errorf("%s of %s: %w", what, name, err)
	}
	out := Offsets{}
	var ferr error
	lo.Each(func(o kadm.ListedOffset) {
		if o.Err != nil && ferr == nil {
			ferr = fmt.Errorf("%s of %s[%d]: %w", what, o.Topic, o.Partition, o.Err)
		}
		if out[o.Topic] == nil {
			out[o.Topic] = map[int32]int64{}
		}
		out[o.Topic][o.Partition] = o.Offset
	})
	for _, t := range topics {
		if ferr == nil && len(out[t]) == 0 {
			ferr = fmt.Errorf("%s of %s: no partitions", what, t)
		}
	}
	if ferr != nil {
		return nil, ferr
	}
	return out, nil
}

// ErrUnsettled is Settle giving up on ends that kept moving.
var ErrUnsettled = errors.New("end offsets still moving")

// Settle lists the end offsets of topics every 100 ms until they have not
// moved for hold, and returns them. Under acks=0 the broker may still be
// appending after the writer stopped, and a replicated partition's high
// watermark moves only once its followers fetched (after an acks=1 write
// that can be long after the ack). Each listing gets 5 s of its own (a
// frozen node must not hold it); a failed one is tried again. After limit
// it returns the last ends listed with ErrUnsettled, or the listing error
// when none succeeded since.
func Settle(ctx context.Context, adm *kadm.Client, topics []string, hold, limit time.Duration) (Offsets, error) {
	deadline := time.Now().Add(limit)
	var last Offsets
	var lerr error
	since := time.Now()
	for {
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		now, err := Ends(lctx, adm, topics...)
		cancel()
		switch {
		case err != nil:
			lerr = err
		case !equal(now, last):
			last, since, lerr = now, time.Now(), nil
		case time.Since(since) >= hold:
			return last, nil
		default:
			lerr = nil
		}
		if time.Now().After(deadline) {
			if lerr != nil || last == nil {
				return last, lerr
			}
			return last, fmt.Errorf("%s after %s: %w", strings.Join(topics, ", "), limit, ErrUnsettled)
		}
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func equal(a, b Offsets) bool {
	return maps.EqualFunc(a, b, func(x, y map[int32]int64) bool { return maps.Equal(x, y) })
}
