package consumer

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestValidateNamesTheFlagOfEveryBadValue(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"unknown strategy", func(c *Config) { c.Strategies = []string{"yolo"} }, `--strategies: unknown strategy "yolo"`},
		{"strategy twice", func(c *Config) { c.Strategies = []string{"lib-key", "lib-key"} }, "--strategies: lib-key is named twice"},
		{"unknown fault", func(c *Config) { c.Scenarios = []string{"ooo+meteor"} }, `--scenarios: scenario "ooo+meteor": unknown fault "meteor"`},
		{"no strategies", func(c *Config) { c.Strategies = nil }, "no cell to run: --strategies and --scenarios"},
		{"cell without slash", func(c *Config) { c.Cell = "lib-key" }, `--cell "lib-key": want strategy/scenario`},
		{"cell with unknown strategy", func(c *Config) { c.Cell = "yolo/ooo" }, `--cell: unknown strategy "yolo"`},
		{"negative seed", func(c *Config) { c.Seed = -1 }, "--seed -1: must be at least 0"},
		{"negative records", func(c *Config) { c.Records = -5 }, "--records -5: must be at least 1"},
		{"no partitions", func(c *Config) { c.Partitions = 0 }, "--partitions 0: must be at least 1"},
		{"no keys", func(c *Config) { c.Keys = 0 }, "--keys 0: must be at least 1"},
		{"no workers", func(c *Config) { c.Workers = 0 }, "--workers 0: must be at least 1"},
		{"no max-poll", func(c *Config) { c.MaxPoll = 0 }, "--max-poll 0: must be at least 1"},
		{"negative crashes", func(c *Config) { c.Crashes = -1 }, "--crashes -1: must be at least 0"},
		{"kill without crashes", func(c *Config) { c.Scenarios, c.Crashes = []string{"ooo+kill"}, 0 }, "--crashes 0: the crash and kill scenarios need at least 1"},
		{"crash-at not increasing", func(c *Config) { c.CrashAt = []int{500, 100} }, "--crash-at 500,100: want increasing positive"},
		{"negative latency", func(c *Config) { c.Latency = -time.Millisecond }, "--latency -1ms: must not be negative"},
		{"no stall timeout", func(c *Config) { c.StallTimeout = 0 }, "--stall-timeout 0s: must be positive"},
		{"transient above one", func(c *Config) { c.Transient = 1.5 }, "--transient 1.5: must be a chance between 0 and 1"},
		{"negative permanent", func(c *Config) { c.Permanent = -0.1 }, "--permanent -0.1: must be a chance between 0 and 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			c.edit(&cfg)
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want an error containing %q, got %v", c.want, err)
			}
			// Run refuses the same Config before it looks for a broker.
			if _, rerr := Run(context.Background(), cfg); rerr == nil || rerr.Error() != err.Error() {
				t.Fatalf("Run: want %v, got %v", err, rerr)
			}
		})
	}
}

// The boundary: the defaults, and every minimum, are accepted, so the table
// above cannot pass by refusing everything.
func TestValidateAcceptsTheDefaultsAndEveryMinimum(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults refused: %v", err)
	}
	cfg := DefaultConfig()
	cfg.Seed, cfg.Records, cfg.Partitions, cfg.Keys, cfg.Workers, cfg.MaxPoll = 0, 1, 1, 1, 1, 1
	cfg.Latency, cfg.Transient, cfg.Permanent = 0, 1, 0
	cfg.Scenarios, cfg.Crashes, cfg.CrashAt = []string{"ooo", "none"}, 0, nil
	if err := cfg.Validate(); err != nil {
		t.Fatalf("minimums refused: %v", err)
	}
	cfg.Scenarios, cfg.CrashAt = []string{"ooo+kill"}, []int{1}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("a kill scenario with an explicit schedule and --crashes 0 refused: %v", err)
	}
}

func TestCellsRunEveryStrategyUnderEachScenarioInTurn(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Strategies, cfg.Scenarios = []string{"commit-before", "lib-key"}, []string{"ooo", "ooo+crash"}
	want := []string{"commit-before/ooo", "lib-key/ooo", "commit-before/ooo+crash", "lib-key/ooo+crash"}
	if got := cfg.Cells(); !slices.Equal(got, want) {
		t.Fatalf("cells %v, want %v", got, want)
	}
	cfg.Cell = "auto-commit/ooo+kill"
	if got := cfg.Cells(); !slices.Equal(got, []string{"auto-commit/ooo+kill"}) {
		t.Fatalf("--cell runs that cell only, got %v", got)
	}
}

func TestRerunCarriesTheKillScheduleAndFailureChances(t *testing.T) {
	cfg := Config{Seed: 7, Records: 3000, Partitions: 6, Keys: 64, Workers: 16, MaxPoll: 100, Latency: 10 * time.Millisecond,
		Crashes: 2, Transient: 0.1, Permanent: 0.02}
	for sc, want := range map[string]string{"ooo+kill": " --crashes 2", "ooo+crash": " --crashes 2", "ooo": ""} {
		got := cfg.Rerun("lib-key", sc)
		if !strings.HasPrefix(got, "kpar lab consumer --cell lib-key/"+sc+" --seed 7 --records 3000 --partitions 6 --keys 64 --workers 16 --max-poll 100 --latency 10ms") ||
			strings.Contains(got, "--crashes") != (want != "") || (want != "" && !strings.HasSuffix(got, want)) {
			t.Fatalf("rerun for %s: %q, want it to end in %q", sc, got, want)
		}
	}
	if got := cfg.Rerun("lib-key", "ooo+failures"); !strings.HasSuffix(got, " --transient 0.1 --permanent 0.02") {
		t.Fatalf("rerun of a failures cell without its chances: %q", got)
	}
	cfg.CrashAt = []int{600, 1400}
	if got := cfg.Rerun("lib-key", "kill"); !strings.HasSuffix(got, " --crash-at 600,1400") {
		t.Fatalf("rerun with an explicit kill schedule: %q", got)
	}
}
