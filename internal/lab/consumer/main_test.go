package consumer

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/kpar/kpar/internal/lab/worker"
	"github.com/kpar/kpar/internal/proc"
)

// The test binary doubles as the worker process, as the kpar binary does in
// production: re-executed with this variable set, it runs one worker on
// the spec on its stdin.
const envWorker = "KPAR_LAB_TEST_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(envWorker) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		var p worker.Params
		ctx, c, err := proc.ReadSpec(ctx, os.Stdin, os.Stdout, &p)
		if err == nil {
			p.ClientOpts, p.JavaSecurity = c.Client.Opts, c.Client.Java
			err = worker.Run(ctx, p, c.Out)
		}
		stop()
		if err != nil {
			os.Stderr.WriteString("kpar lab worker: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

var testCommand = proc.Exe{Argv: []string{os.Args[0]}, Env: []string{envWorker + "=1"}}.Start
