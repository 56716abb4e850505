package kotel_test

import (
	"path/filepath"
	"testing"

	"github.com/kpar/kpar/parallel/internal/testkit"
)

// A throwaway module outside the tree that imports only the library pulls no
// OpenTelemetry into its module graph; one that imports kotel does (so the
// check can fail). Run from this module: its test build has fetched
// OpenTelemetry into the module cache, so GOPROXY=off suffices.
func TestAModuleImportingOnlyTheLibraryPullsNoOpenTelemetry(t *testing.T) {
	lib, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	alone := testkit.ModuleGraph(t, lib, true, "github.com/kpar/kpar/parallel")
	testkit.CheckGraph(t, alone, "a module importing only parallel", []string{"github.com/twmb/franz-go"}, []string{"go.opentelemetry.io"})
	with := testkit.ModuleGraph(t, lib, true, "github.com/kpar/kpar/parallel", "github.com/kpar/kpar/parallel/kotel")
	testkit.CheckGraph(t, with, "a module importing kotel (without OpenTelemetry the check sees nothing)",
		[]string{"go.opentelemetry.io/otel"}, nil)
}
