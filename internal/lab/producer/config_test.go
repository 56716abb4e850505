package producer

import (
	"strings"
	"testing"
	"time"
)

func TestValidateNamesTheFlag(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("the default config is refused: %v", err)
	}
	full := DefaultConfig()
	full.Full, full.Settings = true, nil
	if err := full.Validate(); err != nil {
		t.Fatalf("--full refused: %v", err)
	}
	cases := []struct {
		flag string
		edit func(*Config)
	}{
		{"--seed", func(c *Config) { c.Seed = -3 }},
		{"--producers", func(c *Config) { c.Producers = 0 }},
		{"--producers", func(c *Config) { c.Producers = 65 }},
		{"--keys", func(c *Config) { c.Keys = 0 }},
		{"--partitions", func(c *Config) { c.Partitions = 0 }},
		{"--rate", func(c *Config) { c.Rate = 5 }},
		{"--value-bytes", func(c *Config) { c.ValueBytes = 10 }},
		{"--port", func(c *Config) { c.Port = 80 }},
		{"--port", func(c *Config) { c.Port = 32700 }},
		{"--heap", func(c *Config) { c.Heap = " " }},
		{"--freeze", func(c *Config) { c.Freeze = SessionTimeout }},
		{"--warmup", func(c *Config) { c.Warmup = 0 }},
		{"--tail", func(c *Config) { c.Tail = -time.Second }},
		{"--delivery-timeout", func(c *Config) { c.DeliveryTimeout = 0 }},
		{"--flush", func(c *Config) { c.Flush = 0 }},
		{"--consumer-timeout", func(c *Config) { c.ConsumerTimeout = 0 }},
		{"--settings", func(c *Config) { c.Settings = []string{"acks2"} }},
		{"--settings", func(c *Config) { c.Settings = nil }},
		{"--faults", func(c *Config) { c.Faults = []string{"reboot"} }},
		{"--faults", func(c *Config) { c.Faults = nil }},
		{"--cell", func(c *Config) { c.Cell = "acks1-if5" }},
		{"--cell", func(c *Config) { c.Cell = "acks9/leader-kill" }},
		{"--cell", func(c *Config) { c.Cell = "acks1-if5/reboot" }},
	}
	for _, tc := range cases {
		c := DefaultConfig()
		tc.edit(&c)
		err := c.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), tc.flag) {
			t.Errorf("want an error naming %s, got %v", tc.flag, err)
		}
	}
	// A given cluster needs no port or heap of the lab's own.
	given := DefaultConfig()
	given.Brokers, given.Port, given.Heap = []string{"127.0.0.1:9092"}, 0, ""
	if err := given.Validate(); err != nil {
		t.Fatalf("given brokers: %v", err)
	}
}

func TestCellsPlan(t *testing.T) {
	c := DefaultConfig()
	if got := len(c.Cells()); got != len(c.Settings)*len(c.Faults) {
		t.Fatalf("default plan has %d cells", got)
	}
	c.Full = true
	if got := len(c.Cells()); got != 42 {
		t.Fatalf("--full plans %d cells, want 14 settings x 3 faults", got)
	}
	c.Cell = "all-idem+unclean/rolling"
	cells := c.Cells()
	if len(cells) != 1 || cells[0].Name() != "all-idem+unclean/rolling" || !cells[0].Setting.Unclean || !cells[0].Setting.Safe() {
		t.Fatalf("--cell plan %+v", cells)
	}
}

func TestIdempotentSettingsAreAcksAll(t *testing.T) {
	for _, s := range allSettings {
		if s.Idempotent && s.Acks != "all" {
			t.Errorf("%s: idempotence without acks=all (franz-go refuses it)", s.Name)
		}
	}
}

func TestOneNodeClusterIsRefusedNamingThree(t *testing.T) {
	err := needThree([]string{"127.0.0.1:9092"}, 1)
	if err == nil {
		t.Fatal("a 1-node cluster was accepted")
	}
	for _, want := range []string{"needs a 3-node cluster", "127.0.0.1:9092", "report 1 node", "kpar broker up --nodes 3"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	if err := needThree(nil, 3); err != nil {
		t.Fatalf("3 nodes refused: %v", err)
	}
}
