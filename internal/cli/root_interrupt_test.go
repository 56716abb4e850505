package cli

import (
	"context"
	"os"
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

// gen csv stops at its next chunk when interrupted and leaves neither the
// file nor its temporary copy behind.
func TestGenCSVStopsWhenInterruptedAndLeavesNoFile(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	if code := Execute(ctx, []string{"gen", "csv", "--rows", "5000000", "--out", dir + "/x.csv"}); code != 130 {
		t.Fatalf("exit %d with a cancelled context, want 130", code)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("files left after the interrupt: %v", left)
	}
}
