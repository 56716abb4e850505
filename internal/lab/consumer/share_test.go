package consumer

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/lab/checker"
	"github.com/kpar/kpar/internal/lab/scenario"
	"github.com/kpar/kpar/internal/lab/workload"
	"github.com/kpar/kpar/internal/render"
)

func entry(seq int64, delivery int, at time.Time) checker.Processed {
	return checker.Processed{Entry: workload.Entry{Record: workload.Record{Seq: seq}, Worker: "w0", Outcome: workload.OK, Delivery: delivery}, At: at}
}

// Archived is only what a strategy without a dead-letter topic left to the
// broker for good: rejected, or failed on the last allowed delivery; a
// record that failed and was processed later, or failed below the limit,
// is not archived (if it has no entry, it is lost).
func TestCountShareTellsArchivedFromLostAndTimesRedeliveriesPerKill(t *testing.T) {
	t0 := time.Unix(1000, 0)
	kills := []time.Time{t0, t0.Add(60 * time.Second)}
	log := []checker.Processed{
		entry(1, 1, t0.Add(-time.Second)),
		entry(2, 2, t0.Add(5*time.Second)),  // after kill 1
		entry(3, 3, t0.Add(45*time.Second)), // after kill 1
		entry(4, 2, t0.Add(70*time.Second)), // after kill 2
		entry(4, 3, t0.Add(71*time.Second)), // the same record again: one record
	}
	failures := map[int64][]failedDelivery{
		5: {{1, true}},                          // rejected
		6: {{1, false}, {2, false}, {5, false}}, // released on the 5th and last delivery
		7: {{1, false}},                         // failed once, never seen again: lost, not archived
		3: {{1, false}, {2, false}},             // failed, then processed
	}
	s := Share{DeliveryLimit: 5}
	countShare(&s, true, log, failures, kills)
	if s.Archived != 2 || s.ArchivedRejected != 1 || s.ArchivedAtLimit != 1 || s.FailedDeliveries != 7 || s.Redelivered != 3 {
		t.Fatalf("counts: %+v", s)
	}
	want := []KillRedelivery{{Records: 2, FirstSeconds: 5, LastSeconds: 45}, {Records: 1, FirstSeconds: 10, LastSeconds: 10}}
	if !slices.Equal(s.AfterKills, want) {
		t.Fatalf("after kills: %+v, want %+v", s.AfterKills, want)
	}
	// With a dead-letter topic the strategy archives nothing by design;
	// a record it did not handle is lost, never "archived".
	countShare(&s, false, log, failures, kills)
	if s.Archived != 0 {
		t.Fatalf("a strategy with a dead-letter topic archived %d", s.Archived)
	}
	c := Cell{Check: checker.Result{Lost: 5}, Share: &Share{Archived: 2}}
	if c.LostNotArchived() != 3 || (Cell{Check: checker.Result{Lost: 5}}).LostNotArchived() != 5 {
		t.Fatal("lost not archived")
	}
}

func TestShareExactnessNeverClaimsKeyOrderOrKillCounts(t *testing.T) {
	for _, st := range []string{"share", "kpar-share"} {
		for _, name := range []string{"ooo", "ooo+failures", "ooo+crash", "ooo+kill", "ooo+rebalance", "ooo+slow"} {
			sc, _ := scenario.Parse(name)
			exact, timing, why := Exactness(st, sc)
			if slices.Contains(exact, "reordered") || !slices.Contains(timing, "reordered") || why == "" {
				t.Fatalf("%s/%s: share groups have no key order: exact %v, timing %v", st, name, exact, timing)
			}
			if sc.Has(scenario.Kill) && len(exact) != 0 {
				t.Fatalf("%s/%s: a kill leaves records acquired in flight: exact %v", st, name, exact)
			}
		}
		failures, _ := scenario.Parse("ooo+failures")
		if exact, _, _ := Exactness(st, failures); !slices.Contains(exact, "archived") || !slices.Contains(exact, "lost") {
			t.Fatalf("%s/ooo+failures: which records fail is seeded: exact %v", st, exact)
		}
	}
}

func TestShareSentencesComeFromTheCells(t *testing.T) {
	r := Result{Cells: []Cell{
		{Strategy: "lib-key", Scenario: "ooo+failures", Check: checker.Result{Reordered: 0, DeadLettered: 8}, PermanentRecords: 8},
		{Strategy: "share", Scenario: "ooo+failures", PermanentRecords: 8, Check: checker.Result{Lost: 8, Reordered: 40},
			Share: &Share{Archived: 8, ArchivedRejected: 8, DeliveryLimit: 5}},
		{Strategy: "kpar-share", Scenario: "ooo+failures", PermanentRecords: 8, Check: checker.Result{DeadLettered: 8, Reordered: 30},
			Share: &Share{DeliveryLimit: 5}},
		{Strategy: "share", Scenario: "ooo+kill", Check: checker.Result{Duplicated: 3},
			Share: &Share{Redelivered: 20, LockDurationMs: 15000, SessionTimeoutMs: 45000, AfterKills: []KillRedelivery{{Records: 20, FirstSeconds: 5, LastSeconds: 45.3}}}},
	}}
	got := texts(shareFindings(r))
	want := []string{
		"share/ooo+failures: of the 8 records whose handler always fails, the broker archived 8 (8 rejected, 0 at the delivery limit of 5) " +
			"and 0 were dead-lettered: with no dead-letter topic, a share group keeps nothing of a record that fails for good.",
		"kpar-share/ooo+failures: of the 8 records whose handler always fails, 8 were dead-lettered and 0 lost; nothing was left to the broker to archive.",
		"ooo+failures: records processed out of key order: share 40, kpar-share 30, lib-key 0 (share groups have no key order).",
		"share/ooo+kill: 1 kills lost 0 records and duplicated 3; 20 records came back redelivered, the last 45.3s after the kill before it, " +
			"past the 15s lock and about the 45s session timeout: the dead member kept its partitions until its session expired.",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("sentences:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if md := render.Markdown(Doc(r)); !strings.Contains(md, want[0]) ||
		!strings.Contains(md, "| share | ooo+failures | 0 | 0 | 40 | 0 | 8 |") || !strings.Contains(md, "| share | ooo+failures | 8 (8 / 0) |") {
		t.Fatalf("the Markdown must carry the share table and sentences, lost without archived:\n%s", md)
	}
}

func TestShareStrategiesAreNotInTheDefaultRun(t *testing.T) {
	for _, s := range DefaultStrategies() {
		if s == "share" || s == "kpar-share" {
			t.Fatalf("default strategies %v: share cells wait out a session and a lock per kill", DefaultStrategies())
		}
	}
	cfg := DefaultConfig()
	cfg.Strategies = []string{"share", "kpar-share"}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("share strategies by name: %v", err)
	}
}

// shareCell runs one small share-group cell on the real broker.
func shareCell(t *testing.T, strategy, scen string, edit func(*Config)) Cell {
	t.Helper()
	// A kill waits out the dead member's session and locks; a loaded machine
	// gets room beyond that.
	c := realCell(t, strategy, scen, 4*time.Minute, false, func(c *Config) {
		c.Records, c.Partitions, c.Keys, c.Workers, c.MaxPoll = 600, 4, 32, 8, 50
	}, edit)
	if c.Share == nil {
		t.Fatalf("%s/%s: no share counts", strategy, scen)
	}
	return c
}

// The target: where a bare share group archives every record that
// fails for good (it has nowhere else to put it), kpar's share mode
// dead-letters each and loses nothing.
func TestUnderPermanentFailuresKparShareDeadLettersWhatABareShareGroupArchives(t *testing.T) {
	edit := func(c *Config) { c.Permanent, c.Transient = 0.03, 0.1 }
	bare := shareCell(t, "share", "ooo+failures", edit)
	if bare.PermanentRecords == 0 || bare.Share.Archived != bare.PermanentRecords || bare.Share.ArchivedRejected != bare.PermanentRecords {
		t.Fatalf("share: want the %d permanently failing records archived (rejected), got %+v", bare.PermanentRecords, bare.Share)
	}
	if bare.LostNotArchived() != 0 || bare.Check.DeadLettered != 0 {
		t.Fatalf("share: want nothing lost beyond the archived and nothing dead-lettered, got lost %d, dead-lettered %d",
			bare.LostNotArchived(), bare.Check.DeadLettered)
	}
	// Transient failures are released and redelivered, and pass before
	// the delivery limit.
	if bare.Share.Redelivered == 0 || bare.Share.ArchivedAtLimit != 0 {
		t.Fatalf("share: transient failures must come back redelivered and never reach the limit: %+v", bare.Share)
	}
	lib := shareCell(t, "kpar-share", "ooo+failures", edit)
	if lib.PermanentRecords != bare.PermanentRecords || lib.Check.DeadLettered != lib.PermanentRecords {
		t.Fatalf("kpar-share: want all %d permanently failing records dead-lettered, got %d", lib.PermanentRecords, lib.Check.DeadLettered)
	}
	if lib.Check.Lost != 0 || lib.Share.Archived != 0 {
		t.Fatalf("kpar-share lost %d records (archived %d)", lib.Check.Lost, lib.Share.Archived)
	}
}

// A share member SIGKILLed with records acquired: they come back to the
// restarted process (after the dead member's session), and kpar's share
// mode loses nothing.
func TestKparShareLosesNothingAcrossAKill(t *testing.T) {
	c := shareCell(t, "kpar-share", "ooo+kill", func(c *Config) { c.Crashes = 1 })
	if c.Crashes != 1 {
		t.Fatalf("want 1 SIGKILL, got %d", c.Crashes)
	}
	if c.Check.Lost != 0 {
		t.Fatalf("kpar-share lost %d records across a kill (first lost seqs %v); re-run: %s", c.Check.Lost, c.Check.LostSample, c.Rerun)
	}
	// The kill lands between a record's processed-log write and its
	// acknowledgement, so at least that record comes back.
	if len(c.Share.AfterKills) != 1 || c.Share.AfterKills[0].Records == 0 {
		t.Fatalf("nothing was redelivered after the kill: %+v", c.Share.AfterKills)
	}
}
