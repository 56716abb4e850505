package compare

import (
	"strings"

	"github.com/kpar/kpar/internal/proc"
	"testing"
	"time"
)

func goodConfig() Config {
	c := DefaultConfig()
	c.SourceRoot, _ = FindModuleRoot(".")
	c.Child = proc.Exe{Argv: []string{"true"}}.Start
	return c
}

func TestConfigValidateNamesTheFlag(t *testing.T) {
	cases := []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.TopicPrefix = "" }, "--topic-prefix"},
		{func(c *Config) { c.Partitions = 0 }, "--partitions 0"},
		{func(c *Config) { c.Keys = 0 }, "--keys 0"},
		{func(c *Config) { c.ValueSize = -1 }, "--value-size -1"},
		{func(c *Config) { c.IORecords = 0 }, "--io-records 0"},
		{func(c *Config) { c.NoopRecords = -3 }, "--noop-records -3"},
		{func(c *Config) { c.NoopConcurrency = 0 }, "--noop-concurrency 0"},
		{func(c *Config) { c.RSSRecords = 0 }, "--rss-records 0"},
		{func(c *Config) { c.KparMaxBuffered = -1 }, "--kpar-max-buffered -1"},
		{func(c *Config) { c.KparPerPart = -1 }, "--kpar-max-buffered-per-partition -1"},
		{func(c *Config) { c.Concurrencies = nil }, "--concurrency: no concurrency"},
		{func(c *Config) { c.Concurrencies = []int{16, 0} }, "--concurrency 0"},
		{func(c *Config) { c.Concurrencies = []int{16, 16} }, "--concurrency 16: given twice"},
		{func(c *Config) { c.Sleep = 0 }, "--sleep 0s"},
		{func(c *Config) { c.Sleep = 1500 * time.Microsecond }, "--sleep 1.5ms"},
		{func(c *Config) { c.PCHeap = "lots" }, `--pc-heap "lots"`},
		{func(c *Config) { c.PCHeap = "0m" }, `--pc-heap "0m"`},
		{func(c *Config) { c.Timeout = 0 }, "--timeout 0s"},
		{func(c *Config) { c.SourceRoot = "" }, "--source-root"},
		{func(c *Config) { c.SourceRoot = "/" }, "--source-root /: lines of code of naive loop"},
		{func(c *Config) { c.Child = nil }, "Config.Child"},
	}
	for _, tc := range cases {
		c := goodConfig()
		tc.edit(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
	// The boundary: the defaults and the smallest accepted values pass, so
	// the table cannot pass by refusing everything.
	if err := goodConfig().Validate(); err != nil {
		t.Errorf("defaults rejected: %v", err)
	}
	c := goodConfig()
	c.Partitions, c.Keys, c.ValueSize, c.IORecords, c.NoopRecords, c.NoopConcurrency, c.RSSRecords = 1, 1, 0, 1, 1, 1, 1
	c.Concurrencies, c.Sleep, c.PCHeap, c.Timeout = []int{1}, time.Millisecond, "64M", time.Second
	if err := c.Validate(); err != nil {
		t.Errorf("smallest values rejected: %v", err)
	}
}

// The io topics follow issue 9's matrix: 1,000 keys at 16 and 500, 10,000
// at 5,000.
func TestKeysFollowTheIssuesMatrix(t *testing.T) {
	c := DefaultConfig()
	for conc, want := range map[int]int{16: 1000, 500: 1000, 5000: 10000} {
		if got := c.keysAt(conc); got != want {
			t.Errorf("concurrency %d: %d keys, want %d", conc, got, want)
		}
	}
}
