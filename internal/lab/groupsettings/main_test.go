package groupsettings

import (
	"context"
	"testing"

	"github.com/kpar/kpar/internal/proc"
	"github.com/kpar/kpar/internal/testkit"
)

// The test binary doubles as the member process, as the kpar binary does in
// production: re-executed with this variable set, it runs one member on the
// spec on its stdin.
const memberChild = testkit.Child("KPAR_GROUP_SETTINGS_TEST_MEMBER")

func TestMain(m *testing.M) {
	testkit.ServeChild(m, memberChild, func(ctx context.Context, s MemberSpec, c *proc.Child) error {
		s.ClientOpts = c.Client.Opts
		return RunMember(ctx, s, c.Out)
	})
}

var testMember = memberChild.Exe().Start
