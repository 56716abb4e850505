package groupsettings

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/lab/checker"
	"github.com/kpar/kpar/internal/lab/labrun"
	"github.com/kpar/kpar/internal/render"
	"github.com/kpar/kpar/internal/testkit"
)

func TestValidateNamesTheFlag(t *testing.T) {
	testkit.ValidateRefuses(t, DefaultConfig, map[string]func(*Config){
		`unknown experiment "assignors" (valid: reset, autocommit, isolation, pollinterval)`: func(c *Config) { c.Experiments = []string{"reset", "assignors"} },
		"--experiments: none given":               func(c *Config) { c.Experiments = nil },
		"--experiments: isolation is named twice": func(c *Config) { c.Experiments = []string{"isolation", "isolation"} },
		"--records 99: must be at least 100":      func(c *Config) { c.Records = 99 },
		"--seed -2":                               func(c *Config) { c.Seed = -2 },
		"must exceed the rebalance timeout":       func(c *Config) { c.Stall = c.RebalanceTimeout },
		"abort share":                             func(c *Config) { c.AbortShare = 1.5 },
	}, func(c *Config) {
		// The smallest valid run.
		c.Records, c.Experiments = 100, []string{PollInterval}
	})
}

func TestSeededPointsStayInRangeAndRepeat(t *testing.T) {
	for seed := int64(1); seed < 300; seed++ {
		for _, end := range []int64{0, 1, 2, 7, 666} {
			c, l := retentionPoints(seed, 2, end)
			if end > 0 && !(c < l && l <= end) {
				t.Fatalf("seed %d end %d: commit %d, log start %d: want commit < log start <= end", seed, end, c, l)
			}
		}
		if k := crashPoint(seed, 2000); k < 500 || k >= 1500 || k != crashPoint(seed, 2000) {
			t.Fatalf("seed %d: crash point %d outside the middle half or not repeatable", seed, k)
		}
		if k := stallAfter(seed, 100); k < 5 || k > 12 {
			t.Fatalf("seed %d: stall after %d outside 5..12", seed, k)
		}
	}
	if !slices.Equal(aborts(9, 50, 0.3), aborts(9, 50, 0.3)) || slices.Equal(aborts(9, 50, 0.3), aborts(10, 50, 0.3)) {
		t.Fatal("aborts must repeat for a seed and differ between seeds")
	}
}

func TestLSOSummaryCountsHeldAndMissing(t *testing.T) {
	t0 := time.Unix(100, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	acked := map[int64]time.Time{0: at(100), 1: at(500), 2: at(1500)}
	seen := []map[int64]time.Time{
		{0: at(110), 1: at(505), 2: at(1510)}, // read_uncommitted
		{0: at(1010), 1: at(1010)},            // read_committed: waited for the end at 1000, never got 2
	}
	r := lsoSummary(acked, seen, []int{1, 2}, t0, at(1000))
	if r.Records != 2 || r.HoldSeconds != 1 {
		t.Fatalf("records %d hold %v, want 2 and 1 s", r.Records, r.HoldSeconds)
	}
	u, c := r.Levels[0], r.Levels[1]
	if u.Held != 0 || u.Missing != 0 || u.MaxDelaySeconds > 0.011 {
		t.Errorf("read_uncommitted: %+v", u)
	}
	if c.Held != 2 || c.Missing != 1 || c.MaxDelaySeconds < 0.9 || c.MaxLagRecords != 2 {
		t.Errorf("read_committed: %+v", c)
	}
	if len(r.Samples) != 5 {
		t.Errorf("%d samples, want one per delivered record and level (5)", len(r.Samples))
	}
}

// synthetic is a Result with every experiment, its numbers made up.
func synthetic() Result {
	rp := Repeat{Exact: []string{"x"}, Rerun: "kpar lab group-settings --seed 3"}
	return Result{
		Run: labrun.Run{Seed: 3, Brokers: []string{"b:1"}}, Records: 1000, Partitions: 3,
		Reset: []ResetCell{
			{Case: CaseNewGroup, Policy: "earliest", Existing: 1000, Unread: 1000, SeenOld: 1000, Outcome: Outcome{Repeat: rp}},
			{Case: CaseNewGroup, Policy: "latest", Existing: 1000, Unread: 1000, Skipped: 1000, NewSeen: 4, Outcome: Outcome{Repeat: rp}},
			{Case: CaseNewGroup, Policy: "none", Existing: 1000, Unread: 1000, Skipped: 1000, Error: "partition has no prior committed offset", Outcome: Outcome{Repeat: rp}},
			{Case: CaseRetention, Policy: "earliest", Existing: 1000, Committed: 200, DeletedUnread: 300, Unread: 800, SeenOld: 500, Skipped: 300, Outcome: Outcome{Repeat: rp}},
		},
		AutoCommit: []AutoCommitCell{
			{Mode: ModeAutoSync, CrashAt: 600, Check: checker.Result{Duplicated: 140}, Outcome: Outcome{Repeat: rp}},
			{Mode: ModeAutoPool, CrashAt: 600, Check: checker.Result{Lost: 370}, Outcome: Outcome{Repeat: rp}},
			{Mode: ModeManual, CrashAt: 600, Check: checker.Result{Duplicated: 37}, Outcome: Outcome{Repeat: rp}},
		},
		Isolation: &IsolationResult{Transactions: 10, Aborted: 3, RecordsPerTransaction: 100, AbortedRecords: 300, CommittedRecords: 700,
			Levels: []LevelCount{{Level: readUncommitted, Seen: 1000, AbortedSeen: 300, CommittedSeen: 700}, {Level: readCommitted, Seen: 700, CommittedSeen: 700}},
			LSO: LSOResult{HoldSeconds: 3, Records: 60, Levels: []LSOLevel{{Level: readUncommitted, MaxDelaySeconds: 0.004}, {Level: readCommitted, MaxDelaySeconds: 2.95, Held: 58}},
				Samples: []LSOSample{{Level: readCommitted, AckedSeconds: 0.1, DelaySeconds: 2.9}, {Level: readUncommitted, AckedSeconds: 0.1}}},
			Outcome: Outcome{Repeat: rp}},
		PollInterval: []PollCell{
			{Variant: VariantBlock, RebalanceTimeoutSeconds: 2, StallSeconds: 6, SlowBatch: 50, Removed: true, RemovedAfterSeconds: 2.1,
				SlowCommitError: "UNKNOWN_MEMBER_ID", SlowBatchRedone: 50, Duplicated: 60, Outcome: Outcome{Repeat: rp}},
			{Variant: VariantDefault, RebalanceTimeoutSeconds: 2, StallSeconds: 6, SlowBatch: 50, Outcome: Outcome{Repeat: rp}},
		},
	}
}

// The answer on a small Result: one lesson per experiment, losses first.
func TestDocAnswersWithEachExperimentsFirstLesson(t *testing.T) {
	r := synthetic()
	a := Doc(r).Answer
	if len(a) != 4 || !strings.Contains(a[0].Text, "After a SIGKILL at 600 processed records") ||
		!strings.HasPrefix(a[1].Text, "Holding the rebalance") || !strings.HasPrefix(a[2].Text, "Of 10 transactions") ||
		!strings.HasPrefix(a[3].Text, "A new group on a topic with 1,000 records") {
		t.Fatalf("answer %+v", a)
	}
	for _, f := range a {
		if f.Target != "" || f.Verdict != "" {
			t.Errorf("a lesson without a target carries a verdict: %+v", f)
		}
	}
	r.AutoCommit, r.PollInterval, r.Isolation = nil, nil, nil
	if a := Doc(r).Answer; len(a) != 1 || !strings.HasPrefix(a[0].Text, "A new group") {
		t.Errorf("reset alone: answer %+v", a)
	}
	if a := Doc(Result{}).Answer; len(a) != 1 || a[0].Text != "This run holds no experiment." {
		t.Errorf("no experiment: answer %+v", a)
	}
}

func TestSentencesFollowTheData(t *testing.T) {
	r := synthetic()
	all := testkit.Findings(Doc(r))
	for _, want := range []string{
		"latest read 0 and skipped 1,000 of the 1,000 unread records",
		`none read none of the 1,000 unread records: polling failed with "partition has no prior committed offset"`,
		"earliest read 500 and skipped 300 of the 800 unread records (only the deleted ones)",
		"After a SIGKILL at 600 processed records",
		"handed to a worker pool lost 370",
		"committing each poll after processing it lost 0 and processed 37 twice",
		"handing records to a pool lost 370: kgo's auto-commit commits",
		"read_committed received 0 of the 300 aborted records; both received all 700 committed records",
		"read_committed delivered them up to 2.95 s late",
		"read_uncommitted delivered them up to 4 ms late",
		"removed 2.1 s after a member joined",
		`failed with "UNKNOWN_MEMBER_ID"`,
		"the slow member stayed in the group; its commit after the batch landed",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("sentences lack %q:\n%s", want, all)
		}
	}

	// Other numbers, other sentences.
	r.AutoCommit[1].Check.Lost = 0
	r.AutoCommit[2].Check.Duplicated = 12
	r.Isolation.Levels[1].CommittedSeen = 650
	r.PollInterval[0].Removed, r.PollInterval[0].SlowCommitError = false, ""
	r.Reset[1].SeenOld, r.Reset[1].Skipped = 10, 990
	all = testkit.Findings(Doc(r))
	testkit.Lacks(t, "changed data", all, "handing records to a pool lost", "both received all", "removed 2.1 s", "processed 37 twice", "skipped 1,000 of the 1,000")
	testkit.Contains(t, "changed data", all, "processed 12 twice", "read_committed received 650 of the 700 committed records", "latest read 10 and skipped 990")
}

func TestViewsWriteMarkdownAndChart(t *testing.T) {
	r := synthetic()
	names := testkit.WriteViews(t, render.Views(Doc(r))...)
	md := render.Markdown(Doc(r))
	testkit.Contains(t, "markdown", md, "### auto.offset.reset", "### enable.auto.commit", "### isolation.level", "### max.poll.interval.ms",
		"| read_committed | 700 | 0 | 700 | 2.95 |", "lso-delay.svg", "Rerun: `kpar lab group-settings --seed 3`")
	if want := []string{"lab-group-settings.md", "autocommit-loss.svg", "autocommit-loss.png", "lso-delay.svg", "lso-delay.png",
		"reset-read.svg", "reset-read.png"}; !slices.Equal(names, want) {
		t.Errorf("views %v, want %v", names, want)
	}
	r.Isolation, r.AutoCommit, r.Reset = nil, nil, nil
	if n := len(render.Views(Doc(r))); n != 1 {
		t.Errorf("with the pollinterval experiment alone (no chart): %d views, want the Markdown alone", n)
	}
}
