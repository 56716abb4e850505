package sharegroup_test

import (
	"context"
	"testing"
	"time"

	"github.com/kpar/kpar/parallel/internal/testkit"
	"github.com/kpar/kpar/parallel/sharegroup"
)

// The configs a share group needs are set (FromEarliest, through Set) and
// read back at once, on kfake and on the real broker (whose describe
// includes the broker's defaults); an unknown group config is refused.
func TestFromEarliestThenDescribeGroupConfigs(t *testing.T) {
	for name, seeds := range map[string]func(testing.TB) []string{
		"kfake": func(t testing.TB) []string { return testkit.Kfake(t) },
		"real":  testkit.Brokers,
	} {
		t.Run(name, func(t *testing.T) {
			cl := testkit.Client(t, seeds(t))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			group := testkit.TopicName(t)
			if err := sharegroup.FromEarliest(ctx, cl, group); err != nil {
				t.Fatal(err)
			}
			// A real broker applies a group config a moment after the set
			// (through the metadata log); Set returns only once it shows.
			cs, err := sharegroup.Configs(ctx, cl, group)
			if err != nil || cs[sharegroup.AutoOffsetReset] != "earliest" {
				t.Fatalf("right after Set: %s=%q, %v; want earliest", sharegroup.AutoOffsetReset, cs[sharegroup.AutoOffsetReset], err)
			}
			n, err := sharegroup.Int(ctx, cl, group, sharegroup.DeliveryCountLimit, 5)
			if err != nil || n < 2 || n > 10 {
				t.Fatalf("%s = %d, %v: want the broker's 2..10", sharegroup.DeliveryCountLimit, n, err)
			}
			if err := sharegroup.Set(ctx, cl, group, map[string]string{"share.no.such.config": "1"}); err == nil {
				t.Fatal("an unknown group config was accepted")
			}
		})
	}
}
