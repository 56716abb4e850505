// Command testsummary reads `go test -json` on stdin and prints what a person
// needs: each package's result, the full output of failed tests, every skipped
// test with its reason (so a skipped integration test is visible, not
// hidden), the tests counted per module (-modules: the repository holds
// several, and `go test ./...` enters only one) and a closing
// "N passed, N failed, N skipped" line.
// It exits 1 when any test or package failed, or when fewer tests ran in
// all than -min (a module silently left out of the run).
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

type summary struct {
	count
	failedPkgs []string
	skips      []string
	perModule  map[string]*count   // module path -> its tests
	modules    []string            // the module paths to count by
	outputs    map[string][]string // package/test -> output lines
}

type count struct{ passed, failed, skipped int }

func (c count) total() int { return c.passed + c.failed + c.skipped }

// add counts a test that ended with action (pass, skip or fail).
func (c *count) add(action string) {
	switch action {
	case "pass":
		c.passed++
	case "skip":
		c.skipped++
	case "fail":
		c.failed++
	}
}

// moduleOf returns the longest of modules that is pkg or a prefix of it at
// a path boundary, or pkg itself when none is.
func moduleOf(pkg string, modules []string) string {
	best := ""
	for _, m := range modules {
		if (pkg == m || strings.HasPrefix(pkg, m+"/")) && len(m) > len(best) {
			best = m
		}
	}
	if best == "" {
		return pkg
	}
	return best
}

func summarize(r io.Reader, w io.Writer, modules []string) (summary, error) {
	s := summary{perModule: map[string]*count{}, modules: modules, outputs: map[string][]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			// Build errors arrive as plain text: pass them through.
			fmt.Fprintln(w, sc.Text())
			continue
		}
		s.add(w, e)
	}
	s.printTotals(w)
	return s, sc.Err()
}

// add takes one event: output is kept until its test or package ends.
func (s *summary) add(w io.Writer, e event) {
	key := e.Package + "/" + e.Test
	switch e.Action {
	case "output":
		if e.Test != "" || strings.HasPrefix(e.Output, "FAIL") || strings.HasPrefix(e.Output, "#") {
			s.outputs[key] = append(s.outputs[key], e.Output)
		}
		return
	case "pass", "skip", "fail":
	default:
		return
	}
	out := strings.Join(s.outputs[key], "")
	switch {
	case e.Test == "":
		s.packageEnded(w, e, out)
	default:
		s.count.add(e.Action)
		m := moduleOf(e.Package, s.modules)
		if s.perModule[m] == nil {
			s.perModule[m] = &count{}
		}
		s.perModule[m].add(e.Action)
		if e.Action == "skip" {
			s.skips = append(s.skips, fmt.Sprintf("%s %s: %s", e.Package, e.Test, skipReason(s.outputs[key])))
		} else if e.Action == "fail" {
			fmt.Fprintf(w, "--- FAIL %s %s\n%s", e.Package, e.Test, out)
		}
	}
	delete(s.outputs, key)
}

func (s *summary) packageEnded(w io.Writer, e event, out string) {
	switch e.Action {
	case "pass":
		fmt.Fprintf(w, "ok    %s\t%.1fs\n", e.Package, e.Elapsed)
	case "skip":
		fmt.Fprintf(w, "?     %s\t[no test files]\n", e.Package)
	case "fail":
		s.failedPkgs = append(s.failedPkgs, e.Package)
		fmt.Fprintf(w, "FAIL  %s\t%.1fs\n%s", e.Package, e.Elapsed, out)
	}
}

// skipReason is a skipped test's last output line other than the test's
// own === and --- lines.
func skipReason(outputs []string) string {
	reason := ""
	for _, o := range outputs {
		if t := strings.TrimSpace(o); t != "" && !strings.HasPrefix(t, "=== ") && !strings.HasPrefix(t, "--- ") {
			reason = t
		}
	}
	return reason
}

// printTotals lists the skipped tests and the tests per module.
func (s *summary) printTotals(w io.Writer) {
	sort.Strings(s.skips)
	if len(s.skips) > 0 {
		fmt.Fprintf(w, "\nskipped tests (%d):\n", len(s.skips))
		for _, k := range s.skips {
			fmt.Fprintln(w, "  "+k)
		}
	}
	if len(s.perModule) == 0 {
		return
	}
	names := make([]string, 0, len(s.perModule))
	for m := range s.perModule {
		names = append(names, m)
	}
	sort.Strings(names)
	fmt.Fprintf(w, "\ntests per module:\n")
	for _, m := range names {
		c := s.perModule[m]
		fmt.Fprintf(w, "  %-40s %4d (%d passed, %d failed, %d skipped)\n", m, c.total(), c.passed, c.failed, c.skipped)
	}
}

func main() {
	modules := flag.String("modules", "", "space-separated module paths to count tests by")
	minTotal := flag.Int("min", 0, "fail when fewer tests than this ran in all (0: no floor)")
	flag.Parse()
	s, err := summarize(os.Stdin, os.Stdout, strings.Fields(*modules))
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	}
	fmt.Printf("\n%d passed, %d failed, %d skipped\n", s.passed, s.failed, s.skipped)
	short := *minTotal > 0 && s.total() < *minTotal
	if *minTotal > 0 {
		fmt.Printf("%d tests in all, the floor is %d", s.total(), *minTotal)
		if short {
			fmt.Printf(": %d fewer; a module or package was left out of the run\n", *minTotal-s.total())
		} else {
			fmt.Println()
		}
	}
	if s.failed > 0 || len(s.failedPkgs) > 0 || short {
		os.Exit(1)
	}
}
