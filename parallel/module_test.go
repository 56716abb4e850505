package parallel_test

import (
	"path/filepath"
	"testing"

	"github.com/kpar/kpar/parallel/internal/testkit"
)

// The toolkit's dependencies that must never reach a user of the library.
var toolkitOnly = []string{"spf13/cobra", "gonum.org", "vbauerster/mpb", "prometheus", "HdrHistogram"}

// A throwaway module outside the tree that imports only the library (the
// local copy, through replace) builds, and its module graph holds franz-go
// and none of the toolkit's dependencies. The same check on a module that
// imports kprom finds prometheus: the check can fail.
func TestAModuleImportingOnlyTheLibraryPullsNoToolkitDependency(t *testing.T) {
	lib, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	mods := testkit.ModuleGraph(t, lib, false, "github.com/kpar/kpar/parallel")
	t.Logf("go list -m all of a module importing only parallel:\n%s", mods)
	testkit.CheckGraph(t, mods, "a module importing only parallel", []string{"github.com/twmb/franz-go"}, toolkitOnly)
	// -e: prometheus' graph names modules (test dependencies of its own
	// dependencies) that the toolkit never downloads.
	withKprom := testkit.ModuleGraph(t, lib, true, "github.com/kpar/kpar/parallel", "github.com/kpar/kpar/parallel/kprom")
	testkit.CheckGraph(t, withKprom, "a module importing kprom (without prometheus the check sees nothing)",
		[]string{"github.com/prometheus/client_golang"}, nil)
}
