package groupsettings

import (
	"context"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/proc"
	"github.com/kpar/kpar/internal/testkit"
)

// Real-broker tests: each asserts what a setting does, never a rate or a
// duration. Small inputs keep the four under a minute on a loaded machine.

func brokerConfig(t *testing.T) (context.Context, Config) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Brokers = testkit.Brokers(t)
	cfg.Seed, cfg.Records, cfg.CellTimeout = 7, 200, 30*time.Second
	cfg.Member = testkit.StartChild
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx, cfg
}

// oneCell runs cell name of an experiment on a kit of its own.
func oneCell[C any](ctx context.Context, t *testing.T, cfg Config, run func(context.Context, *cellKit, string) (C, error), name string) C {
	t.Helper()
	k, err := newKit(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer k.close()
	c, err := run(ctx, k, name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestResetPoliciesOnNewGroupAndBelowLogStart(t *testing.T) {
	ctx, cfg := brokerConfig(t)
	cells, err := runCells(ctx, cfg, Reset, resetRepeat, resetCell)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cells {
		t.Log(c.Line())
		if c.Failure != "" {
			t.Fatalf("%s/%s did not finish: %s", c.Case, c.Policy, c.Failure)
		}
		switch c.Policy {
		case "earliest":
			// Only what retention deleted is out of reach.
			if c.Skipped != c.DeletedUnread || c.Error != "" {
				t.Errorf("%s/earliest skipped %d (deleted past the commit %d), error %q", c.Case, c.Skipped, c.DeletedUnread, c.Error)
			}
		case "latest":
			if c.SeenOld != 0 || c.NewSeen == 0 {
				t.Errorf("%s/latest read %d existing and %d new records, want 0 and some", c.Case, c.SeenOld, c.NewSeen)
			}
		case "none":
			if c.Error == "" || c.SeenOld != 0 {
				t.Errorf("%s/none: error %q after reading %d records, want an error and nothing read", c.Case, c.Error, c.SeenOld)
			}
		}
		if c.Case == CaseRetention && (c.Committed == 0 || c.DeletedUnread == 0) {
			t.Errorf("retention case without a commit (%d) or deleted records past it (%d)", c.Committed, c.DeletedUnread)
		}
	}
}

func TestManualCommitLosesNothingAcrossASIGKILL(t *testing.T) {
	ctx, cfg := brokerConfig(t)
	c := oneCell(ctx, t, cfg, autoCommitCell, ModeManual)
	t.Log(c.Line())
	if c.Failure != "" || !c.Killed {
		t.Fatalf("killed %t, failure %q", c.Killed, c.Failure)
	}
	if c.Check.Lost != 0 || c.Check.Unknown != 0 {
		t.Fatalf("commit after processing lost %d (unknown %d), want 0", c.Check.Lost, c.Check.Unknown)
	}
}

func TestReadCommittedSkipsAbortedRecordsAndWaitsForOpenTransaction(t *testing.T) {
	ctx, cfg := brokerConfig(t)
	cfg.Transactions, cfg.AbortShare, cfg.Hold = 6, 0.5, 1500*time.Millisecond
	rs, err := runCells(ctx, cfg, Isolation, isolationRepeat, isolationCell)
	if err != nil {
		t.Fatal(err)
	}
	r := rs[0]
	t.Log(r.Line())
	if r.Failure != "" {
		t.Fatal(r.Failure)
	}
	if r.Aborted == 0 || r.Aborted == r.Transactions {
		t.Fatalf("seed 7 should abort some of %d transactions, aborted %d", r.Transactions, r.Aborted)
	}
	for _, l := range r.Levels {
		want := 0
		if l.Level == readUncommitted {
			want = r.AbortedRecords
		}
		if l.AbortedSeen != want || l.CommittedSeen != r.CommittedRecords {
			t.Errorf("%s received %d aborted and %d committed records, want %d and %d", l.Level, l.AbortedSeen, l.CommittedSeen, want, r.CommittedRecords)
		}
	}
	for _, l := range r.LSO.Levels {
		if l.Missing != 0 {
			t.Errorf("%s never received %d records", l.Level, l.Missing)
		}
		// read_committed cannot deliver a record above the open
		// transaction's first offset before the transaction ends.
		if l.Level == readCommitted && l.Held == 0 {
			t.Errorf("read_committed delivered every record written during the open transaction before it ended")
		}
	}
}

func TestBlockedRebalanceOverTheTimeoutRemovesTheSlowMember(t *testing.T) {
	ctx, cfg := brokerConfig(t)
	cfg.RebalanceTimeout, cfg.Stall = time.Second, 4*time.Second
	c := oneCell(ctx, t, cfg, pollCell, VariantBlock)
	t.Log(c.Line())
	if c.Failure != "" {
		t.Fatal(c.Failure)
	}
	if !c.Removed || c.SlowCommitError == "" {
		t.Fatalf("removed %t, slow commit error %q: want removed and its commit refused", c.Removed, c.SlowCommitError)
	}
	if c.Lost != 0 {
		t.Fatalf("lost %d", c.Lost)
	}
}

// The test binary doubles as the member process (testkit.StartChild), as
// the kpar binary does in production (`kpar child group-settings-member`).
func TestMain(m *testing.M) {
	testkit.ServeChild(m, func(ctx context.Context, s MemberSpec, c *proc.Child) error { return RunMember(ctx, s, c.Out) })
}
