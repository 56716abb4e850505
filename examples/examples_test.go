// Package examples_test builds the example programs and runs each briefly
// against the real broker (KPAR_BROKERS), checking what it prints. Without a
// broker only the build is checked.
package examples_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/testkit"
)

// build compiles ./name into a temporary binary.
func build(t *testing.T, name string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	out, err := exec.Command("go", "build", "-o", bin, "./"+name).CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./%s: %v\n%s", name, err, out)
	}
	return bin
}

// runExample runs bin with args and returns its combined output; it fails
// the test on a non-zero exit or after a minute.
func runExample(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	t.Logf("%s %s:\n%s", filepath.Base(bin), strings.Join(args, " "), out)
	if err != nil {
		t.Fatalf("%s: %v", filepath.Base(bin), err)
	}
	return string(out)
}

var examples = []string{"keyed", "deadletter", "metrics", "share", "transform", "batchwriter", "member"}

func TestExamplesBuild(t *testing.T) {
	for _, name := range examples {
		build(t, name)
	}
}

// countOf returns how many of the values 0..n-1 is holds for.
func countOf(n int, is func(v int) bool) int {
	c := 0
	for v := range n {
		if is(v) {
			c++
		}
	}
	return c
}

// Each example, run small against the real broker, prints the facts of its
// lesson (the counts follow each example's own rules in its main.go). wants
// are looked for in the output with its white space folded; check, when
// set, reads numbers out of it.
func TestExamplesRun_RealBroker(t *testing.T) {
	const dlN, shareN = 60, 200
	poison := countOf(dlN, func(v int) bool { return v%10 == 0 })
	retried := countOf(dlN, func(v int) bool { return v%10 != 0 && v%7 == 0 })
	corrupt := countOf(shareN, func(v int) bool { return v%25 == 0 })
	flaky := countOf(shareN, func(v int) bool { return v%25 != 0 && v%7 == 0 })
	for _, ex := range []struct {
		name, lesson string
		args         []string
		wants        []string
		check        func(t *testing.T, out string)
	}{
		{"keyed", "processes every record in key order",
			[]string{"--records", "5000", "--keys", "100", "--concurrency", "200", "--work", "1ms"},
			[]string{"processed 5000 records", "key order violations: 0"}, nil},
		{"deadletter", "routes each record where it belongs",
			[]string{"--records", strconv.Itoa(dlN), "--retry-delay", "200ms"},
			[]string{fmt.Sprintf("%d payments: %d succeeded, %d dead-lettered", dlN, dlN-poison, poison),
				fmt.Sprintf("succeeded via the retry topic: %d", retried)},
			func(t *testing.T, out string) {
				if got := strings.Count(out, "invalid account"); got != poison {
					t.Errorf("%d dead-letter lines, want %d", got, poison)
				}
			}},
		{"metrics", "serves its counters",
			[]string{"--records", "3000", "--work", "1ms", "--duration", "8s", "--listen", "127.0.0.1:0"},
			[]string{"kpar_parallel_records_completed_total 3000"}, nil},
		{"share", "dead-letters corrupt jobs and redelivers failed ones",
			[]string{"--jobs", strconv.Itoa(shareN)},
			[]string{fmt.Sprintf("%d jobs on 3 partitions: %d done, %d dead-lettered", shareN, shareN-corrupt, corrupt),
				fmt.Sprintf("released after a failed delivery: %d, redelivered: %d", flaky, flaky),
				"on delivery 1: job 25: corrupt input"},
			func(t *testing.T, out string) {
				// More handlers ran at once than the topic has partitions.
				var peak int
				if _, err := fmt.Sscanf(out[strings.Index(out, "at peak: ")+len("at peak: "):], "%d", &peak); err != nil || peak <= 3 {
					t.Errorf("peak handlers at once %d (%v): want more than the 3 partitions", peak, err)
				}
			}},
		{"transform", "gives every order exactly one committed output",
			[]string{"--records", "3000", "--concurrency", "50"},
			[]string{"outputs read_committed: 3000; orders without an output: 0; duplicated outputs: 0"}, nil},
		{"batchwriter", "writes every event once in key order in bulk",
			[]string{"--records", "3000", "--keys", "300", "--batch", "50", "--write", "2ms"},
			[]string{"missing: 0; written twice: 0; key order violations: 0"},
			func(t *testing.T, out string) {
				// Bulk: fewer calls than records. 3000 records over 300 keys at
				// most 50 per batch need at least 60 calls; one call per record
				// would be 3000.
				var written, calls int
				if _, err := fmt.Sscanf(out[strings.Index(out, "wrote "):], "wrote %d events in %d bulk writes", &written, &calls); err != nil {
					t.Fatalf("parse %q: %v", out, err)
				}
				if written != 3000 || calls < 60 || calls >= written {
					t.Fatalf("%d events in %d calls: want 3000 events in 60 to 2999 calls", written, calls)
				}
			}},
	} {
		t.Run(ex.name+" "+ex.lesson, func(t *testing.T) {
			seeds := testkit.Brokers(t)
			out := runExample(t, build(t, ex.name), append([]string{"--brokers", strings.Join(seeds, ",")}, ex.args...)...)
			out = strings.Join(strings.Fields(out), " ")
			testkit.Contains(t, ex.name+"'s output", out, ex.wants...)
			if ex.check != nil {
				ex.check(t, out)
			}
		})
	}
}
