package stuck

import (
	"bufio"
	"context"
	"errors"
	"io"
	"testing"
	"time"
)

// The stuck records are held by the release line and nothing else: not by
// time passing, not by other lines, not by a line that only starts with it.
// The end of stdin before it is the driver gone, an error, never a release.
func TestGateOpensOnlyOnTheReleaseLine(t *testing.T) {
	pr, pw := io.Pipe()
	g := newGate(lines(pr))
	held := func(what string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if err := g.wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s: wait = %v, want still held (the deadline)", what, err)
		}
	}
	held("nothing written")
	for _, l := range []string{"progress\n", "releases\n", "re", "lease now\n", "\n"} {
		if _, err := io.WriteString(pw, l); err != nil {
			t.Fatal(err)
		}
		held("after " + l)
	}
	if _, err := io.WriteString(pw, ReleaseLine+"\n"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.wait(ctx); err != nil {
		t.Fatalf("after the release line: wait = %v, want nil", err)
	}
	// Later waits (the same partition's replay is not held, but any other
	// stuck record is) pass at once.
	if err := g.wait(ctx); err != nil {
		t.Fatalf("a second wait = %v, want nil", err)
	}
	// Stdin ending after the release still says the driver is gone (the
	// process then stops), but never takes the release back.
	pw.Close()
	select {
	case <-g.gone:
	case <-ctx.Done():
		t.Fatal("the end of stdin after the release did not close gone")
	}
	if err := g.wait(ctx); err != nil {
		t.Fatalf("a wait after the release and the end of stdin = %v, want nil", err)
	}
}

func TestGateStdinEndingBeforeTheReleaseIsTheDriverGone(t *testing.T) {
	pr, pw := io.Pipe()
	g := newGate(lines(pr))
	if _, err := io.WriteString(pw, "something else\n"); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.wait(ctx); !errors.Is(err, errDriverGone) {
		t.Fatalf("wait = %v, want errDriverGone", err)
	}
	select {
	case <-g.open:
		t.Fatal("the end of stdin opened the gate")
	default:
	}
}

// lines is stdin's lines after the spec, as the child protocol hands them.
func lines(r io.Reader) <-chan string {
	c := make(chan string)
	go func() {
		defer close(c)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			c <- sc.Text()
		}
	}()
	return c
}
