package cli

import (
	"context"
	"testing"
)

// A command ended by SIGINT or SIGTERM (its context cancelled) exits 130
// and says it was interrupted, not "context canceled": here the broker
// probe of bench consume is what the cancelled context ends.
func TestAnInterruptedCommandExits130(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if code := Execute(ctx, []string{"bench", "consume", "--brokers", "127.0.0.1:1", "--out", t.TempDir()}); code != 130 {
		t.Fatalf("exit %d with a cancelled context, want 130", code)
	}
}
