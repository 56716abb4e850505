package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestSummarizeCountsAndShowsSkipReasonsAndFailures(t *testing.T) {
	in := strings.Join([]string{
		`{"Action":"run","Package":"p","Test":"TestA"}`,
		`{"Action":"pass","Package":"p","Test":"TestA"}`,
		`{"Action":"output","Package":"p","Test":"TestB","Output":"    x_test.go:9: needs a broker\n"}`,
		`{"Action":"skip","Package":"p","Test":"TestB"}`,
		`{"Action":"output","Package":"p","Test":"TestC","Output":"    x_test.go:12: boom\n"}`,
		`{"Action":"fail","Package":"p","Test":"TestC"}`,
		`{"Action":"fail","Package":"p","Elapsed":1.5}`,
		`# build error text`,
	}, "\n")
	var out bytes.Buffer
	s, err := summarize(strings.NewReader(in), &out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.passed != 1 || s.failed != 1 || s.skipped != 1 || len(s.failedPkgs) != 1 {
		t.Fatalf("got %+v", s)
	}
	for _, want := range []string{"needs a broker", "boom", "FAIL  p", "# build error text"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// Tests are counted by the longest module path their package falls under,
// at a path boundary: github.com/x/yz is not in module github.com/x/y.
func TestSummarizeCountsTestsPerModule(t *testing.T) {
	in := strings.Join([]string{
		`{"Action":"pass","Package":"github.com/x/y/internal/a","Test":"TestA"}`,
		`{"Action":"pass","Package":"github.com/x/y/lib","Test":"TestB"}`,
		`{"Action":"skip","Package":"github.com/x/y/lib/sub","Test":"TestC"}`,
		`{"Action":"pass","Package":"github.com/x/yz","Test":"TestD"}`,
	}, "\n")
	var out bytes.Buffer
	s, err := summarize(strings.NewReader(in), &out, []string{"github.com/x/y", "github.com/x/y/lib"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for m, c := range s.perModule {
		got[m] = c.passed + c.failed + c.skipped
	}
	want := map[string]int{"github.com/x/y": 1, "github.com/x/y/lib": 2, "github.com/x/yz": 1}
	if len(got) != len(want) {
		t.Fatalf("per module %v, want %v", got, want)
	}
	for m, n := range want {
		if got[m] != n {
			t.Errorf("module %s: %d tests, want %d", m, got[m], n)
		}
	}
	if s.total() != 4 || !strings.Contains(out.String(), "github.com/x/y/lib") {
		t.Fatalf("total %d, output:\n%s", s.total(), out.String())
	}
}
