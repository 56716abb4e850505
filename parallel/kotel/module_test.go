package kotel_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
	alone := graphOf(t, lib, "github.com/kpar/kpar/parallel")
	if strings.Contains(alone, "go.opentelemetry.io") {
		t.Errorf("a module importing only parallel pulls OpenTelemetry:\n%s", alone)
	}
	if !strings.Contains(alone, "github.com/twmb/franz-go ") {
		t.Fatalf("go list -m all lacks franz-go:\n%s", alone)
	}
	with := graphOf(t, lib, "github.com/kpar/kpar/parallel", "github.com/kpar/kpar/parallel/kotel")
	if !strings.Contains(with, "go.opentelemetry.io/otel ") {
		t.Fatalf("a module importing kotel has no OpenTelemetry in its graph: the check sees nothing\n%s", with)
	}
}

// graphOf builds a module in a temp dir whose main imports pkgs (the
// library's modules replaced by the tree at lib) and returns
// `go list -m -e all`.
func graphOf(t *testing.T, lib string, pkgs ...string) string {
	t.Helper()
	dir := t.TempDir()
	gomod := "module example.com/user\n\ngo 1.26.8\n\n"
	main := "package main\n\nimport (\n"
	sums := ""
	for _, p := range pkgs {
		sub := strings.TrimPrefix(strings.TrimPrefix(p, "github.com/kpar/kpar/parallel"), "/")
		gomod += "replace " + p + " => " + filepath.Join(lib, sub) + "\n"
		main += "\t_ \"" + p + "\"\n"
		b, err := os.ReadFile(filepath.Join(lib, sub, "go.sum"))
		if err != nil {
			t.Fatal(err)
		}
		sums += string(b)
	}
	main += ")\n\nfunc main() {}\n"
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
	return run("list", "-m", "-e", "all")
}
