package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kpar/kpar/internal/env"
	"github.com/kpar/kpar/internal/lab/consumer"
)

// labConsumerFlags: the Config's flags, and the lists parsed into it.
type labConsumerFlags struct {
	consumer.Config
	CrashAtFlag string
	Verbose     bool
}

func newLabConsumerCmd(g *globals) *cobra.Command {
	c, f := configCommand("consumer", "Count what each consumer strategy loses, duplicates and reorders under faults",
		help("lab-consumer"), "lab", labConsumerFlags{Config: consumer.DefaultConfig()}, `
strategies     Strategies      comma-separated strategies to run; pc-key, pc-partition, pc-unordered run Confluent's Parallel Consumer (needs a JDK and Maven); share and kpar-share consume as a share group (KIP-932)
scenarios      Scenarios       comma-separated scenarios, faults joined by '+' (ooo, crash, kill, rebalance, failures, slow; or none)
cell           Cell            run one cell, strategy/scenario (e.g. commit-before/ooo+crash); overrides --strategies and --scenarios
records        Records         input records per cell
keys           Keys            distinct keys
workers        Workers         worker goroutines (max concurrency) per consumer process
max-poll       MaxPoll         max records per poll for the franz-go strategies
latency        Latency         handler latency: with ooo uniform 0..this plus a 2% tail at 10x this; without ooo fixed at this/2
crashes        Crashes         K: SIGKILLs per cell in crash and kill scenarios
crash-at       CrashAtFlag     explicit crash and kill schedule: comma-separated increasing processed-log counts (overrides --crashes)
transient      Transient       failures: chance a handler attempt fails transiently (first 3 attempts)
permanent      Permanent       failures: chance a record always fails (dead-letter material)
stall-timeout  StallTimeout    give up on a cell whose consumers make no progress for this long (after a worker's start or restart: at least 60s)
keep-topics    Keep            keep each cell's topics and group for inspection
verbose        Verbose         pass the worker processes' output through to stderr
seed  Seed`, func(cmd *cobra.Command, f labConsumerFlags, out *outFlags) error {
			return runLabConsumer(cmd, g, f, out)
		})
	addPartitions(c.Flags(), &f.Partitions, f.Partitions, "each cell's input topic")
	return wired(c)
}

// runLabConsumer validates the Config from the flags before any broker is
// looked up, then runs it.
func runLabConsumer(cmd *cobra.Command, g *globals, f labConsumerFlags, out *outFlags) error {
	cfg := f.Config
	if strings.TrimSpace(f.CrashAtFlag) != "" {
		at, err := parseInts("crash-at", f.CrashAtFlag, 1)
		if err != nil {
			return err
		}
		cfg.CrashAt = at
	}
	cfg.Client = g.client // the JVM's refusal is a flag error
	cfg, err := seeded(&cfg, &cfg.Seed)
	if err != nil {
		return err
	}
	if err := g.kparChild(&cfg.Worker); err != nil {
		return err
	}
	if f.Verbose {
		cfg.WorkerStderr = cmd.ErrOrStderr()
	}
	return runExperiment(cmd, g, experiment[consumer.Result]{out: out, kind: consumer.Kind, unit: "cells",
		intro: func(e env.Env) string {
			return fmt.Sprintf("kpar lab consumer: seed %d, %d cells, %d records each, brokers %s",
				cfg.Seed, len(cfg.Cells()), cfg.Records, strings.Join(e.Brokers, ","))
		},
		run: runOf(cfg, consumer.Run),
		doc: consumer.Doc})
}
