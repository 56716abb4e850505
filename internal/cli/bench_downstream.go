package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/kpar/kpar/internal/bench/downstream"
)

// benchDownstreamFlags: --order and --fixed, parsed into the Config the
// other flags are bound to.
type benchDownstreamFlags struct {
	cfg          downstream.Config
	order, fixed string
	out          outFlags
	stall        time.Duration
}

func newBenchDownstreamCmd(g *globals) *cobra.Command {
	f := &benchDownstreamFlags{cfg: downstream.DefaultConfig()}
	def, cf := downstream.DefaultConfig(), &f.cfg
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
	fl.StringVar(&cf.TopicPrefix, "topic-prefix", def.TopicPrefix, "prefix of the bench topics")
	addPartitions(fl, &cf.Partitions, def.Partitions, "the bench topic")
	fl.StringVar(&f.order, "order", def.Order.String(), "ordering (key, partition, none)")
	fl.IntVar(&cf.Capacity, "capacity", def.Capacity, "calls the downstream serves at once in the steady phase")
	fl.DurationVar(&cf.BaseLatency, "base-latency", def.BaseLatency, "a downstream call's latency when served at once")
	fl.DurationVar(&cf.Timeout, "timeout", def.Timeout, "a downstream call not done by then fails")
	fl.StringVar(&f.fixed, "fixed", joinInts(def.Fixed), "comma-separated fixed MaxConcurrency contenders")
	fl.IntVar(&cf.AdaptiveMin, "adaptive-min", def.AdaptiveMin, "AdaptiveConcurrency min")
	fl.IntVar(&cf.AdaptiveMax, "adaptive-max", def.AdaptiveMax, "AdaptiveConcurrency max (and MaxConcurrency of the adaptive and rate contenders)")
	fl.Float64Var(&cf.Rate, "rate", def.Rate, "RateLimit contender's starts per second (0: no rate contender)")
	fl.IntVar(&cf.Burst, "burst", def.Burst, "RateLimit contender's burst")
	fl.DurationVar(&cf.Steady, "steady", def.Steady, "steady phase length")
	fl.DurationVar(&cf.Halved, "halved", def.Halved, "halved-capacity phase length")
	fl.DurationVar(&cf.Recovered, "recovered", def.Recovered, "recovered phase length")
	fl.DurationVar(&cf.Warmup, "warmup", def.Warmup, "skipped at the start of the steady phase")
	fl.DurationVar(&cf.Settle, "settle", def.Settle, "skipped after each capacity change")
	fl.DurationVar(&cf.Tick, "tick", def.Tick, "timeline resolution")
	fl.IntVar(&cf.Attempts, "attempts", def.Attempts, "in-place attempts per record (parallel.Retries)")
	fl.IntVar(&cf.Repeat, "repeat", def.Repeat, "runs of every contender, interleaved")
	addStallTimeout(fl, &f.stall)
	addOutFlags(fl, &f.out, "downstream")
	return wired(c)
}

// config completes the Config from the flags and validates it; it touches
// no broker.
func (f *benchDownstreamFlags) config() (downstream.Config, error) {
	c := f.cfg
	if err := c.Order.UnmarshalText([]byte(f.order)); err != nil {
		return c, fmt.Errorf("--order: %w", err)
	}
	var err error
	if c.Fixed, err = parseInts("fixed", f.fixed, 1); err != nil {
		return c, err
	}
	if err := checkStall(f.stall); err != nil {
		return c, err
	}
	return c, c.Validate()
}

func runBenchDownstream(cmd *cobra.Command, g *globals, f *benchDownstreamFlags) error {
	cfg, err := f.config()
	if err != nil {
		return err
	}
	return runExperiment(cmd, g, experiment[downstream.Result]{out: &f.out, data: downstream.DataFile, stall: f.stall,
		run: runOf(cfg, downstream.Run),
		doc: downstream.Doc})
}
