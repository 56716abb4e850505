package flagcheck

import "testing"

// The first flag below its bound is named with its value and the bound; a
// value at the bound passes, so the check cannot pass by refusing everything.
func TestAtLeastNamesTheFirstFlagBelowItsBound(t *testing.T) {
	if err := AtLeast(Int("keys", 1, 1), Int("seed", int64(0), 0)); err != nil {
		t.Fatalf("values at their bounds refused: %v", err)
	}
	err := AtLeast(Int("keys", 1, 1), Int("records", 1, 2), Int("partitions", 0, 1))
	if err == nil || err.Error() != "--records 1: must be at least 2" {
		t.Fatalf("got %v, want --records 1: must be at least 2", err)
	}
	if err := Int("seed", int64(-1), 0).Err(); err == nil || err.Error() != "--seed -1: must be at least 0" {
		t.Fatalf("got %v, want --seed -1: must be at least 0", err)
	}
}
