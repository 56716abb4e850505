package group

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/proc"
	"github.com/kpar/kpar/internal/testkit"
)

// One short cell on the real broker: kpar's parallel consumer as every
// member, one of them SIGKILLed mid-stream. Behaviour only, never a rate or
// a duration: the cell runs, the survivors own every partition again, and
// nothing the stream produced is lost.
func TestParallelMembersLoseNothingAndOwnEveryPartitionAgainAfterAKill(t *testing.T) {
	brokers := testkit.Brokers(t)
	cfg := DefaultConfig()
	cfg.Cell = "kill/cooperative-sticky/parallel"
	cfg.Seed = 11
	cfg.Rate, cfg.Duration, cfg.EventAt = 200, 4*time.Second, 1500*time.Millisecond
	cfg.SessionTimeout = 6 * time.Second
	cfg.Brokers, cfg.Member = brokers, testkit.StartChild
	c := testkit.RunWithin(t, 2*time.Minute, Run, cfg).Cells[0]
	if c.Error != "" {
		t.Fatalf("cell failed: %s", c.Error)
	}
	m := c.Metrics
	t.Logf("victim %s, owned again after %.0f ms, moved %d, duplicated %d", c.Victim, m.OwnedAgainMs, m.Moved, m.Duplicated)
	if m.Lost != 0 || m.Processed != c.Produced {
		t.Errorf("parallel members lost %d of %d records (processed %d)", m.Lost, c.Produced, m.Processed)
	}
	if m.OwnedAgainMs <= 0 {
		t.Errorf("owned again %v ms: the victim's partitions must go unowned and come back", m.OwnedAgainMs)
	}
	if m.Moved == 0 || m.Revoked == 0 {
		t.Errorf("after the kill moved %d, revoked %d: the victim's partitions must move", m.Moved, m.Revoked)
	}
	if c.GroupType != "classic" || c.Victim == "" {
		t.Errorf("group type %q victim %q", c.GroupType, c.Victim)
	}
}

// The test binary doubles as the member process (testkit.StartChild), as
// the kpar binary does in production (`kpar child group-member`).
func TestMain(m *testing.M) {
	testkit.ServeChild(m, func(ctx context.Context, p MemberParams, c *proc.Child) error {
		return RunMember(ctx, p, c.Out, os.Stderr)
	})
}
