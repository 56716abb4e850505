package consumer

import (
	"context"
	"fmt"
	"testing"

	"github.com/kpar/kpar/internal/lab/worker"
	"github.com/kpar/kpar/internal/proc"
	"github.com/kpar/kpar/internal/testkit"
)

// The test binary doubles as the worker process (testkit.StartChild), as
// the kpar binary does in production (`kpar child lab-worker`).
func TestMain(m *testing.M) {
	testkit.ServeChild(m, func(ctx context.Context, p worker.Params, c *proc.Child) error {
		p.JavaSecurity = c.Client.Java
		if err := worker.Run(ctx, p, c.Out); err != nil {
			return fmt.Errorf("kpar lab worker: %w", err)
		}
		return nil
	})
}
