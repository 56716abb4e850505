package parallel

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The default member count: enough members for their polls to hold twice
// the concurrency (four times from 2,500 up), within 2 and 8.
func TestShareMembersForFollowsConcurrencyAndPollSize(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		concurrency, pollMax int
		want                 int
	}{
		{"the default concurrency: the floor", 100, 100, 2},
		{"one record at a time: the floor", 1, 1, 2},
		{"below the high concurrency: two polls' worth", 2499, 2499, 2},
		{"5,000: four polls' worth", 5000, 5000, 4},
		{"polls cut by MaxBuffered: more members", 5000, 2500, 8},
		{"polls cut by MaxBuffered below 2,500", 1000, 500, 4},
		{"far more than the cap asks: the cap", 50_000, 10_000, 8},
	} {
		if got := shareMembersFor(tc.concurrency, tc.pollMax); got != tc.want {
			t.Errorf("%s: shareMembersFor(%d, %d) = %d, want %d", tc.name, tc.concurrency, tc.pollMax, got, tc.want)
		}
	}
}

// New starts the chosen number of member clients when ShareMembers is not
// given, and exactly ShareMembers when it is (even below the default).
func TestShareModeRunsTheChosenOrGivenMemberCount(t *testing.T) {
	h := func(context.Context, *kgo.Record) error { return nil }
	for _, tc := range []struct {
		name string
		opts []Opt
		want int
	}{
		{"default concurrency", nil, 2},
		{"concurrency 5,000", []Opt{MaxConcurrency(5000)}, 4},
		{"concurrency 5,000, MaxBuffered 2,500", []Opt{MaxConcurrency(5000), MaxBuffered(2500)}, 8},
		{"given 1 at concurrency 5,000", []Opt{MaxConcurrency(5000), ShareMembers(1)}, 1},
		{"given 3", []Opt{ShareMembers(3)}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := append([]Opt{ClientOpts(kgo.SeedBrokers("127.0.0.1:1"), kgo.ConsumeTopics("t")), ShareGroup("g")}, tc.opts...)
			c, err := New(h, opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			s, ok := c.engine.(*shareMode)
			if !ok {
				t.Fatalf("engine %T, want *shareMode", c.engine)
			}
			if got := len(s.members); got != tc.want {
				t.Errorf("%d member clients, want %d", got, tc.want)
			}
			if c.cl != s.members[0] {
				t.Error("Client is not the first member")
			}
		})
	}
}
