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

func TestExamplesBuild(t *testing.T) {
	for _, name := range []string{"keyed", "deadletter", "metrics", "share", "transform", "batchwriter"} {
		build(t, name)
	}
}

func TestKeyedExampleProcessesEveryRecordInKeyOrder_RealBroker(t *testing.T) {
	seeds := testkit.Brokers(t)
	out := runExample(t, build(t, "keyed"), "--brokers", strings.Join(seeds, ","),
		"--records", "5000", "--keys", "100", "--concurrency", "200", "--work", "1ms")
	if !strings.Contains(out, "processed 5000 records") || !strings.Contains(out, "key order violations: 0") {
		t.Fatal("keyed did not report all 5000 records processed with no order violation")
	}
}

func TestDeadletterExampleRoutesEachRecordWhereItBelongs_RealBroker(t *testing.T) {
	seeds := testkit.Brokers(t)
	const n = 60
	out := runExample(t, build(t, "deadletter"), "--brokers", strings.Join(seeds, ","),
		"--records", strconv.Itoa(n), "--retry-delay", "200ms")
	// Expected counts follow the example's own rules (see kind in main.go).
	var poison, flaky int
	for v := 0; v < n; v++ {
		switch {
		case v%10 == 0:
			poison++
		case v%7 == 0:
			flaky++
		}
	}
	for _, want := range []string{
		strconv.Itoa(n) + " payments: " + strconv.Itoa(n-poison) + " succeeded, " + strconv.Itoa(poison) + " dead-lettered",
		"succeeded via the retry topic: " + strconv.Itoa(flaky),
	} {
		if !strings.Contains(strings.Join(strings.Fields(out), " "), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if got := strings.Count(out, "invalid account"); got != poison {
		t.Errorf("%d dead-letter lines, want %d", got, poison)
	}
}

func TestMetricsExampleServesItsCounters_RealBroker(t *testing.T) {
	seeds := testkit.Brokers(t)
	out := runExample(t, build(t, "metrics"), "--brokers", strings.Join(seeds, ","),
		"--records", "3000", "--work", "1ms", "--duration", "8s", "--listen", "127.0.0.1:0")
	if !strings.Contains(out, "kpar_parallel_records_completed_total 3000") {
		t.Fatal("the final scrape does not show 3000 completed records")
	}
}

func TestShareExampleDeadLettersCorruptJobsAndRedeliversFailedOnes_RealBroker(t *testing.T) {
	seeds := testkit.Brokers(t)
	const n = 200
	out := runExample(t, build(t, "share"), "--brokers", strings.Join(seeds, ","), "--jobs", strconv.Itoa(n))
	// Expected counts follow the example's own rules (corrupt and flaky in main.go).
	var corrupt, flaky int
	for v := 0; v < n; v++ {
		switch {
		case v%25 == 0:
			corrupt++
		case v%7 == 0:
			flaky++
		}
	}
	flat := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{
		fmt.Sprintf("%d jobs on 3 partitions: %d done, %d dead-lettered", n, n-corrupt, corrupt),
		fmt.Sprintf("released after a failed delivery: %d, redelivered: %d", flaky, flaky),
		"on delivery 1: job 25: corrupt input",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// More handlers ran at once than the topic has partitions.
	var peak int
	if _, err := fmt.Sscanf(flat[strings.Index(flat, "at peak: ")+len("at peak: "):], "%d", &peak); err != nil || peak <= 3 {
		t.Errorf("peak handlers at once %d (%v): want more than the 3 partitions", peak, err)
	}
}

func TestTransformExampleGivesEveryOrderExactlyOneCommittedOutput_RealBroker(t *testing.T) {
	seeds := testkit.Brokers(t)
	out := runExample(t, build(t, "transform"), "--brokers", strings.Join(seeds, ","), "--records", "3000", "--concurrency", "50")
	want := "outputs read_committed: 3000; orders without an output: 0; duplicated outputs: 0"
	if !strings.Contains(out, want) {
		t.Fatalf("transform's output lacks %q", want)
	}
}

func TestBatchwriterExampleWritesEveryEventOnceInKeyOrderInBulk_RealBroker(t *testing.T) {
	seeds := testkit.Brokers(t)
	out := runExample(t, build(t, "batchwriter"), "--brokers", strings.Join(seeds, ","),
		"--records", "3000", "--keys", "300", "--batch", "50", "--write", "2ms")
	if !strings.Contains(out, "missing: 0; written twice: 0; key order violations: 0") {
		t.Fatal("batchwriter did not write every event once in key order")
	}
	// Bulk: fewer calls than records. 3000 records over 300 keys at most 50
	// per batch need at least 60 calls; one call per record would be 3000.
	var written, calls int
	if _, err := fmt.Sscanf(out[strings.Index(out, "wrote "):], "wrote %d events in %d bulk writes", &written, &calls); err != nil {
		t.Fatalf("parse %q: %v", out, err)
	}
	if written != 3000 || calls < 60 || calls >= written {
		t.Fatalf("%d events in %d calls: want 3000 events in 60 to 2999 calls", written, calls)
	}
}
