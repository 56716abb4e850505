package window

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"
)

// The test binary doubles as the kpar consumer process, as the kpar binary
// does in production (`kpar child window-kpar`): re-executed with this
// variable set, it runs ChildMain on its arguments.
const envChild = "KPAR_WINDOW_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(envChild) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		err := ChildMain(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
		stop()
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func testChild(args []string) ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return append([]string{"env", envChild + "=1", exe}, args...), nil
}
