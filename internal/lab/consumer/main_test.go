package consumer

import (
	"context"
	"fmt"
	"testing"

	"github.com/kpar/kpar/internal/lab/worker"
	"github.com/kpar/kpar/internal/proc"
	"github.com/kpar/kpar/internal/testkit"
)

// The test binary doubles as the worker process, as the kpar binary does in
// production: re-executed with this variable set, it runs one worker on
// the spec on its stdin.
const workerChild = testkit.Child("KPAR_LAB_TEST_WORKER")

func TestMain(m *testing.M) {
	testkit.ServeChild(m, workerChild, func(ctx context.Context, p worker.Params, c *proc.Child) error {
		p.ClientOpts, p.JavaSecurity = c.Client.Opts, c.Client.Java
		if err := worker.Run(ctx, p, c.Out); err != nil {
			return fmt.Errorf("kpar lab worker: %w", err)
		}
		return nil
	})
}

var testCommand = workerChild.Exe().Start
