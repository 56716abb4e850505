package testkit

import (
	"fmt"
	"testing"
)

// reports records what a check reports instead of failing the test (a
// Fatal returns, where a test's would end it).
type reports struct {
	testing.TB
	got []string
}

func (r *reports) Helper()                           {}
func (r *reports) Errorf(format string, args ...any) { r.Fatalf(format, args...) }
func (r *reports) Fatal(args ...any)                 { r.got = append(r.got, fmt.Sprint(args...)) }
func (r *reports) Skip(args ...any)                  { r.Fatal(args...) }
func (r *reports) Fatalf(format string, args ...any) {
	r.got = append(r.got, fmt.Sprintf(format, args...))
}

// Contains and Lacks report each string that breaks them, and nothing
// when the text agrees: the checks built on them can fail.
func TestContainsAndLacksReportEachMismatch(t *testing.T) {
	e := &reports{TB: t}
	Contains(e, "md", "alpha beta", "alpha", "gamma", "delta")
	Lacks(e, "md", "alpha beta", "beta", "gamma")
	if len(e.got) != 3 {
		t.Fatalf("want 3 reports (gamma, delta missing; beta present), got %q", e.got)
	}
}
