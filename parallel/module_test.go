package parallel_test

import (
	"path/filepath"
	"strings"
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
	if !strings.Contains(mods, "github.com/twmb/franz-go ") {
		t.Fatalf("go list -m all lacks franz-go:\n%s", mods)
	}
	for _, bad := range toolkitOnly {
		if strings.Contains(mods, bad) {
			t.Errorf("a module importing only parallel pulls %s:\n%s", bad, mods)
		}
	}
	// -e: prometheus' graph names modules (test dependencies of its own
	// dependencies) that the toolkit never downloads.
	withKprom := testkit.ModuleGraph(t, lib, true, "github.com/kpar/kpar/parallel", "github.com/kpar/kpar/parallel/kprom")
	if !strings.Contains(withKprom, "github.com/prometheus/client_golang ") {
		t.Fatalf("a module importing kprom has no prometheus in its graph: the check sees nothing\n%s", withKprom)
	}
}
