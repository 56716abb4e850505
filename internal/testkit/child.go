package testkit

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/kpar/kpar/internal/proc"
)

// childEnv turns a re-executed test binary into its package's child process
// (a worker, a group member, a consumer), as `kpar child ...` does in
// production: the test binary doubles as the child. A test binary holds one
// package's tests and serves one child, so one name serves every package.
const childEnv = "KPAR_TEST_CHILD"

// StartChild starts this test binary as its package's child (the one its
// TestMain serves with ServeChild): the proc.Starter a Config takes where
// production gives it `kpar child <name>`.
func StartChild(ctx context.Context, name string, spec any, o proc.Options) (*proc.Process, error) {
	return proc.Exe{Argv: []string{os.Args[0]}, Env: []string{childEnv + "=1"}}.Start(ctx, name, spec, o)
}

// ServeChild is a TestMain body. In the child (started by StartChild) it
// reads the spec line on stdin (proc.ReadSpec, which fills a spec's
// ClientOpts as for `kpar child`) and runs run on it, with a context that ends on SIGTERM, an interrupt or the
// end of stdin; it exits 1 with the error on stderr when either fails, else
// 0. Otherwise it runs the tests.
func ServeChild[S any](m *testing.M, run func(ctx context.Context, spec S, ch *proc.Child) error) {
	if os.Getenv(childEnv) != "1" {
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
