package settings

import (
	"context"
	"os"
	"testing"

	"github.com/kpar/kpar/internal/testkit"
)

// The test binary doubles as the member process, as the kpar binary does in
// production: re-executed with this variable set, it runs one member.
const memberChild = testkit.Child("KPAR_GROUP_SETTINGS_TEST_MEMBER")

func TestMain(m *testing.M) {
	memberChild.Main(m, func(ctx context.Context, args []string) int {
		return MemberMain(ctx, args, os.Stdout, os.Stderr)
	})
}

var testMember = memberChild.Command
