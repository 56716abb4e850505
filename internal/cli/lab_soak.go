package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kpar/kpar/internal/env"
	"github.com/kpar/kpar/internal/lab/soak"
)

func newLabSoakCmd(g *globals) *cobra.Command {
	c, cfg := configCommand("soak", "Every guarantee under mixed consumer, broker and network faults for minutes on end",
		help("lab-soak"), "lab-soak", soak.DefaultConfig(), `
strategies     Strategies      comma-separated strategies, each its own group on the same input (those of kpar lab consumer without a JVM)
duration       Duration        how long to produce and inject faults
interval       Interval        time between two faults' starts (longer after a fault that lasts longer, 40s after a broker kill)
rate           Rate            records/s produced
keys           Keys            distinct keys
members        Members         static members per strategy
workers        Workers         max concurrency per member
latency        Latency         handler latency, uniform 0..this
permanent      Permanent       chance a record always fails (dead-letter material)
stall-timeout  Stall           end the run when catching up or a read gets no further for this long
port           Port            first client port of the soak's own cluster
heap           Heap            JVM heap per node of the soak's own cluster
keep-cluster   KeepCluster     leave the soak's own cluster running
seed           Seed`, func(cmd *cobra.Command, cfg soak.Config, out *outFlags) error { return runLabSoak(cmd, g, cfg, out) })
	addPartitions(c.Flags(), &cfg.Partitions, cfg.Partitions, "the input topic")
	return c
}

func runLabSoak(cmd *cobra.Command, g *globals, cfg soak.Config, out *outFlags) error {
	cfg, err := seeded(&cfg, &cfg.Seed)
	if err != nil {
		return err
	}
	if g.secured() {
		return errors.New("kpar lab soak runs plaintext only: its proxies and workers take no TLS/SASL settings")
	}
	if err := g.kparChild(&cfg.Worker); err != nil {
		return err
	}
	var brokers func(context.Context) ([]string, error)
	cfg.Home, _, brokers = g.labCluster("lab-soak")
	return runExperiment(cmd, g, experiment[soak.Result]{out: out, kind: soak.Kind,
		brokers: brokers, seed: cfg.Seed,
		intro: func(env.Env) string {
			return fmt.Sprintf("kpar lab soak: seed %d, strategies %s, %s", cfg.Seed, strings.Join(cfg.Strategies, ","), cfg.Duration)
		},
		run: func(ctx context.Context, e env.Env) (soak.Result, error) {
			cfg.Env = e
			res, err := soak.Run(ctx, cfg)
			if err != nil && ctx.Err() != nil {
				return res, fmt.Errorf("kpar lab soak stopped (%v): every member and the soak's cluster ended, no results written", ctx.Err())
			}
			return res, err
		},
		doc: soak.Doc, views: soak.Views})
}
