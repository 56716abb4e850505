package testkit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/proc"
)

// echoSpec is what this package's own child (TestMain) is given.
type echoSpec struct {
	Word string `json:"word"`
	Fail bool   `json:"fail"`
}

func TestMain(m *testing.M) {
	ServeChild(m, func(_ context.Context, s echoSpec, _ *proc.Child) error {
		if s.Fail {
			return errors.New("asked to fail")
		}
		fmt.Println("got " + s.Word)
		return nil
	})
}

// The test binary started by StartChild serves the spec it is given, and a
// run that fails exits non-zero with its error on stderr.
func TestStartChildServesTheSpecAndReportsItsError(t *testing.T) {
	for _, tc := range []struct {
		spec echoSpec
		out  string // stdout, or the error
	}{
		{echoSpec{Word: "hello"}, "got hello"},
		{echoSpec{Fail: true}, "asked to fail"},
	} {
		var mu sync.Mutex
		var lines []string
		p, err := StartChild(t.Context(), "echo", tc.spec, proc.Options{OnLine: func(l []byte) {
			mu.Lock()
			defer mu.Unlock()
			lines = append(lines, string(l))
		}})
		if err != nil {
			t.Fatal(err)
		}
		_ = p.Wait()
		err = p.Err()
		mu.Lock()
		got := strings.Join(lines, "\n")
		mu.Unlock()
		if tc.spec.Fail {
			if err == nil || !strings.Contains(err.Error(), tc.out) || p.ExitCode() != 1 {
				t.Errorf("failing child: exit %d, error %v, want 1 naming %q", p.ExitCode(), err, tc.out)
			}
		} else if err != nil || got != tc.out {
			t.Errorf("child: %v, stdout %q, want %q", err, got, tc.out)
		}
	}
}

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

func TestWriteFileMakesItsFolders(t *testing.T) {
	dir := t.TempDir()
	p := WriteFile(t, dir, "a/b/c.txt", "body")
	b, err := os.ReadFile(p)
	if err != nil || string(b) != "body" || p != filepath.Join(dir, "a", "b", "c.txt") {
		t.Fatalf("%s: %q, %v", p, b, err)
	}
}
