package testkit

import (
	"context"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
)

// Child names the environment variable that turns a re-executed test binary
// into a child process (a worker, a group member, a consumer), as the kpar
// binary does in production: the test binary doubles as the child.
type Child string

// Main is a TestMain body: in the child it runs main on the binary's
// arguments, with a context cancelled by SIGTERM or an interrupt, and exits
// with main's code; otherwise it runs the tests.
func (c Child) Main(m *testing.M, main func(ctx context.Context, args []string) int) {
	if os.Getenv(string(c)) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		code := main(ctx, os.Args[1:])
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// Command re-executes the test binary as the child, with args.
func (c Child) Command(args []string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), string(c)+"=1")
	return cmd
}

// Argv is the command line (through env) that re-executes the test binary
// as the child, with args.
func (c Child) Argv(args []string) ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return append([]string{"env", string(c) + "=1", exe}, args...), nil
}

// ExitCode is a child's exit code for err: 0 for nil, else 1 with err on
// stderr.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	os.Stderr.WriteString(err.Error() + "\n")
	return 1
}
