package group

import (
	"context"
	"os"
	"testing"

	"github.com/kpar/kpar/internal/proc"
	"github.com/kpar/kpar/internal/testkit"
)

// The test binary doubles as the member process (testkit.StartChild), as
// the kpar binary does in production (`kpar child group-member`).
func TestMain(m *testing.M) {
	testkit.ServeChild(m, func(ctx context.Context, p MemberParams, c *proc.Child) error {
		return RunMember(ctx, p, c.Out, os.Stderr)
	})
}
