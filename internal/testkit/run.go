package testkit

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"
)

// RunWithin runs an experiment, run(ctx, cfg), with a context that ends
// after limit, and fails the test on its error.
func RunWithin[C, R any](t testing.TB, limit time.Duration, run func(context.Context, C) (R, error), cfg C) R {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	r, err := run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Within waits at most limit for done to close and returns how long that
// took; when done stays open it fails the test with failure.
func Within(t testing.TB, done <-chan struct{}, limit time.Duration, failure string) time.Duration {
	t.Helper()
	start := time.Now()
	select {
	case <-done:
		return time.Since(start)
	case <-time.After(limit):
		t.Fatal(failure)
		return 0
	}
}

// SkipShort skips the test under -short, why naming what makes it long
// (a JVM, Maven, a cluster of its own).
func SkipShort(t testing.TB, why string) {
	t.Helper()
	if testing.Short() {
		t.Skip(why)
	}
}

// EnvSkipLifecycle, when "1", skips the tests that start brokers of their
// own on fixed ports (they would collide with another run's).
const EnvSkipLifecycle = "KPAR_SKIP_LIFECYCLE"

// StartsBrokers guards a test that starts brokers of its own: it skips
// under -short (why names what it starts) and ends it as Unavailable under
// KPAR_SKIP_LIFECYCLE=1.
func StartsBrokers(t testing.TB, why string) {
	t.Helper()
	SkipShort(t, why)
	if os.Getenv(EnvSkipLifecycle) == "1" {
		Unavailable(t, "%s=1 asks to skip the tests that start a broker", EnvSkipLifecycle)
	}
}

// Port is the base port of a cluster a test starts itself: def, or the
// environment variable env's value, which moves it where def's ports are
// taken. Anything but a whole number from 1024 to max fails the test,
// naming env.
func Port(t testing.TB, env string, def, max int) int {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		return def
	}
	p, err := strconv.Atoi(v)
	if err != nil || p < 1024 || p > max {
		t.Fatalf("%s=%q: want a base port between 1024 and %d", env, v, max)
	}
	return p
}
