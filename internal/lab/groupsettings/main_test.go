package groupsettings

import (
	"context"
	"testing"

	"github.com/kpar/kpar/internal/proc"
	"github.com/kpar/kpar/internal/testkit"
)

// The test binary doubles as the member process (testkit.StartChild), as
// the kpar binary does in production (`kpar child group-settings-member`).
func TestMain(m *testing.M) {
	testkit.ServeChild(m, func(ctx context.Context, s MemberSpec, c *proc.Child) error { return RunMember(ctx, s, c.Out) })
}
