package compare

import (
	"testing"
	"time"

	"github.com/kpar/kpar/internal/proc"
	"github.com/kpar/kpar/internal/testkit"
)

func goodConfig() Config {
	c := DefaultConfig()
	c.SourceRoot, _ = FindModuleRoot(".")
	c.Child = proc.Exe{Argv: []string{"true"}}.Start
	return c
}

func TestConfigValidateNamesTheFlag(t *testing.T) {
	testkit.ValidateRefuses(t, goodConfig, map[string]func(*Config){
		"--topic-prefix":                       func(c *Config) { c.TopicPrefix = "" },
		"--partitions 0":                       func(c *Config) { c.Partitions = 0 },
		"--keys 0":                             func(c *Config) { c.Keys = 0 },
		"--value-size -1":                      func(c *Config) { c.ValueSize = -1 },
		"--io-records 0":                       func(c *Config) { c.IORecords = 0 },
		"--noop-records -3":                    func(c *Config) { c.NoopRecords = -3 },
		"--noop-concurrency 0":                 func(c *Config) { c.NoopConcurrency = 0 },
		"--rss-records 0":                      func(c *Config) { c.RSSRecords = 0 },
		"--dlq-records -1":                     func(c *Config) { c.DeadLetterRecords = -1 },
		"--kpar-max-buffered -1":               func(c *Config) { c.KparMaxBuffered = -1 },
		"--kpar-max-buffered-per-partition -1": func(c *Config) { c.KparPerPart = -1 },
		"--concurrency: no concurrency":        func(c *Config) { c.Concurrencies = nil },
		"--concurrency 0":                      func(c *Config) { c.Concurrencies = []int{16, 0} },
		"--concurrency 16: given twice":        func(c *Config) { c.Concurrencies = []int{16, 16} },
		"--sleep 0s":                           func(c *Config) { c.Sleep = 0 },
		"--sleep 1.5ms":                        func(c *Config) { c.Sleep = 1500 * time.Microsecond },
		`--pc-heap "lots"`:                     func(c *Config) { c.PCHeap = "lots" },
		`--pc-heap "0m"`:                       func(c *Config) { c.PCHeap = "0m" },
		"--timeout 0s":                         func(c *Config) { c.Timeout = 0 },
		"--source-root":                        func(c *Config) { c.SourceRoot = "" },
		"--source-root /: lines of code of naive loop": func(c *Config) { c.SourceRoot = "/" },
		"Config.Child": func(c *Config) { c.Child = nil },
	}, func(c *Config) {
		// The smallest accepted values.
		c.Partitions, c.Keys, c.ValueSize, c.IORecords, c.NoopRecords, c.NoopConcurrency, c.RSSRecords = 1, 1, 0, 1, 1, 1, 1
		c.Concurrencies, c.Sleep, c.PCHeap, c.Timeout = []int{1}, time.Millisecond, "64M", time.Second
	})
}

// The io topics follow the comparison's matrix: 1,000 keys at 16 and 500, 10,000
// at 5,000.
func TestKeysFollowTheIssuesMatrix(t *testing.T) {
	c := DefaultConfig()
	for conc, want := range map[int]int{16: 1000, 500: 1000, 5000: 10000} {
		if got := c.keysAt(conc); got != want {
			t.Errorf("concurrency %d: %d keys, want %d", conc, got, want)
		}
	}
}
