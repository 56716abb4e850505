// Package soak is `kpar lab soak`: consumers of several strategies process
// a continuously produced topic for minutes while a seeded schedule mixes
// consumer kills, members joining and leaving, broker kills and freezes,
// leader moves and network faults between the clients and one broker; a
// checker then reads every topic to its end and counts what was lost,
// duplicated, reordered and dead-lettered, and how long the consumers took
// to recover from each fault.
package soak

import (
	"fmt"
	"slices"
	"time"

	"github.com/kpar/kpar/internal/env"
	"github.com/kpar/kpar/internal/flagcheck"
	"github.com/kpar/kpar/internal/progress"

	"github.com/kpar/kpar/internal/lab/strategy"
	"github.com/kpar/kpar/internal/proc"
)

// Config is one soak run.
type Config struct {
	// Env: the Brokers of a given 3-node cluster (empty: the soak starts
	// its own, proxied, under Home on Port); plaintext only.
	env.Env
	Home        string
	Port        int
	Heap        string
	KeepCluster bool

	Duration   time.Duration // faults and production
	Interval   time.Duration // between two faults
	Strategies []string
	Seed       int64
	Partitions int
	Keys       int
	Rate       int // records/s produced
	Members    int // static members per strategy
	Workers    int // max concurrency per member
	Latency    time.Duration
	Permanent  float64       // chance a record always fails (dead-letter material)
	Stall      time.Duration // a drain or read that gets no further for this long ends the run

	// Worker starts a `kpar child lab-worker` with its worker.Params.
	Worker proc.Starter
}

// DefaultConfig is the soak's defaults.
func DefaultConfig() Config {
	return Config{
		Port: 29092, Heap: "512M", Duration: 3 * time.Minute, Interval: 4 * time.Second,
		Strategies: []string{"lib-key", "lib-unordered", "eos", "kpar-share"},
		Partitions: 6, Keys: 200, Rate: 200, Members: 2, Workers: 64, Latency: 5 * time.Millisecond,
		Permanent: 0.001, Stall: 60 * time.Second,
	}
}

// Validate checks every flag-backed field; each error names its flag.
func (c Config) Validate() error {
	if len(c.Strategies) == 0 {
		return fmt.Errorf("--strategies: name at least one")
	}
	for i, s := range c.Strategies {
		if slices.Contains(c.Strategies[:i], s) {
			return fmt.Errorf("--strategies: %s named twice", s)
		}
		if _, err := strategy.Get(s); err != nil {
			return fmt.Errorf("--strategies: %w", err)
		}
		if strategy.NeedsJVM(s) {
			return fmt.Errorf("--strategies: %s runs Confluent's Parallel Consumer in a JVM, which the soak does not start (use kpar lab consumer)", s)
		}
	}
	switch {
	case c.Duration < 20*time.Second:
		return fmt.Errorf("--duration %s: must be at least 20s (a warm-up, faults, a quiet end)", c.Duration)
	case c.Interval < time.Second:
		return fmt.Errorf("--interval %s: must be at least 1s", c.Interval)
	}
	if err := flagcheck.AtLeast(flagcheck.Int("partitions", c.Partitions, 1), flagcheck.Int("keys", c.Keys, 1),
		flagcheck.Int("rate", c.Rate, 1), flagcheck.Int("members", c.Members, 1), flagcheck.Int("workers", c.Workers, 1)); err != nil {
		return err
	}
	switch {
	case c.Latency < 0:
		return fmt.Errorf("--latency %s: must not be negative", c.Latency)
	case c.Permanent < 0 || c.Permanent >= 1:
		return fmt.Errorf("--permanent %g: must be in [0,1)", c.Permanent)
	case c.Stall < time.Second:
		return fmt.Errorf("--stall-timeout %s: must be at least 1s", c.Stall)
	case len(c.Brokers) == 0 && (c.Port < 1024 || c.Port+402 > 65535):
		return fmt.Errorf("--port %d: the soak's cluster uses port..port+402; pick one in 1024..65133", c.Port)
	}
	return nil
}

func (c Config) progress(s string) { c.Progress.Emit(progress.Event{Kind: progress.Note, Line: s}) }
