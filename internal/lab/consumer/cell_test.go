package consumer

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	prog "github.com/kpar/kpar/internal/progress"

	"github.com/kpar/kpar/internal/lab/scenario"
	"github.com/kpar/kpar/internal/lab/worker"
	"github.com/kpar/kpar/internal/proc"
	"github.com/kpar/kpar/internal/testkit"
)

// cellConfig is a small one-cell run of strategy/scen.
func cellConfig(t *testing.T, seeds []string, strategy, scen string) Config {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Brokers, cfg.Cell, cfg.Seed = seeds, strategy+"/"+scen, 42
	cfg.Records, cfg.Partitions, cfg.Keys, cfg.Workers, cfg.MaxPoll = 600, 4, 16, 8, 50
	cfg.Latency, cfg.Crashes, cfg.StallTimeout = 4*time.Millisecond, 2, 20*time.Second
	cfg.Worker = testkit.StartChild
	if testing.Verbose() {
		cfg.WorkerStderr = os.Stderr
	}
	return cfg
}

// realCell runs one cell of strategy/scen on the real broker within the
// time given: cellConfig, then sizes, then edit (nil: none). It logs the
// cell's counts and fails the test when Run fails, when the cell failed (or
// stalled, unless mayStall), or when the lab itself is broken: the checker
// did not read every input record, or read entries of records never
// produced.
func realCell(t *testing.T, strategy, scen string, within time.Duration, mayStall bool, sizes, edit func(*Config)) Cell {
	t.Helper()
	cfg := cellConfig(t, testkit.Brokers(t), strategy, scen)
	sizes(&cfg)
	if edit != nil {
		edit(&cfg)
	}
	c := testkit.RunWithin(t, within, Run, cfg).Cells[0]
	t.Logf("%s/%s seed %d: crashes %d/%d, lost %d, duplicated %d, reordered %d, dead-lettered %d, permanent %d records %d attempts, "+
		"stalled %v, %.0f records/s, %.1fs", strategy, scen, cfg.Seed, c.Crashes, len(c.CrashPoints), c.Check.Lost, c.Check.Duplicated,
		c.Check.Reordered, c.Check.DeadLettered, c.PermanentRecords, c.PermanentAttempts, c.Stalled, c.Check.RecordsPerSec, c.Seconds)
	if s := c.Share; s != nil {
		t.Logf("share: archived %d, redelivered %d, after kills %+v, lock %dms, limit %d", s.Archived, s.Redelivered, s.AfterKills,
			s.LockDurationMs, s.DeliveryLimit)
	}
	if c.Error != "" || (c.Stalled && !mayStall) {
		t.Fatalf("cell did not run cleanly: error %q, stalled %v", c.Error, c.Stalled)
	}
	if c.Check.Input != cfg.Records || c.Check.Unknown != 0 {
		t.Fatalf("the lab itself is broken: %+v", c.Check)
	}
	return c
}

// The whole pipeline on kfake: real worker processes, a real SIGKILL, and a
// checker that must find every record processed by the careful strategy.
func TestCommitAfterBatchSurvivesCrashesOnKfake(t *testing.T) {
	seeds := testkit.Kfake(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cfg := cellConfig(t, seeds, "commit-after-batch", "ooo+crash")
	var started, finished []string
	cfg.Progress = func(e prog.Event) {
		switch e.Kind {
		case prog.Begin:
			started = append(started, fmt.Sprintf("%d/%d %s", e.I, e.N, e.Line))
		case prog.End:
			finished = append(finished, fmt.Sprintf("%d/%d %s", e.I, e.N, strings.Fields(e.Line)[1]+"/"+strings.Fields(e.Line)[2]))
		}
	}
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"1/1 commit-after-batch/ooo+crash"}
	if !slices.Equal(started, want) || !slices.Equal(finished, want) {
		t.Fatalf("progress callbacks: started %v, finished %v, want %v each", started, finished, want)
	}
	if res.Finished.Before(res.Started) || !slices.Contains(res.Command, "--cell") || len(res.Cells) != 1 {
		t.Fatalf("result header or cells wrong: %+v", res.Header)
	}
	cell := res.Cells[0]
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

// A worker's start or restart (a JVM, a group join) gets at least
// startGrace before the cell counts as stalled; once it moved, the stall
// timeout alone decides.
func TestAStartingWorkerIsNotStalledWithinTheStartGrace(t *testing.T) {
	for _, c := range []struct {
		timeout time.Duration
		moved   bool
		want    time.Duration
	}{
		{10 * time.Second, false, startGrace},
		{10 * time.Second, true, 10 * time.Second},
		{2 * startGrace, false, 2 * startGrace},
	} {
		if got := stallLimit(c.timeout, c.moved); got != c.want {
			t.Errorf("stallLimit(%s, moved %v) = %s, want %s", c.timeout, c.moved, got, c.want)
		}
	}
}

// The test binary doubles as the worker process (testkit.StartChild), as
// the kpar binary does in production (`kpar child lab-worker`).
func TestMain(m *testing.M) {
	testkit.ServeChild(m, func(ctx context.Context, p worker.Params, c *proc.Child) error {
		p.JavaSecurity = c.Client.Java
		if err := worker.Run(ctx, p, c.Out); err != nil {
			return fmt.Errorf("kpar lab worker: %w", err)
		}
		return nil
	})
}
