package kotel_test

import (
	"path/filepath"
	"strings"
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
	if strings.Contains(alone, "go.opentelemetry.io") {
		t.Errorf("a module importing only parallel pulls OpenTelemetry:\n%s", alone)
	}
	if !strings.Contains(alone, "github.com/twmb/franz-go ") {
		t.Fatalf("go list -m all lacks franz-go:\n%s", alone)
	}
	with := testkit.ModuleGraph(t, lib, true, "github.com/kpar/kpar/parallel", "github.com/kpar/kpar/parallel/kotel")
	if !strings.Contains(with, "go.opentelemetry.io/otel ") {
		t.Fatalf("a module importing kotel has no OpenTelemetry in its graph: the check sees nothing\n%s", with)
	}
}
