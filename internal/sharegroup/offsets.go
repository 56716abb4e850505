// Package sharegroup reads what a share group (KIP-932) has acknowledged:
// the share-group stand-in for a consumer group's committed offsets, which
// share groups do not have, as the lab reads it. Setting a group's
// configs (reading from the start, the delivery limit, the lock duration)
// is the library's public github.com/kpar/kpar/parallel/sharegroup, which
// the toolkit imports too.
//
// The broker reports per partition the share-partition start offset (every
// record below it is in a terminal state: accepted, rejected or archived)
// and, since DescribeShareGroupOffsets v1, the lag: records at or above the
// start offset that are not terminal yet (available, or acquired by a
// member). The start offset alone is not "done": on Kafka 4.3.1 it was seen
// to stay at 150 of 300 with every record acknowledged and the lag at 0.
// So the lab takes lag 0 as "the group acknowledged everything", and end
// minus lag as how much it has acknowledged.
package sharegroup

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Partition is one share-partition's state. Start and Lag are -1 while the
// share-partition has no state yet (no member fetched it).
type Partition struct {
	Start int64
	Lag   int64
}

// Offsets returns topic's share-partition states in group, by partition
// (kadm's DescribeShareGroupOffsets, which asks for every topic of the
// group). Partitions the broker does not report are absent.
func Offsets(ctx context.Context, cl *kgo.Client, group, topic string) (map[int32]Partition, error) {
	described, err := kadm.NewClient(cl).DescribeShareGroupOffsets(ctx, group)
	if err == nil {
		err = described.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("share group %s offsets: %w", group, err)
	}
	out := map[int32]Partition{}
	for part, o := range described[group].Offsets[topic] {
		if o.Err != nil {
			return nil, fmt.Errorf("share group %s offsets of %s[%d]: %w", group, topic, part, o.Err)
		}
		out[part] = Partition{Start: o.StartOffset, Lag: o.Lag}
	}
	return out, nil
}

// Acknowledged is how many of a partition's records (end = its end offset)
// are in a terminal state, and whether that is all of them. A partition the
// group has not started on has acknowledged nothing, unless it is empty.
func Acknowledged(p Partition, ok bool, end int64) (n int64, all bool) {
	if end <= 0 {
		return 0, true
	}
	if !ok || p.Lag < 0 {
		return 0, false
	}
	n = max(0, end-p.Lag)
	return n, p.Lag == 0
}
