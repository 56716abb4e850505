package settings

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
const envMember = "KPAR_GROUP_SETTINGS_TEST_MEMBER"

func TestMain(m *testing.M) {
	if os.Getenv(envMember) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		var s MemberSpec
		ctx, c, err := proc.ReadSpec(ctx, os.Stdin, os.Stdout, &s)
		if err == nil {
			s.ClientOpts = c.Client.Opts
			err = RunMember(ctx, s, c.Out)
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
