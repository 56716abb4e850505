package stuck

import (
	"context"
	"os"
	"testing"

	"github.com/kpar/kpar/internal/proc"
	"github.com/kpar/kpar/internal/testkit"
)

// The test binary doubles as the kpar consumer process, as the kpar binary
// does in production (`kpar child window-kpar`): re-executed with this
// variable set, it runs RunChild on the spec on its stdin.
const child = testkit.Child("KPAR_WINDOW_TEST_CHILD")

func TestMain(m *testing.M) {
	testkit.ServeChild(m, child, func(ctx context.Context, s ChildSpec, c *proc.Child) error {
		s.ClientOpts = c.Client.Opts
		return RunChild(ctx, s, c.Commands, os.Stdout)
	})
}

var testChild = child.Exe().Start
