package stuck

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/proc"
	"github.com/kpar/kpar/internal/progress"
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

// testConfig is the experiment on seeds with a fresh topic, the test's
// child, its processed logs in a temp dir and its progress in the log,
// and a context ending after limit.
func testConfig(t *testing.T, seeds []string, limit time.Duration) (Config, context.Context) {
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	t.Cleanup(cancel)
	c := DefaultConfig()
	c.Brokers, c.Child, c.Topic, c.Dir = seeds, testChild, testkit.TopicName(t), t.TempDir()
	c.Progress = func(e progress.Event) { t.Log(e.Line) }
	return c, ctx
}
