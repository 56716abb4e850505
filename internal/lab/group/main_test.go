package group

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/kpar/kpar/internal/proc"
)

// The test binary doubles as the member process, as the kpar binary does in
// production: re-executed with this variable set, it runs one member on the
// spec on its stdin.
const envMember = "KPAR_GROUP_TEST_MEMBER"

func TestMain(m *testing.M) {
	if os.Getenv(envMember) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		var p MemberParams
		ctx, c, err := proc.ReadSpec(ctx, os.Stdin, os.Stdout, &p)
		if err == nil {
			p.ClientOpts = c.Client.Opts
			err = RunMember(ctx, p, c.Out, os.Stderr)
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

var testMember = proc.Exe{Argv: []string{os.Args[0]}, Env: []string{envMember + "=1"}}.Start
