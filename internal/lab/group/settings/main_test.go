package settings

import (
	"context"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
)

// The test binary doubles as the member process, as the kpar binary does in
// production: re-executed with this variable set, it runs one member.
const envMember = "KPAR_GROUP_SETTINGS_TEST_MEMBER"

func TestMain(m *testing.M) {
	if os.Getenv(envMember) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		code := MemberMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

func testMember(args []string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), envMember+"=1")
	return cmd
}
