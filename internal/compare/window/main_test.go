package window

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/kpar/kpar/internal/proc"
)

// The test binary doubles as the kpar consumer process, as the kpar binary
// does in production (`kpar child window-kpar`): re-executed with this
// variable set, it runs RunChild on the spec on its stdin.
const envChild = "KPAR_WINDOW_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(envChild) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		var s ChildSpec
		ctx, c, err := proc.ReadSpec(ctx, os.Stdin, os.Stdout, &s)
		if err == nil {
			s.ClientOpts = c.Client.Opts
			err = RunChild(ctx, s, c.Commands, os.Stdout)
		}
		stop()
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

var testChild = proc.Exe{Argv: []string{os.Args[0]}, Env: []string{envChild + "=1"}}.Start
