package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// bench produce --trogdor and bench consume --trogdor take the sweep's
// flags with its meanings: a flag the sweep has no use for, a sweep flag
// without --trogdor, and a value the sweep refuses are each refused in one
// line naming the flag, before any broker or Trogdor daemon is looked up
// (the brokers named here do not exist, and no Trogdor was started), and
// nothing is written.
func TestBenchTrogdorFlagsAreRefusedNamingThemselvesBeforeAnyBroker(t *testing.T) {
	t.Setenv("KPAR_HOME", t.TempDir())
	t.Setenv("KPAR_BROKERS", "127.0.0.1:1")
	out := filepath.Join(t.TempDir(), "out")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "produce", "--trogdor", "--input", "x.csv"}, "--input: not a flag of the distributed sweep"},
		{[]string{"bench", "produce", "--trogdor", "--producers", "1,2"}, "--producers: not a flag of the distributed sweep"},
		{[]string{"bench", "produce", "--steps", "1,2"}, "--steps is a flag of the distributed sweep: add --trogdor"},
		{[]string{"bench", "consume", "--workload", "consume"}, "--workload is a flag of the distributed sweep"},
		{[]string{"bench", "produce", "--trogdor", "--acks", "1,all"}, `--acks "1,all": want 0, 1 or all`},
		{[]string{"bench", "produce", "--trogdor", "--partitions", "1,3"}, `--partitions "1,3" with --trogdor`},
		{[]string{"bench", "produce", "--trogdor", "--idempotence=on", "--acks", "1"}, "--acks 1 with --idempotence"},
		{[]string{"bench", "produce", "--trogdor", "--workload", "fetch"}, `--workload "fetch"`},
		{[]string{"bench", "consume", "--trogdor", "--steps", "1,2,4", "--partitions", "2"}, "--partitions 2: the consume workload splits the partitions"},
		{[]string{"bench", "consume", "--trogdor", "--value-size", "10"}, "--value-size: not a flag of the distributed sweep"},
		{[]string{"trogdor", "sweep", "--idempotence=maybe"}, `"maybe" for "--idempotence"`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := runKpar(t, append(tc.args, "--out", out)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v, want one line with %q", err, tc.want)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatalf("%s written after a refused flag", out)
			}
		})
	}
	// Flags the sweep accepts get past the flags: the next refusal is the
	// missing Trogdor platform, still before any broker.
	_, err := runKpar(t, "bench", "produce", "--trogdor", "--steps", "1,2", "--records", "500", "--idempotence=off", "--acks", "1", "--out", out)
	if err == nil || strings.Contains(err.Error(), "--") || strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("accepted flags: got %v, want the missing Trogdor platform", err)
	}
}
