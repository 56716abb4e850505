package window

import (
	"context"
	"os"
	"testing"

	"github.com/kpar/kpar/internal/testkit"
)

// The test binary doubles as the kpar consumer process, as the kpar binary
// does in production (`kpar child window-kpar`): re-executed with this
// variable set, it runs ChildMain on its arguments.
const child = testkit.Child("KPAR_WINDOW_TEST_CHILD")

func TestMain(m *testing.M) {
	child.Main(m, func(ctx context.Context, args []string) int {
		return testkit.ExitCode(ChildMain(ctx, args, os.Stdin, os.Stdout, os.Stderr))
	})
}

var testChild = child.Argv
