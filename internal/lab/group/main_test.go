package group

import (
	"context"
	"os"
	"testing"

	"github.com/kpar/kpar/internal/proc"
	"github.com/kpar/kpar/internal/testkit"
)

// The test binary doubles as the member process, as the kpar binary does in
// production: re-executed with this variable set, it runs one member on the
// spec on its stdin.
const memberChild = testkit.Child("KPAR_GROUP_TEST_MEMBER")

func TestMain(m *testing.M) {
	testkit.ServeChild(m, memberChild, func(ctx context.Context, p MemberParams, c *proc.Child) error {
		p.ClientOpts = c.Client.Opts
		return RunMember(ctx, p, c.Out, os.Stderr)
	})
}

var testMember = memberChild.Exe().Start
