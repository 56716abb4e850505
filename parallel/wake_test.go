package parallel_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/parallel"
	"github.com/kpar/kpar/parallel/internal/testkit"
)

// Records held for good by a stuck key leave less room than a completion
// needs to free before it wakes the poll loop: the room left is still used
// (the sweeper wakes the loop), so the other keys' records all run. With
// MaxBuffered 64 a completion wakes the loop once 4 records are free; the
// stuck key holds 62.
func TestRoomLeftBesideAStuckKeyIsStillUsed(t *testing.T) {
	seeds := testkit.Kfake(t)
	topic := testkit.Topic(t, seeds, 1)
	const stuck, free = 62, 200
	cl := testkit.Client(t, seeds)
	var rs []*kgo.Record
	for i := 0; i < stuck+free; i++ {
		key := "free"
		if i < stuck {
			key = "stuck"
		}
		rs = append(rs, &kgo.Record{Topic: topic, Key: []byte(key), Value: []byte(strconv.Itoa(i))})
	}
	if err := cl.ProduceSync(context.Background(), rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var ran atomic.Int64
	h := func(ctx context.Context, r *kgo.Record) error {
		if string(r.Key) == "stuck" {
			select {
			case <-release:
			case <-ctx.Done():
				return ctx.Err()
			}
			return nil
		}
		ran.Add(1)
		return nil
	}
	c := testkit.Consumer(t, seeds, testkit.TopicName(t), h, []string{topic},
		parallel.MaxBuffered(64), parallel.MaxBufferedPerPartition(64), parallel.MaxConcurrency(4))
	stop := testkit.Run(t, c)
	testkit.WaitFor(t, 30*time.Second, "every record of the free key run beside the stuck one", func() bool { return ran.Load() == free })
	close(release)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
