package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kpar/kpar/internal/env"
	"github.com/kpar/kpar/internal/lab/producer"
)

func newLabProducerCmd(g *globals) *cobra.Command {
	c, _ := configCommand("producer", "Count what acks, idempotence, in-flight requests and unclean election lose when brokers fail",
		help("lab-producer"), "lab-producer", producer.DefaultConfig(), `
settings          Settings         comma-separated settings: `+strings.Join(producer.SettingNames(), ", ")+`
faults            Faults           comma-separated faults: `+strings.Join(producer.FaultNames, ", ")+`
cell              Cell             run one cell, setting/fault (e.g. acks1-if5/leader-kill); overrides --settings, --faults and --full
full              Full             every setting under leader-kill, freeze and rolling (42 cells)
producers         Producers        producer clients, each with its own producer id
keys              Keys             keys per producer
partitions        Partitions       partitions of each cell's fresh topic, all led by one seeded node
rate              Rate             records/s over all producers
value-bytes       ValueBytes       bytes per record value
warmup            Warmup           producing before the fault (plus a seeded fraction of a second)
tail              Tail             producing after the cluster healed
freeze            Freeze           how long the freeze fault holds its node stopped (more than the 9 s broker session timeout)
delivery-timeout  DeliveryTimeout  the producer's record delivery timeout (delivery.timeout.ms)
flush             Flush            wait this long for the last answers; records still unanswered count as unanswered
consumer-timeout  ConsumerTimeout  give the parallel consumer this long without progress to process what the topic holds
port              Port             first client port of the lab's own cluster (controllers on +100)
heap              Heap             JVM heap per node of the lab's own cluster
keep-cluster      KeepCluster      leave the lab's own cluster running (reused by the next run)
keep-topics       KeepTopics       keep each cell's topic and group for inspection
seed              Seed`, func(cmd *cobra.Command, cfg producer.Config, out *outFlags) error {
			return runLabProducer(cmd, g, cfg, out)
		})
	return wired(c, "on a given cluster")
}

// runLabProducer validates the Config from the flags before any broker is
// looked up, then runs it.
func runLabProducer(cmd *cobra.Command, g *globals, cfg producer.Config, out *outFlags) error {
	cfg, err := seeded(&cfg, &cfg.Seed)
	if err != nil {
		return err
	}
	var given bool
	var brokers func(context.Context) ([]string, error)
	cfg.Home, given, brokers = g.labCluster("lab-producer")
	if g.secured() && !given {
		return producer.ErrOwnPlaintext
	}
	return runExperiment(cmd, g, experiment[producer.Result]{out: out, kind: producer.Kind, unit: "cells",
		brokers: brokers, seed: cfg.Seed,
		intro: func(e env.Env) string {
			where := "its own 3-node cluster under " + cfg.Home
			if len(e.Brokers) > 0 {
				where = "brokers " + strings.Join(e.Brokers, ",")
			}
			return fmt.Sprintf("kpar lab producer: seed %d, %d cells, %d records/s, on %s", cfg.Seed, len(cfg.Cells()), cfg.Rate, where)
		},
		run: runOf(cfg, producer.Run),
		doc: producer.Doc})
}
