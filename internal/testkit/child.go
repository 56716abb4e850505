package testkit

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/kpar/kpar/internal/proc"
)

// Child names the environment variable that turns a re-executed test binary
// into a child process (a worker, a group member, a consumer), as
// `kpar child ...` does in production: the test binary doubles as the child.
type Child string

// Exe re-executes the test binary as the child.
func (c Child) Exe() proc.Exe {
	return proc.Exe{Argv: []string{os.Args[0]}, Env: []string{string(c) + "=1"}}
}

// ServeChild is a TestMain body. In the child it reads the spec line on
// stdin (proc.ReadSpec) and runs run on it, with a context that ends on
// SIGTERM, an interrupt or the end of stdin; it exits 1 with the error on
// stderr when either fails, else 0. Otherwise it runs the tests.
func ServeChild[S any](m *testing.M, c Child, run func(ctx context.Context, spec S, ch *proc.Child) error) {
	if os.Getenv(string(c)) != "1" {
		os.Exit(m.Run())
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	var spec S
	ctx, ch, err := proc.ReadSpec(ctx, os.Stdin, os.Stdout, &spec)
	if err == nil {
		err = run(ctx, spec, ch)
	}
	stop()
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	os.Exit(0)
}
