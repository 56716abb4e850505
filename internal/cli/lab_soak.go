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

type labSoakFlags struct {
	soak.Config
	out outFlags
}

func newLabSoakCmd(g *globals) *cobra.Command {
	def := soak.DefaultConfig()
	f := &labSoakFlags{Config: def}
	c := command("soak", "Every guarantee under mixed consumer, broker and network faults for minutes on end",
		`Starts a 3-node cluster of its own (ports --port..+2, controllers +100, and
a PROXIED client listener per node at +300 advertised at +400, where a TCP
proxy of the soak's forwards to it), or uses a given 3-node cluster whose
pids kpar recorded. A producer writes --rate records/s (seeded keys, global
and per-key sequence numbers in the values); each strategy's members
(kpar child lab-worker processes, as in kpar lab consumer) process the
topic continuously, writing every processing to their processed-log.

A seeded schedule, one fault every --interval after a warm-up (a fault
that lasts longer holds the next one back; a broker kill is followed by
40 s without faults, so that its recovery is seen whole), mixes
consumer SIGKILL and restart, members joining and leaving, broker SIGKILL
and restart on its data, broker SIGSTOP/SIGCONT, a partition's preferred
leader moved (AlterPartitionAssignments + ElectLeaders), and network faults
between the clients and one broker at its proxy: 200 ms added per chunk,
connections reset at random, or a blackhole. Every address is 127.0.0.1.

At the end production stops, each strategy catches up, and the checker
reads every topic to its end: lost, duplicated, reordered within a key,
dead-lettered; per fault each strategy's recovery time (from the fault's
start until its rate is back to 90% of the 10 s before, that rate at most
the input's), looked for until the next fault or the end of production.
Results: <out>/soak.json (schema `+fmt.Sprintf("%q version %d", soak.Schema, soak.SchemaVersion)+`),
soak.md, timeline.csv and the timeline chart (faults against each
strategy's throughput) as SVG and PNG, written only when the run completed.`, func(cmd *cobra.Command) error { return runLabSoak(cmd, g, f) })
	fl := c.Flags()
	bindFlags(fl, f, `
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
keep-cluster   KeepCluster     leave the soak's own cluster running`)
	addSeed(fl, &f.Seed)
	addPartitions(fl, &f.Partitions, def.Partitions, "the input topic")
	addOutFlags(fl, &f.out, "lab-soak")
	return c
}

func runLabSoak(cmd *cobra.Command, g *globals, f *labSoakFlags) error {
	cfg := f.Config
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
	return runExperiment(cmd, g, experiment[soak.Result]{out: &f.out, data: "soak.json",
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
