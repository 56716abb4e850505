// Package size measures the tree against its size limits: no non-test Go
// file over MaxFileLines, no function over MaxFuncLines. Long files and
// functions are where a reader gets lost and where repeated code hides.
package size

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

const (
	MaxFileLines = 500
	MaxFuncLines = 80
)

// Report is what Measure found.
type Report struct {
	Over         []string // "path: N lines" and "path:line: func F is N lines"
	ToolkitLines int      // non-test lines of cmd/ and internal/
	ToolkitFiles int
	OtherLines   int // non-test lines of parallel/ and examples/
}

// Measure walks root's Go files (not testdata, not hidden directories).
func Measure(root string, maxFile, maxFunc int) (Report, error) {
	var r Report
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "bin" || name == "results") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		lines := strings.Count(string(src), "\n")
		top := strings.SplitN(filepath.ToSlash(rel), "/", 2)[0]
		switch top {
		case "cmd", "internal":
			r.ToolkitLines += lines
			r.ToolkitFiles++
		default:
			r.OtherLines += lines
		}
		if lines > maxFile {
			r.Over = append(r.Over, fmt.Sprintf("%s: %d lines (limit %d)", rel, lines, maxFile))
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, p, src, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			a, b := fset.Position(fn.Pos()).Line, fset.Position(fn.End()).Line
			if n := b - a + 1; n > maxFunc {
				r.Over = append(r.Over, fmt.Sprintf("%s:%d: func %s is %d lines (limit %d)", rel, a, fn.Name.Name, n, maxFunc))
			}
		}
		return nil
	})
	sort.Strings(r.Over)
	return r, err
}
