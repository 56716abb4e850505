package sharegroup_test

import (
	"context"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/sharegroup"
	"github.com/kpar/kpar/internal/testkit"
)

// FromEarliest sets share.auto.offset.reset, which Configs reads back, on
// kfake and on the real broker; an unknown group config is refused.
func TestFromEarliestThenDescribeGroupConfigs(t *testing.T) {
	testkit.EachCluster(t, func(t *testing.T, seeds []string) {
		cl := testkit.Client(t, seeds)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		group := testkit.TopicName(t)
		if err := sharegroup.FromEarliest(ctx, cl, group); err != nil {
			t.Fatal(err)
		}
		// A real broker applies a group config a moment after the set: a
		// describe at once may still show the default.
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			cs, err := sharegroup.Configs(ctx, cl, group)
			if err == nil && cs[sharegroup.AutoOffsetReset] == "earliest" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s = %q (%v) 15s after FromEarliest, want earliest", sharegroup.AutoOffsetReset, cs[sharegroup.AutoOffsetReset], err)
			}
		}
		if err := sharegroup.Set(ctx, cl, group, map[string]string{"share.no.such.config": "1"}); err == nil {
			t.Fatal("an unknown group config was accepted")
		}
	})
}
