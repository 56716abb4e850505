package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kpar/kpar/internal/testkit"
)

// The broker watch leaves a run alone while the broker answers and
// cancels it, naming the broker, once it stopped answering for the stall
// timeout.
func TestWatchBrokersCancelsOnceTheBrokerStopsAnswering(t *testing.T) {
	c := testkit.KfakeCluster(t, kfake.NumBrokers(1))
	seeds := c.ListenAddrs()
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	go watchBrokers(ctx, cancel, seeds, time.Second, nil)
	time.Sleep(3 * time.Second)
	if ctx.Err() != nil {
		t.Fatalf("cancelled while the broker answers: %v", context.Cause(ctx))
	}
	c.Close()
	took := testkit.Within(t, ctx.Done(), 15*time.Second, "not cancelled 15 s after the broker stopped, with a 1 s stall timeout")
	t.Logf("cancelled %s after the broker stopped", took.Round(time.Millisecond))
	if err := context.Cause(ctx); !strings.Contains(err.Error(), "the broker at "+seeds[0]+" has not answered for 1s") {
		t.Fatalf("cause %v", err)
	}
}
