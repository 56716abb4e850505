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
	out         outFlags
}

func newLabConsumerCmd(g *globals) *cobra.Command {
	def := consumer.DefaultConfig()
	f := &labConsumerFlags{Config: def}
	c := command("consumer", "Count what each consumer strategy loses, duplicates and reorders under faults",
		`Runs every strategy under every scenario against the real broker. Each cell
gets fresh topics and a seeded workload (global sequence number, key,
per-key sequence number); its consumers are separate kpar processes that
write every processing to a processed-log topic before it counts as done.
The checker then reads the input and the processed-log and counts lost,
duplicated and reordered records.

Scenarios are faults joined with '+': ooo (random per-record latency),
crash (SIGKILL the consumer K times at seeded processed-log counts, restart
it each time), kill (the same schedule, but SIGKILL the instant the count is
reached, with handlers, processed-log writes and commits in flight),
rebalance (members join and leave), failures (transient and permanent
handler failures), slow (the first member's handlers stall for longer than
the group's rebalance timeout, kgo's max.poll.interval.ms, while a second
member joins).

Share groups (KIP-932) are two strategies named with --strategies: share (a
bare franz-go share consumer: each record of a poll acked when its handler
returns, accept, release, or reject on a permanent failure, with no
dead-letter topic) and kpar-share (kpar's library in share mode, with the
dead-letter topic); kpar-share-brokerdlq is kpar-share with the broker's own
dead-letter queue (Kafka 4.4, KIP-1191) in place of kpar's dead-letter topic,
its dead letters counted from the origin headers the broker writes. Each cell sets its group to read from the start with a
15 s acquisition lock (the broker's minimum) and records the lock, delivery
limit and session timeout the broker reports. Their cells add what the
broker archived (counted apart from lost), the records redelivered, and
how long after each kill they came back (a dead member keeps its
partitions until its 45 s session times out, so each crash or kill costs
about a minute). Not in the default strategies.

Every random choice derives from --seed, which is printed with a command
that re-runs the cell. A crash freezes the consumer after a seeded number of
handler invocations and kills it once its writes landed and its commits
stopped moving, so what was committed and processed at each kill is a
function of the seed. A kill waits for nothing, so its counts move between
re-runs; whether a strategy loses anything does not. The table says per cell
which counts are exact on a re-run (lost and duplicated under crash, not
under kill, rebalance or slow; reordered for the key- and partition-ordered
library) and which move with thread, network and group-protocol timing.
Records/s is reported per scenario against the library's key mode in the
same run: a measured number, noisy on a shared machine.

Results: <out>/lab-consumer.json (schema `+fmt.Sprintf("%q version %d", consumer.Schema, consumer.SchemaVersion)+`), lab-consumer.md,
and charts of lost, duplicated, reordered and records/s as SVG and PNG,
written only when every cell ran. --json prints that JSON instead of the
text lines.`, func(cmd *cobra.Command) error { return runLabConsumer(cmd, g, f) })
	fl := c.Flags()
	bindFlags(fl, f, `
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
stall-timeout  StallTimeout    give up on a cell whose consumers make no progress for this long
keep-topics    Keep            keep each cell's topics and group for inspection
verbose        Verbose         pass the worker processes' output through to stderr`)
	addSeed(fl, &f.Seed)
	addPartitions(fl, &f.Partitions, def.Partitions, "each cell's input topic")
	addOutFlags(fl, &f.out, "lab")
	return wired(c)
}

// runLabConsumer validates the Config from the flags before any broker is
// looked up, then runs it.
func runLabConsumer(cmd *cobra.Command, g *globals, f *labConsumerFlags) error {
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
	return runExperiment(cmd, g, experiment[consumer.Result]{out: &f.out, data: "lab-consumer.json", unit: "cells",
		intro: func(e env.Env) string {
			return fmt.Sprintf("kpar lab consumer: seed %d, %d cells, %d records each, brokers %s",
				cfg.Seed, len(cfg.Cells()), cfg.Records, strings.Join(e.Brokers, ","))
		},
		run: runOf(cfg, consumer.Run),
		doc: consumer.Doc})
}
