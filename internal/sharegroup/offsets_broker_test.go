package sharegroup_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/sharegroup"
	"github.com/kpar/kpar/internal/testkit"
	groupcfg "github.com/kpar/kpar/parallel/sharegroup"
)

// On the real broker: before any member fetched, the group reports no state
// for the topic (nothing acknowledged); once a share consumer accepted every
// record, Offsets shows lag 0 on the partition and Acknowledged counts all;
// three records produced after that are lag, not acknowledged.
func TestOffsetsShowEveryAcceptedRecordAcknowledged(t *testing.T) {
	seeds := testkit.Brokers(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	topic := testkit.Topic(t, seeds, 1)
	testkit.Produce(t, seeds, topic, 5, 5)
	cl := testkit.Client(t, seeds)
	group := "acked-" + topic
	if err := groupcfg.FromEarliest(ctx, cl, group); err != nil {
		t.Fatal(err)
	}
	st, err := sharegroup.Offsets(ctx, cl, group, topic)
	if err != nil {
		t.Fatal(err)
	}
	if n, all := sharegroup.Acknowledged(st[0], len(st) > 0, 5); n != 0 || all {
		t.Fatalf("before any fetch: %v -> %d acknowledged (all %v), want none", st, n, all)
	}
	sc := testkit.Client(t, seeds, kgo.ShareGroup(group), kgo.ConsumeTopics(topic))
	for seen := 0; seen < 5 && ctx.Err() == nil; {
		sc.PollFetches(ctx).EachRecord(func(r *kgo.Record) { seen++; r.Ack(kgo.AckAccept) })
		if err := sc.FlushAcks(ctx); err != nil {
			t.Fatalf("flush acks: %v", err)
		}
	}
	waitAcknowledged(ctx, t, cl, group, topic, 5, 5, true)
	testkit.Produce(t, seeds, topic, 3, 3)
	waitAcknowledged(ctx, t, cl, group, topic, 8, 5, false)
}

// waitAcknowledged waits until Offsets shows n of partition 0's end records
// acknowledged, all or not as said.
func waitAcknowledged(ctx context.Context, t *testing.T, cl *kgo.Client, group, topic string, end, n int64, all bool) {
	t.Helper()
	for {
		st, err := sharegroup.Offsets(ctx, cl, group, topic)
		p, ok := st[0]
		if gn, gall := sharegroup.Acknowledged(p, ok, end); err == nil && gn == n && gall == all {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("Offsets shows %v (%v) of %d records: want %d acknowledged (all %v) on partition 0", st, err, end, n, all)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
