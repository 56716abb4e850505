package consumer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/broker"
	"github.com/kpar/kpar/internal/confluentpc"
	"github.com/kpar/kpar/internal/testkit"
)

// pcCell runs one small pc-* cell on a real broker: Confluent's Parallel
// Consumer in a JVM behind the lab worker, the lab's own handler in Go.
func pcCell(t *testing.T, strategy, scen string, edit func(*Config)) Cell {
	t.Helper()
	testkit.Brokers(t) // skips before the JDK is looked for
	if _, _, err := confluentpc.Classpath(context.Background(), func(s string) { t.Log(s) }); errors.Is(err, broker.ErrNoJava) ||
		errors.Is(err, broker.ErrNoMaven) || errors.Is(err, confluentpc.ErrNoJavac) {
		testkit.Unavailable(t, "%v", err)
	} else if err != nil {
		t.Fatal(err)
	}
	return realCell(t, strategy, scen, 2*time.Minute, true, func(c *Config) {
		c.Records, c.Partitions, c.Keys, c.Workers = 600, 3, 32, 8
	}, edit)
}

// PC commits only offsets below which every record completed and encodes
// completions beyond them in the commit metadata, so it must lose nothing
// across settled crashes. If this ever fails, that is a finding about PC
// (or the bridge), not a flaky test: report it.
func TestParallelConsumerLosesNothingUnderOOOAndCrashes(t *testing.T) {
	for _, scen := range []string{"ooo", "ooo+crash"} {
		t.Run(scen, func(t *testing.T) {
			c := pcCell(t, "pc-key", scen, nil)
			if c.Stalled {
				t.Fatalf("pc-key/%s stalled", scen)
			}
			if scen == "ooo+crash" && c.Crashes != 2 {
				t.Fatalf("want 2 SIGKILLs of the worker (and with it PC's JVM), got %d", c.Crashes)
			}
			if c.Check.Lost != 0 {
				t.Fatalf("FINDING: Parallel Consumer lost %d records under %s (first lost seqs %v); re-run: %s",
					c.Check.Lost, scen, c.Check.LostSample, c.Rerun)
			}
			if c.Check.Reordered != 0 {
				t.Fatalf("PC in KEY order processed %d records out of key order", c.Check.Reordered)
			}
		})
	}
}

// PC has no retry limit and no dead-letter topic: under permanent failures
// the cell must end by the lab's stall timeout as a reported outcome, not
// an error, with every permanently failing record retried and none
// dead-lettered.
func TestParallelConsumerStallsOnPermanentFailuresAsAReportedOutcome(t *testing.T) {
	// The stall timeout counts from the last progress; a worker's start
	// (PC's JVM, its group join) gets at least startGrace: 4 s once ended
	// cells before their first record on a loaded machine (0 processed),
	// and 20 s did so in a CI run under load, which proves nothing about PC.
	c := pcCell(t, "pc-unordered", "ooo+failures", func(cfg *Config) {
		cfg.StallTimeout, cfg.Permanent, cfg.Transient = 15*time.Second, 0.01, 0
	})
	if !c.Stalled {
		t.Fatal("want a stalled cell: PC retries a permanently failing record forever")
	}
	if c.PermanentRecords == 0 || c.PermanentAttempts <= c.PermanentRecords {
		t.Fatalf("want every permanently failing record retried: %d records, %d attempts", c.PermanentRecords, c.PermanentAttempts)
	}
	if c.Check.DeadLettered != 0 || c.Check.Lost < c.PermanentRecords {
		t.Fatalf("PC has no dead-letter topic: want the %d permanent records lost, got lost %d, dead-lettered %d",
			c.PermanentRecords, c.Check.Lost, c.Check.DeadLettered)
	}
	if s := texts(permanentFindings(Result{Cells: []Cell{c}})); len(s) != 1 {
		t.Fatalf("want one sentence on the permanent failures, got %q", s)
	}
}
