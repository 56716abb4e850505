package parallel_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
	mods := graphOf(t, lib, false, "github.com/kpar/kpar/parallel")
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
	withKprom := graphOf(t, lib, true, "github.com/kpar/kpar/parallel", "github.com/kpar/kpar/parallel/kprom")
	if !strings.Contains(withKprom, "github.com/prometheus/client_golang ") {
		t.Fatalf("a module importing kprom has no prometheus in its graph: the check sees nothing\n%s", withKprom)
	}
}

// graphOf writes a module in a temp dir whose main imports pkgs (the
// library's modules replaced by the tree at lib), builds it and returns
// `go list -m all`. It works from the module cache alone (GOPROXY=off):
// the toolkit's `go mod download` has fetched everything the library needs.
func graphOf(t *testing.T, lib string, lenient bool, pkgs ...string) string {
	t.Helper()
	dir := t.TempDir()
	gomod := "module example.com/user\n\ngo 1.26.8\n\nreplace github.com/kpar/kpar/parallel => " + lib + "\n"
	main := "package main\n\nimport (\n"
	for _, p := range pkgs {
		main += "\t_ " + `"` + p + `"` + "\n"
		if p != "github.com/kpar/kpar/parallel" {
			gomod += "replace " + p + " => " + filepath.Join(lib, strings.TrimPrefix(p, "github.com/kpar/kpar/parallel/")) + "\n"
		}
	}
	main += ")\n\nfunc main() {}\n"
	sums := ""
	for _, p := range pkgs {
		b, err := os.ReadFile(filepath.Join(lib, strings.TrimPrefix(strings.TrimPrefix(p, "github.com/kpar/kpar/parallel"), "/"), "go.sum"))
		if err != nil {
			t.Fatal(err)
		}
		sums += string(b)
	}
	for name, body := range map[string]string{"go.mod": gomod, "main.go": main, "go.sum": sums} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s in a module importing %v: %v\n%s", strings.Join(args, " "), pkgs, err, out)
		}
		return string(out)
	}
	for _, p := range pkgs {
		run("get", p)
	}
	run("build", "./...")
	if lenient {
		return run("list", "-m", "-e", "all")
	}
	return run("list", "-m", "all")
}
