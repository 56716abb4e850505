package parallel_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kpar/kpar/parallel"
	"github.com/kpar/kpar/parallel/internal/testkit"
)

// A cluster that cannot register the transactional ID yet (here its
// answers to InitProducerID are cut off, beyond the client's own retries,
// as while a broker restarts) is waited for: NewTransform's Run retries
// and goes on to process every record, instead of stopping.
func TestTransformWaitsForAClusterThatCannotRegisterItsTransactionalIDYet(t *testing.T) {
	const n = 30
	kc, seeds := inAndOut(t, n)
	var refused atomic.Int64
	kc.ControlKey(int16(kmsg.InitProducerID), func(kmsg.Request) (kmsg.Response, error, bool) {
		kc.KeepControl()
		if refused.Add(1) <= 6 {
			return nil, errors.New("not yet"), true // the connection is cut
		}
		return nil, nil, false
	})
	var done atomic.Int64
	h := func(ctx context.Context, r *kgo.Record) ([]*kgo.Record, error) {
		done.Add(1)
		return []*kgo.Record{{Topic: "out", Value: r.Value}}, nil
	}
	c, err := parallel.NewTransform(h,
		parallel.ClientOpts(kgo.SeedBrokers(seeds...), kgo.ConsumerGroup("g"), kgo.ConsumeTopics("in"),
			kgo.TransactionalID("tx"), kgo.RequestRetries(1)))
	if err != nil {
		t.Fatal(err)
	}
	stop := testkit.Run(t, c)
	testkit.WaitFor(t, time.Minute, "every record processed", func() bool { return done.Load() >= n })
	if err := stop(); err != nil {
		t.Fatalf("Run returned %v after the cluster came back", err)
	}
	if refused.Load() <= 6 {
		t.Fatalf("InitProducerID asked %d times: the refusals were not exercised", refused.Load())
	}
}
