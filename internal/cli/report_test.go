package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// kpar report needs no broker: with nothing under --in it still writes the
// page, every section naming the command that produces it, and prints the
// page's path last (make run shows it); a missing --in is named.
func TestReportWritesThePageAndPrintsItsPath(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "site", "index.html")
	text, err := runKpar(t, "report", "--in", dir, "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(text, "wrote "+out+"\n") || !strings.Contains(text, "missing: run `kpar bench consume`") {
		t.Fatalf("output:\n%s", text)
	}
	if b, err := os.ReadFile(out); err != nil || !strings.Contains(string(b), `<section id="compare"`) {
		t.Fatalf("page: %v", err)
	}
	if _, err := runKpar(t, "report", "--in", filepath.Join(dir, "nope"), "--out", out); err == nil || !strings.Contains(err.Error(), "--in "+filepath.Join(dir, "nope")) {
		t.Fatalf("missing --in: %v", err)
	}
}
