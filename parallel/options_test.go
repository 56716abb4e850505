package parallel_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/parallel"
)

// Every invalid option value is refused by New with an error that wraps
// ErrInvalidOption and names the option, so a user can tell which one to fix.
// Validation runs before any connection: the seed broker here does not exist.
func TestNewRefusesEachInvalidOptionNamingIt(t *testing.T) {
	h := func(context.Context, *kgo.Record) error { return nil }
	base := parallel.ClientOpts(kgo.SeedBrokers("127.0.0.1:1"), kgo.ConsumerGroup("g"), kgo.ConsumeTopics("t"))
	cases := []struct {
		name  string
		opts  []parallel.Opt
		names string // must appear in the error
		bug   string // non-empty: known library bug, the case is skipped
	}{
		{"unknown ordering", one(parallel.Ordering(parallel.Order(7))), "Ordering", ""},
		{"negative ordering", one(parallel.Ordering(parallel.Order(-1))), "Ordering", ""},
		{"zero concurrency", one(parallel.MaxConcurrency(0)), "MaxConcurrency", ""},
		{"negative concurrency", one(parallel.MaxConcurrency(-5)), "MaxConcurrency", ""},
		{"zero buffered", one(parallel.MaxBuffered(0)), "MaxBuffered", ""},
		{"zero buffered per partition", one(parallel.MaxBufferedPerPartition(0)), "MaxBufferedPerPartition", ""},
		{"negative commit interval", one(parallel.CommitInterval(-time.Second)), "CommitInterval", ""},
		{"tiny metadata budget", one(parallel.MaxMetadataBytes(10)), "MaxMetadataBytes", ""},
		{"negative drain timeout", one(parallel.DrainTimeout(-time.Second)), "DrainTimeout", ""},
		{"negative revoke timeout", one(parallel.RevokeTimeout(-time.Second)), "RevokeTimeout", ""},
		{"negative handler timeout", one(parallel.HandlerTimeout(-time.Second)), "HandlerTimeout", ""},
		{"zero attempts", one(parallel.Retries(0, time.Millisecond, time.Second)), "Retries", ""},
		{"negative initial backoff", one(parallel.Retries(3, -time.Millisecond, time.Second)), "Retries", ""},
		{"max backoff below initial", one(parallel.Retries(3, time.Second, time.Millisecond)), "Retries", ""},
		{"negative retry delay", one(parallel.RetryTopic("retry", -time.Second, 3)), "RetryTopic", ""},
		{"zero retry rounds", one(parallel.RetryTopic("retry", time.Second, 0)), "RetryTopic", ""},
		{"retry topic is the dead-letter topic", []parallel.Opt{parallel.RetryTopic("same", time.Second, 1), parallel.DeadLetterTopic("same")},
			"dead-letter topic", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parallel.New(h, append([]parallel.Opt{base}, tc.opts...)...)
			if c != nil {
				c.Close()
			}
			var problem string
			switch {
			case !errors.Is(err, parallel.ErrInvalidOption):
				problem = "err = " + errString(err) + ", want one wrapping ErrInvalidOption"
			case !strings.Contains(err.Error(), tc.names):
				problem = "err = " + errString(err) + " does not name " + tc.names
			}
			switch {
			case problem != "" && tc.bug != "":
				t.Skipf("BUG: %s (%s)", tc.bug, problem)
			case problem != "":
				t.Fatal(problem)
			case tc.bug != "":
				t.Logf("known bug %q no longer reproduces: drop its marker", tc.bug)
			}
		})
	}
}

// Options at the edge of validity are accepted: the table above must not
// pass merely because New refuses everything.
func TestNewAcceptsBoundaryOptionValues(t *testing.T) {
	_, seeds := kfakeCluster(t, "t", 1)
	h := func(context.Context, *kgo.Record) error { return nil }
	c, err := parallel.New(h,
		parallel.ClientOpts(kgo.SeedBrokers(seeds...), kgo.ConsumerGroup("g"), kgo.ConsumeTopics("t")),
		parallel.Ordering(parallel.OrderNone), parallel.MaxConcurrency(1), parallel.MaxBuffered(1),
		parallel.MaxBufferedPerPartition(1), parallel.CommitInterval(0), parallel.MaxMetadataBytes(64),
		parallel.DrainTimeout(0), parallel.RevokeTimeout(0), parallel.HandlerTimeout(0),
		parallel.Retries(1, 0, 0), parallel.RetryTopic("r", 0, 1), parallel.DeadLetterTopic("d"))
	if err != nil {
		t.Fatalf("boundary values refused: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return strconv.Quote(err.Error())
}

func one(o parallel.Opt) []parallel.Opt { return []parallel.Opt{o} }
