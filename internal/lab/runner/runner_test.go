package runner

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/lab/scenario"
	"github.com/kpar/kpar/internal/testkit"
)

func cellConfig(t *testing.T, seeds []string, strategy, scen string) Config {
	t.Helper()
	s, err := scenario.Parse(scen)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Seeds: seeds, Strategy: strategy, Scenario: s, Seed: 42,
		Records: 600, Partitions: 4, Keys: 16, Workers: 8, MaxPoll: 50,
		Latency: 4 * time.Millisecond, Crashes: 2, Transient: 0.1, Permanent: 0.02,
		StallTimeout: 20 * time.Second, Command: testCommand,
	}
	if testing.Verbose() {
		cfg.WorkerStderr = os.Stderr
	}
	return cfg
}

// The whole pipeline on kfake: real worker processes, a real SIGKILL, and a
// checker that must find every record processed by the careful strategy.
func TestCommitAfterBatchSurvivesCrashesOnKfake(t *testing.T) {
	seeds := testkit.Kfake(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cell, err := Run(ctx, cellConfig(t, seeds, "commit-after-batch", "ooo+crash"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cell: crashes %d, check %+v, error %q", cell.Crashes, cell.Check, cell.Error)
	if cell.Error != "" || cell.Stalled {
		t.Fatalf("cell did not finish cleanly: %+v", cell)
	}
	if cell.Crashes != 2 {
		t.Fatalf("want 2 crashes, got %d", cell.Crashes)
	}
	if cell.Check.Lost != 0 || cell.Check.Input != 600 {
		t.Fatalf("commit-after-batch lost records: %+v", cell.Check)
	}
}

func TestExactnessStarsWhatTimingMoves(t *testing.T) {
	crash, _ := scenario.Parse("ooo+crash")
	exact, timing, _ := Exactness("commit-before", crash)
	if !slices.Contains(exact, "lost") || !slices.Contains(exact, "duplicated") || !slices.Contains(timing, "reordered") {
		t.Fatalf("commit-before/ooo+crash: exact %v, timing %v", exact, timing)
	}
	if exact, _, _ := Exactness("lib-key", crash); !slices.Contains(exact, "reordered") {
		t.Fatalf("lib-key never runs a key's records at once, so reordered repeats: exact %v", exact)
	}
	kill, _ := scenario.Parse("ooo+kill")
	for _, st := range []string{"commit-before", "commit-after-batch", "lib-key", "lib-unordered"} {
		exact, timing, why := Exactness(st, kill)
		if !slices.Contains(timing, "lost") || !slices.Contains(timing, "duplicated") || slices.Contains(exact, "lost") || why == "" {
			t.Fatalf("%s/ooo+kill dies with work in flight, so lost and duplicated move: exact %v, timing %v, why %q", st, exact, timing, why)
		}
	}
	if exact, _, _ := Exactness("lib-partition", kill); !slices.Contains(exact, "reordered") {
		t.Fatalf("replays are not reorders, so the ordered library's zero repeats under kill: exact %v", exact)
	}
	if exact, _, _ := Exactness("lib-unordered", kill); slices.Contains(exact, "reordered") {
		t.Fatalf("lib-unordered runs a key's records at once: reordered is timing: exact %v", exact)
	}
	slow, _ := scenario.Parse("ooo+slow")
	if exact, timing, why := Exactness("lib-key", slow); len(exact) != 0 || !slices.Contains(timing, "lost") || why == "" {
		t.Fatalf("group-protocol timing must make every count timing-dependent: exact %v, timing %v, why %q", exact, timing, why)
	}
}
