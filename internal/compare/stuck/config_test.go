package stuck

import (
	"testing"
	"time"

	"github.com/kpar/kpar/internal/testkit"
	"github.com/kpar/kpar/parallel"
)

func TestConfigValidateNamesTheFlag(t *testing.T) {
	good := func() Config {
		c := DefaultConfig()
		c.Brokers = []string{"127.0.0.1:9092"}
		c.Child = testkit.StartChild
		return c
	}
	testkit.ValidateRefuses(t, good, map[string]func(*Config){
		"--partitions 0":           func(c *Config) { c.Partitions = 0 },
		"--window-records 1":       func(c *Config) { c.RecordsPerPartition = 1 },
		"--keys 0":                 func(c *Config) { c.Keys = 0 },
		"--window-stuck-offset -1": func(c *Config) { c.StuckOffset = -1 },
		"--window-stuck-offset 39999: must be below --window-records": func(c *Config) { c.StuckOffset = 39_999 },
		"--window-concurrency 0": func(c *Config) { c.Concurrency = 0 },
		"--window-stuck 500ms":   func(c *Config) { c.MaxHold = 500 * time.Millisecond },
		"--window-poll 0s":       func(c *Config) { c.Poll = 0 },
		"--window-settle 100ms: must be at least --window-poll": func(c *Config) { c.Settle = 100 * time.Millisecond },
		"--window-settle 3m0s: must be below --window-stuck":    func(c *Config) { c.Settle = c.MaxHold },
		"--window-session-timeout -1s":                          func(c *Config) { c.SessionTimeout = -time.Second },
		"--window-drain 0s":                                     func(c *Config) { c.Drain = 0 },
		"--window-order 9":                                      func(c *Config) { c.Order = parallel.Order(9) },
		"--window-only: no library":                             func(c *Config) { c.Only = nil },
		`--window-only: unknown library "sarama"`:               func(c *Config) { c.Only = []string{"kpar", "sarama"} },
		"needs the kpar child command":                          func(c *Config) { c.Child = nil },
		`--window-pc-jvm "Xmx1g"`:                               func(c *Config) { c.PCJVMFlags = []string{"Xmx1g"} },
	}, func(c *Config) {
		// The smallest valid values.
		c.Partitions, c.RecordsPerPartition, c.Keys, c.StuckOffset, c.Concurrency = 1, 2, 1, 0, 1
		c.MaxHold, c.Poll, c.Settle, c.Drain = time.Second, time.Millisecond, time.Millisecond, time.Nanosecond
		c.Only = []string{"pc"}
		c.Child = nil
	})
}

func TestRecordKeysCycleWithinTheirPartition(t *testing.T) {
	// 1000 keys over 12 partitions: 84 for the first four, 83 for the rest,
	// each key in exactly one partition, each partition cycling its own.
	seen := map[string]int{}
	for p := range 12 {
		n := keysOf(p, 12, 1000)
		if want := map[bool]int{true: 84, false: 83}[p < 4]; n != want {
			t.Errorf("partition %d: %d keys, want %d", p, n, want)
		}
		for i := range 2 * n {
			k := recordKey(p, i, 12, 1000)
			if q, ok := seen[k]; ok && q != p {
				t.Fatalf("key %s in partitions %d and %d", k, q, p)
			}
			seen[k] = p
			if i >= n && k != recordKey(p, i-n, 12, 1000) {
				t.Fatalf("partition %d record %d: key %s does not repeat every %d records", p, i, k, n)
			}
		}
	}
	if len(seen) != 1000 {
		t.Errorf("%d distinct keys, want 1000", len(seen))
	}
	if keysOf(0, 12, 5) != 1 || keysOf(11, 12, 5) != 1 {
		t.Errorf("fewer keys than partitions: every partition still has one key")
	}
}

func TestRoomAboveLeavesOutWhatWaitsBehindTheStuckRecord(t *testing.T) {
	c := DefaultConfig() // 12 partitions, 1000 keys: 84 keys in partitions 0-3, 83 in the rest
	for _, tc := range []struct {
		order parallel.Order
		p     int
		want  int
	}{
		{parallel.OrderNone, 0, 39_899},
		{parallel.OrderKey, 0, 39_899 - 39_899/84}, // the stuck key comes back every 84 records
		{parallel.OrderKey, 11, 39_899 - 39_899/83},
		{parallel.OrderPartition, 0, 0},
	} {
		c.Order = tc.order
		if got := roomAbove(c, tc.p, 100, 40_000); got != tc.want {
			t.Errorf("%s order, partition %d: room %d, want %d", tc.order, tc.p, got, tc.want)
		}
	}
}
