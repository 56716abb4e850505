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

// The test binary doubles as the kpar consumer process (testkit.StartChild),
// as the kpar binary does in production (`kpar child window-kpar`).
func TestMain(m *testing.M) {
	testkit.ServeChild(m, func(ctx context.Context, s ChildSpec, c *proc.Child) error {
		return RunChild(ctx, s, c.Commands, os.Stdout)
	})
}

// testConfig is the experiment on seeds with a fresh topic, the test's
// child, its processed logs in a temp dir and its progress in the log,
// and a context ending after limit.
func testConfig(t *testing.T, seeds []string, limit time.Duration) (Config, context.Context) {
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	t.Cleanup(cancel)
	c := DefaultConfig()
	c.Brokers, c.Child, c.Topic, c.Dir = seeds, testkit.StartChild, testkit.TopicName(t), t.TempDir()
	c.Progress = func(e progress.Event) { t.Log(e.Line) }
	return c, ctx
}
