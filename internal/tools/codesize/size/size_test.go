package size

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The repository stays within its limits: no non-test Go file over
// MaxFileLines, no function over MaxFuncLines.
func TestTheTreeStaysWithinItsSizeLimits(t *testing.T) {
	r, err := Measure(filepath.Join("..", "..", "..", ".."), MaxFileLines, MaxFuncLines)
	if err != nil {
		t.Fatal(err)
	}
	if r.ToolkitFiles == 0 {
		t.Fatal("no files measured: wrong root")
	}
	for _, o := range r.Over {
		t.Error(o)
	}
}

func TestALongFunctionAndALongFileAreReported(t *testing.T) {
	dir := t.TempDir()
	body := "package x\n\nfunc long() {\n" + strings.Repeat("\t_ = 1\n", 10) + "}\n"
	if err := os.MkdirAll(filepath.Join(dir, "internal"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "internal", "x.go"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Measure(dir, 10, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Over) != 2 || !strings.Contains(strings.Join(r.Over, "\n"), "func long is 12 lines") {
		t.Fatalf("over: %q", r.Over)
	}
}
