package testkit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

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
