package testkit

import (
	"fmt"
	"testing"
)

// errors records what a check reports instead of failing the test.
type errors struct {
	testing.TB
	got []string
}

func (e *errors) Helper() {}

func (e *errors) Errorf(format string, args ...any) {
	e.got = append(e.got, fmt.Sprintf(format, args...))
}

// Contains and Lacks report each string that breaks them, and nothing
// when the text agrees: the checks built on them can fail.
func TestContainsAndLacksReportEachMismatch(t *testing.T) {
	e := &errors{TB: t}
	Contains(e, "md", "alpha beta", "alpha", "gamma", "delta")
	Lacks(e, "md", "alpha beta", "beta", "gamma")
	if len(e.got) != 3 {
		t.Fatalf("want 3 reports (gamma, delta missing; beta present), got %q", e.got)
	}
}
