// Command apicheck records and checks the exported API of the library
// (module github.com/kpar/kpar/parallel: the package parallel and its public
// sub-packages, whose identifiers are recorded with their package name,
// sharegroup.Set) against parallel/api.txt, the API recorded at the last
// release: an identifier removed or changed since must
// be named in parallel/CHANGELOG.md's "Unreleased" section. Run from the
// repository root:
//
//	go run ./internal/tools/apicheck      # check (what the test does)
//	go run ./internal/tools/apicheck -w   # record the current API (at a release)
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	write := flag.Bool("w", false, "write the current API to parallel/api.txt instead of checking it")
	root := flag.String("root", ".", "repository root")
	flag.Parse()
	if err := run(*root, *write); err != nil {
		fmt.Fprintln(os.Stderr, "apicheck:", err)
		os.Exit(1)
	}
}

// packages are the library's public packages: the root package, its
// identifiers recorded as they are, and each sub-package, its identifiers
// recorded after the package's name.
var packages = []struct{ prefix, dir string }{
	{"", "parallel"},
	{"sharegroup.", "parallel/sharegroup"},
}

const (
	apiFile      = "parallel/api.txt"
	changelogMD  = "parallel/CHANGELOG.md"
	updateAdvice = "go run ./internal/tools/apicheck -w"
)

func run(root string, write bool) error {
	cur, err := DumpAll(root)
	if err != nil {
		return err
	}
	if write {
		return os.WriteFile(filepath.Join(root, apiFile), []byte(cur), 0o644)
	}
	return Check(root, cur)
}

// Check compares cur with the recorded API and the changelog.
func Check(root, cur string) error {
	rec, err := os.ReadFile(filepath.Join(root, apiFile))
	if err != nil {
		return fmt.Errorf("%w (record it with %s)", err, updateAdvice)
	}
	cl, err := os.ReadFile(filepath.Join(root, changelogMD))
	if err != nil {
		return err
	}
	changed, _ := Diff(string(rec), cur)
	if miss := Unmentioned(string(cl), changed); len(miss) > 0 {
		return fmt.Errorf("exported identifiers of package parallel removed or changed since %s, not named in %s's \"Unreleased\" section: %v",
			apiFile, changelogMD, miss)
	}
	return nil
}
