// Command testsummary reads `go test -json` on stdin and prints what a person
// needs: each package's result, the full output of failed tests, every skipped
// test with its reason (so a skipped integration test is visible, not
// hidden), and a closing "N passed, N failed, N skipped" line.
// It exits 1 when any test or package failed.
package main

import (
	"bufio"
	"encoding/json"
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
	passed, failed, skipped int
	failedPkgs              []string
	skips                   []string
}

func summarize(r io.Reader, w io.Writer) (summary, error) {
	var s summary
	outputs := map[string][]string{} // package/test -> output lines
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil {
			// Build errors arrive as plain text: pass them through.
			fmt.Fprintln(w, string(line))
			continue
		}
		key := e.Package + "/" + e.Test
		switch e.Action {
		case "output":
			if e.Test != "" || strings.HasPrefix(e.Output, "FAIL") || strings.HasPrefix(e.Output, "#") {
				outputs[key] = append(outputs[key], e.Output)
			}
		case "pass":
			if e.Test != "" {
				s.passed++
			} else {
				fmt.Fprintf(w, "ok    %s\t%.1fs\n", e.Package, e.Elapsed)
			}
			delete(outputs, key)
		case "skip":
			if e.Test != "" {
				s.skipped++
				reason := ""
				for _, o := range outputs[key] {
					if t := strings.TrimSpace(o); t != "" && !strings.HasPrefix(t, "=== ") && !strings.HasPrefix(t, "--- ") {
						reason = t
					}
				}
				s.skips = append(s.skips, fmt.Sprintf("%s %s: %s", e.Package, e.Test, reason))
			} else {
				fmt.Fprintf(w, "?     %s\t[no test files]\n", e.Package)
			}
			delete(outputs, key)
		case "fail":
			if e.Test != "" {
				s.failed++
				fmt.Fprintf(w, "--- FAIL %s %s\n%s", e.Package, e.Test, strings.Join(outputs[key], ""))
			} else {
				s.failedPkgs = append(s.failedPkgs, e.Package)
				fmt.Fprintf(w, "FAIL  %s\t%.1fs\n%s", e.Package, e.Elapsed, strings.Join(outputs[key], ""))
			}
			delete(outputs, key)
		}
	}
	sort.Strings(s.skips)
	if len(s.skips) > 0 {
		fmt.Fprintf(w, "\nskipped tests (%d):\n", len(s.skips))
		for _, k := range s.skips {
			fmt.Fprintln(w, "  "+k)
		}
	}
	return s, sc.Err()
}

func main() {
	s, err := summarize(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	}
	fmt.Printf("\n%d passed, %d failed, %d skipped\n", s.passed, s.failed, s.skipped)
	if s.failed > 0 || len(s.failedPkgs) > 0 {
		os.Exit(1)
	}
}
