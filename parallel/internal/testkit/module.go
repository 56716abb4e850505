package testkit

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ModuleGraph writes a module in a temp dir whose main imports pkgs (the
// library's modules replaced by the tree at lib, the parallel module's
// root), builds it and returns `go list -m all` (with lenient, `-m -e all`:
// a graph may name modules, test dependencies of dependencies, that were
// never downloaded). It works from the module cache alone (GOPROXY=off):
// the caller's own test build has fetched everything pkgs need.
func ModuleGraph(t testing.TB, lib string, lenient bool, pkgs ...string) string {
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
	if lenient {
		return run("list", "-m", "-e", "all")
	}
	return run("list", "-m", "all")
}

// CheckGraph fails the test unless graph (ModuleGraph's, of the module what
// describes) names every module of has (its path then a space: that module,
// not one below it) and no module whose path holds a string of lacks.
func CheckGraph(t testing.TB, graph, what string, has, lacks []string) {
	t.Helper()
	for _, m := range has {
		if !strings.Contains(graph, m+" ") {
			t.Errorf("go list -m all of %s lacks %s:\n%s", what, m, graph)
		}
	}
	for _, bad := range lacks {
		if strings.Contains(graph, bad) {
			t.Errorf("%s pulls %s:\n%s", what, bad, graph)
		}
	}
}
