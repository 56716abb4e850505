package testkit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// RunWithin hands back the result, fails on the run's error, and gives the
// run a context that ends.
func TestRunWithinFailsOnTheRunsErrorAndBoundsIt(t *testing.T) {
	r := &reports{TB: t}
	got := RunWithin(r, time.Minute, func(ctx context.Context, n int) (int, error) {
		if _, ok := ctx.Deadline(); !ok {
			return 0, errors.New("no deadline")
		}
		return n + 1, nil
	}, 41)
	if got != 42 || len(r.got) != 0 {
		t.Fatalf("got %d, reports %q", got, r.got)
	}
	RunWithin(r, time.Minute, func(context.Context, int) (int, error) { return 0, errors.New("broken run") }, 0)
	if len(r.got) != 1 || r.got[0] != "broken run" {
		t.Fatalf("reports %q, want the run's error", r.got)
	}
}

// Within returns once done closes and fails, with the message given, when
// it stays open past the limit.
func TestWithinFailsWhenDoneStaysOpen(t *testing.T) {
	r := &reports{TB: t}
	closed := make(chan struct{})
	close(closed)
	Within(r, closed, time.Second, "never")
	Within(r, make(chan struct{}), 10*time.Millisecond, "still open")
	if len(r.got) != 1 || r.got[0] != "still open" {
		t.Fatalf("reports %q, want only the open channel's", r.got)
	}
}

// Port takes the default, a good override, and refuses anything else
// naming the variable.
func TestPortTakesTheOverrideAndRefusesABadOne(t *testing.T) {
	const env = "KPAR_TESTKIT_TEST_PORT"
	for _, tc := range []struct {
		val  string
		want int
		bad  bool
	}{
		{"", 19092, false},
		{"20000", 20000, false},
		{"1024", 1024, false},
		{"x", 0, true},
		{"80", 0, true},
		{"32700", 0, true},
	} {
		t.Setenv(env, tc.val)
		r := &reports{TB: t}
		got := Port(r, env, 19092, 32664)
		if tc.bad != (len(r.got) == 1) || !tc.bad && got != tc.want {
			t.Errorf("%s=%q: port %d, reports %q", env, tc.val, got, r.got)
		}
		if tc.bad && !strings.Contains(r.got[0], env) {
			t.Errorf("the refusal does not name %s: %q", env, r.got)
		}
	}
}

// StartsBrokers ends a test under KPAR_SKIP_LIFECYCLE=1 (a skip, or a
// failure under KPAR_REQUIRE_BROKER=1) and lets it run otherwise, but for
// -short.
func TestStartsBrokersHonoursSkipLifecycle(t *testing.T) {
	for _, tc := range []struct {
		env  string
		ends bool
	}{{"1", true}, {"", testing.Short()}} {
		t.Setenv(EnvSkipLifecycle, tc.env)
		r := &reports{TB: t}
		StartsBrokers(r, "starts brokers")
		if ended := len(r.got) > 0; ended != tc.ends {
			t.Errorf("%s=%q: reports %q, want the test ended: %v", EnvSkipLifecycle, tc.env, r.got, tc.ends)
		}
	}
}
