package cli

import (
	"cmp"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/kpar/kpar/internal/bench/downstream"
	"github.com/kpar/kpar/internal/flagcheck"
)

// benchDownstreamFlags: the Config's flags, and --order and --fixed,
// parsed into it.
type benchDownstreamFlags struct {
	downstream.Config
	OrderFlag, FixedFlag string
	stall                time.Duration
}

func newBenchDownstreamCmd(g *globals) *cobra.Command {
	def := downstream.DefaultConfig()
	c, f := configCommand("downstream", "Fixed, adaptive and rate-limited concurrency against a simulated downstream that saturates",
		help("bench-downstream"), "downstream", benchDownstreamFlags{Config: def, OrderFlag: def.Order.String(), FixedFlag: flagcheck.Ints(def.Fixed)}, `
topic-prefix  TopicPrefix  prefix of the bench topics
order         OrderFlag    ordering (key, partition, none)
capacity      Capacity     calls the downstream serves at once in the steady phase
base-latency  BaseLatency  a downstream call's latency when served at once
timeout       Timeout      a downstream call not done by then fails
fixed         FixedFlag    comma-separated fixed MaxConcurrency contenders
adaptive-min  AdaptiveMin  AdaptiveConcurrency min
adaptive-max  AdaptiveMax  AdaptiveConcurrency max (and MaxConcurrency of the adaptive and rate contenders)
rate          Rate         RateLimit contender's starts per second (0: no rate contender)
burst         Burst        RateLimit contender's burst
steady        Steady       steady phase length
halved        Halved       halved-capacity phase length
recovered     Recovered    recovered phase length
warmup        Warmup       skipped at the start of the steady phase
settle        Settle       skipped after each capacity change
tick          Tick         timeline resolution
attempts      Attempts     in-place attempts per record (parallel.Retries)
repeat        Repeat       runs of every contender, interleaved`, func(cmd *cobra.Command, f benchDownstreamFlags, out *outFlags) error {
			return runBenchDownstream(cmd, g, f, out)
		})
	addPartitions(c.Flags(), &f.Partitions, def.Partitions, "the bench topic")
	addStallTimeout(c.Flags(), &f.stall)
	return wired(c)
}

// runBenchDownstream validates the Config from the flags before any broker
// is looked up, then runs it.
func runBenchDownstream(cmd *cobra.Command, g *globals, f benchDownstreamFlags, out *outFlags) error {
	cfg := f.Config
	if err := cfg.Order.UnmarshalText([]byte(f.OrderFlag)); err != nil {
		return fmt.Errorf("--order: %w", err)
	}
	var err error
	if cfg.Fixed, err = parseInts("fixed", f.FixedFlag, 1); err != nil {
		return err
	}
	if err := cmp.Or(checkStall(f.stall), cfg.Validate()); err != nil {
		return err
	}
	return runExperiment(cmd, g, experiment[downstream.Result]{out: out, kind: downstream.Kind, stall: f.stall,
		run: runOf(cfg, downstream.Run),
		doc: downstream.Doc})
}
