package cli

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/kpar/kpar/internal/bench/downstream"
	"github.com/kpar/kpar/internal/env"
)

type benchDownstreamFlags struct {
	prefix                    string
	partitions                int
	order                     string
	capacity                  int
	base, timeout             time.Duration
	fixed                     string
	adaptiveMin, adaptiveMax  int
	rate                      float64
	burst                     int
	steady, halved, recovered time.Duration
	warmup, settle, tick      time.Duration
	attempts, repeat          int
	out                       outFlags
}

func newBenchDownstreamCmd(g *globals) *cobra.Command {
	f := &benchDownstreamFlags{}
	def := downstream.DefaultConfig()
	c := &cobra.Command{
		Use:   "downstream",
		Short: "Fixed, adaptive and rate-limited concurrency against a simulated downstream that saturates",
		Long: `Runs against a real broker (never kfake). A downstream is simulated in this
process: --capacity calls at once at --base-latency, a FIFO queue beyond, and a
call not done by --timeout fails (the library retries it in place, up to
--attempts, then dead-letters it to <topic-prefix>-dead). Each contender is a
parallel consumer on a fresh group reading the same topic for three phases:
steady (--steady, capacity C), halved (--halved, C/2), recovered (--recovered,
C). Contenders: MaxConcurrency fixed at each of --fixed; AdaptiveConcurrency
(--adaptive-min, --adaptive-max); with --rate, RateLimit(--rate, --burst).
Reported per phase: records/s, handler p50/p99, downstream errors and
retries; a timeline of throughput and the adaptive limit. Targets are judged
over --repeat runs (met only when every repeat passes).

Results go to --out: downstream.json (versioned schema), downstream.md and
charts. Nothing is written unless every run finished.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runBenchDownstream(cmd, g, f) },
	}
	fl := c.Flags()
	fl.StringVar(&f.prefix, "topic-prefix", def.TopicPrefix, "prefix of the bench topics")
	addPartitions(fl, &f.partitions, def.Partitions, "the bench topic")
	fl.StringVar(&f.order, "order", def.Order.String(), "ordering (key, partition, none)")
	fl.IntVar(&f.capacity, "capacity", def.Capacity, "calls the downstream serves at once in the steady phase")
	fl.DurationVar(&f.base, "base-latency", def.BaseLatency, "a downstream call's latency when served at once")
	fl.DurationVar(&f.timeout, "timeout", def.Timeout, "a downstream call not done by then fails")
	fl.StringVar(&f.fixed, "fixed", joinInts(def.Fixed), "comma-separated fixed MaxConcurrency contenders")
	fl.IntVar(&f.adaptiveMin, "adaptive-min", def.AdaptiveMin, "AdaptiveConcurrency min")
	fl.IntVar(&f.adaptiveMax, "adaptive-max", def.AdaptiveMax, "AdaptiveConcurrency max (and MaxConcurrency of the adaptive and rate contenders)")
	fl.Float64Var(&f.rate, "rate", def.Rate, "RateLimit contender's starts per second (0: no rate contender)")
	fl.IntVar(&f.burst, "burst", def.Burst, "RateLimit contender's burst")
	fl.DurationVar(&f.steady, "steady", def.Steady, "steady phase length")
	fl.DurationVar(&f.halved, "halved", def.Halved, "halved-capacity phase length")
	fl.DurationVar(&f.recovered, "recovered", def.Recovered, "recovered phase length")
	fl.DurationVar(&f.warmup, "warmup", def.Warmup, "skipped at the start of the steady phase")
	fl.DurationVar(&f.settle, "settle", def.Settle, "skipped after each capacity change")
	fl.DurationVar(&f.tick, "tick", def.Tick, "timeline resolution")
	fl.IntVar(&f.attempts, "attempts", def.Attempts, "in-place attempts per record (parallel.Retries)")
	fl.IntVar(&f.repeat, "repeat", def.Repeat, "runs of every contender, interleaved")
	addOutFlags(fl, &f.out, "downstream")
	return wired(c)
}

// config parses the flags into a validated Config; it touches no broker.
func (f *benchDownstreamFlags) config() (downstream.Config, error) {
	c := downstream.DefaultConfig()
	if err := c.Order.UnmarshalText([]byte(f.order)); err != nil {
		return c, fmt.Errorf("--order: %w", err)
	}
	c.Fixed = nil
	for _, s := range splitList(f.fixed) {
		n, err := strconv.Atoi(s)
		if err != nil {
			return c, fmt.Errorf("--fixed %q: not a whole number", s)
		}
		c.Fixed = append(c.Fixed, n)
	}
	c.TopicPrefix, c.Partitions = f.prefix, f.partitions
	c.Capacity, c.BaseLatency, c.Timeout = f.capacity, f.base, f.timeout
	c.AdaptiveMin, c.AdaptiveMax, c.Rate, c.Burst = f.adaptiveMin, f.adaptiveMax, f.rate, f.burst
	c.Steady, c.Halved, c.Recovered = f.steady, f.halved, f.recovered
	c.Warmup, c.Settle, c.Tick = f.warmup, f.settle, f.tick
	c.Attempts, c.Repeat = f.attempts, f.repeat
	return c, c.Validate()
}

func runBenchDownstream(cmd *cobra.Command, g *globals, f *benchDownstreamFlags) error {
	cfg, err := f.config()
	if err != nil {
		return err
	}
	return runExperiment(cmd, g, experiment[downstream.Result]{out: &f.out, data: downstream.DataFile,
		run: func(ctx context.Context, e env.Env) (downstream.Result, error) {
			cfg.Env = e
			return downstream.Run(ctx, cfg)
		},
		doc: downstream.Doc})
}
