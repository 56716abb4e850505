package consume

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/testkit"
)

// The stall watch leaves a run alone while its count moves, ends it once
// the count stopped for the stall timeout, and its one line says how far
// the run got and whether the broker answers, naming it.
func TestStallWatchEndsARunThatHandlesNothingAndNamesTheBroker(t *testing.T) {
	var n atomic.Int64
	ctx, w, cancel := watchStall(context.Background(), time.Second, n.Load)
	defer cancel()
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		n.Add(1)
	}
	if ctx.Err() != nil {
		t.Fatal("the watch ended a run whose count moved")
	}
	took := testkit.Within(t, ctx.Done(), 10*time.Second, "the run was not ended 10 s after its count stopped, with a 1 s stall timeout")
	t.Logf("ended %s after the count stopped", took.Round(time.Millisecond))
	err := w.err(context.Background(), "parallel run", 7, 10, []string{"127.0.0.1:1"}, nil)
	if err == nil || !strings.Contains(err.Error(), "no record handled for 1s, 7 of 10 distinct records: the broker at 127.0.0.1:1 does not answer") {
		t.Fatalf("stalled against a closed port: %v", err)
	}
	live := testkit.Kfake(t)
	if err := w.err(context.Background(), "plain run", 7, 10, live, nil); err == nil || !strings.Contains(err.Error(), "though the broker at "+live[0]+" answers") {
		t.Fatalf("stalled against a live broker: %v", err)
	}
	_, idle, stop := watchStall(context.Background(), time.Hour, n.Load)
	defer stop()
	if err := idle.err(context.Background(), "run", 0, 1, live, nil); err != nil {
		t.Fatalf("a watch that did not fire has an error: %v", err)
	}
}
