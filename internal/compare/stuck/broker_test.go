package stuck

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/render"
	"github.com/kpar/kpar/internal/testkit"
	"github.com/kpar/kpar/parallel"
)

// TestRealBrokerWindowBothLibraries runs the whole experiment small: 3
// partitions of 300 records, stuck at offset 50, for kpar and PC. It
// checks what must hold whatever the libraries' figures: the stuck records
// finish only after the driver released them, at the plateau (a bound of
// 2 minutes that is never reached), nothing is lost once they finish, the
// restart is killed at the plateau with them held, replays a counted
// number of records and never a committed one, nothing is lost across the
// kill, and the commit metadata was read while the records were stuck.
func TestRealBrokerWindowBothLibraries(t *testing.T) {
	seeds := testkit.Brokers(t)
	c, ctx := testConfig(t, seeds, 3*time.Minute)
	c.Partitions, c.RecordsPerPartition, c.Keys, c.Order = 3, 300, 30, parallel.OrderKey
	c.StuckOffset, c.MaxHold, c.Concurrency = 50, 2*time.Minute, 50
	c.Poll, c.Settle, c.Drain, c.SessionTimeout = 100*time.Millisecond, 6*time.Second, time.Minute, 6*time.Second
	r, err := Run(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Libraries) != 2 {
		t.Fatalf("%d libraries measured, want kpar and pc", len(r.Libraries))
	}
	for _, l := range r.Libraries {
		th, rs := l.Through, l.Restart
		t.Logf("%s: held %v at the plateau (%v), metadata up to %d bytes, drained %.1fs after release; restart: held %d, replays %d, skipped %d",
			l.Name, th.HeldPast, th.Plateaued, th.MaxMetadataBytes, th.DrainedS-th.ReleasedS, rs.HeldPastTotal, rs.ReplaysTotal, rs.SkippedByMap)
		if th.Failed != "" || rs.Failed != "" {
			t.Errorf("%s: failed parts: run through %q, restart %q", l.Name, th.Failed, rs.Failed)
			continue
		}
		// Released by the event, at the plateau: not by the bound, and the
		// stuck records finished only after it.
		if !th.Plateaued || !rs.Plateaued || th.ReleasedS < th.PlateauS || th.ReleasedS >= c.MaxHold.Seconds() || th.StuckDoneS < th.ReleasedS {
			t.Errorf("%s: plateau %v at %.1fs, released at %.1fs, stuck records done at %.1fs; restart plateau %v: want both plateaued, the release at the plateau and before the %v bound, done after it",
				l.Name, th.Plateaued, th.PlateauS, th.ReleasedS, th.StuckDoneS, rs.Plateaued, c.MaxHold)
		}
		if th.Missing != 0 || len(th.Stalled) != 0 || th.DrainedS <= th.ReleasedS {
			t.Errorf("%s run through: %d missing, stalled partitions %v, drained at %.1fs after release at %.1fs",
				l.Name, th.Missing, th.Stalled, th.DrainedS, th.ReleasedS)
		}
		if th.MaxMetadataBytes == 0 || rs.MaxMetadataBytes == 0 {
			t.Errorf("%s: no commit metadata read while stuck (run through %d, restart %d bytes)", l.Name, th.MaxMetadataBytes, rs.MaxMetadataBytes)
		}
		// Committing past a record still running would lose it on the kill.
		for p, at := range rs.CommittedAtKill {
			if at < 0 || at > c.StuckOffset {
				t.Errorf("%s: partition %d committed %d at the kill, want 0..%d (the stuck record still ran)", l.Name, p, at, c.StuckOffset)
			}
		}
		if rs.HeldPastTotal == 0 {
			t.Errorf("%s: killed holding nothing past the stuck records", l.Name)
		}
		if rs.ReplaysBelowCommitted != 0 || len(rs.Stalled) != 0 {
			t.Errorf("%s restart: %d committed records replayed, stalled partitions %v", l.Name, rs.ReplaysBelowCommitted, rs.Stalled)
		}
		// kpar promises no loss across a kill. PC was seen to lose a record
		// here now and then (1 run in 3, with everything committed): that
		// is the contender's measured behaviour, reported in the Result
		// (Missing) and the Markdown, not a failure of this experiment.
		if rs.Missing != 0 {
			if l.Name == "kpar" {
				t.Errorf("kpar restart: %d records processed by neither process", rs.Missing)
			} else {
				t.Logf("%s restart: %d records processed by neither process (reported as measured); PC's commit at the kill counted them %v", l.Name, rs.Missing, rs.MissingByCommit)
				if sum(slices.Collect(maps.Values(rs.MissingByCommit))) != rs.Missing {
					t.Errorf("%s restart: %d missing records, attributed %v", l.Name, rs.Missing, rs.MissingByCommit)
				}
			}
		}
		// Counted and bounded: replays are records the first process
		// finished above its committed offsets, and the rest were skipped.
		if rs.ReplaysTotal < 0 || rs.SkippedByMap < 0 || int64(rs.ReplaysTotal) > rs.FirstProcessed ||
			rs.FirstProcessed+rs.SecondProcessed-int64(rs.ReplaysTotal)+int64(rs.Missing) != int64(c.Partitions*c.RecordsPerPartition) {
			t.Errorf("%s restart: replays %d, skipped %d, first %d, second %d do not add up to %d records",
				l.Name, rs.ReplaysTotal, rs.SkippedByMap, rs.FirstProcessed, rs.SecondProcessed, c.Partitions*c.RecordsPerPartition)
		}
	}
	md := render.Markdown(Doc(r))
	for _, want := range []string{"| figure | kpar | Confluent Parallel Consumer |", "records replayed", HeldChart} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
	testkit.WriteViews(t, render.Views(Doc(r))...)
}
