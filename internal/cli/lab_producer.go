package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kpar/kpar/internal/env"
	"github.com/kpar/kpar/internal/lab/producer"
)

type labProducerFlags struct {
	producer.Config
	out outFlags
}

func newLabProducerCmd(g *globals) *cobra.Command {
	def := producer.DefaultConfig()
	f := &labProducerFlags{Config: def}
	c := command("producer", "Count what acks, idempotence, in-flight requests and unclean election lose when brokers fail",
		`Runs producer settings under broker faults on a 3-node cluster (replication
factor 3, min.insync.replicas 2). Without --brokers (and $KPAR_BROKERS) the
lab starts its own cluster under $KPAR_HOME/lab-producer on --port and
stops it at the end; with them, the brokers must be 3 nodes that
'kpar broker up --nodes 3' started under $KPAR_HOME, since the faults signal
their recorded pids. A 1-node cluster is refused; so is a fault the lab
cannot apply (a cluster without pids of ours): nothing is skipped silently.

Each cell is one setting under one fault, on a fresh topic whose every
partition is led by one seeded node. Seeded producers (franz-go, in this
process) write records carrying a producer id, a key and a per-key
sequence; mid-stream:
  leader-kill  SIGKILL the leading node, wait for new leaders, restart it
  freeze       SIGSTOP the leading node for --freeze (longer than the 9 s
               broker session timeout), then SIGCONT
  rolling      restart all three nodes in turn (SIGTERM, start, back in
               every ISR), in a seeded order
  none         no fault: the control, and all a foreign cluster can run
Every record's answer is kept (acked, failed and why, never answered).
After the cluster healed, once the high watermarks held still for a
second, every partition is read to them with franz-go and with kcat; a kpar
parallel consumer reads the topic during the fault. An acknowledged record
counts as lost only when none of the three saw it; records one reader saw
and another did not are counted apart (readers disagreed, per pair), and
the two reads are repeated once when the readers disagree. The cell also
counts duplicates, reorders within a producer's key, failed records written
anyway, and the producer's errors. Under acks=0 nothing is acknowledged:
records are sent, and the ones no reader saw are unseen, never lost.

Settings: acks0-if1, acks0-if5, acks1-if1, acks1-if5, all-if1, all-if5
(acks, idempotence off, max in-flight 1 or 5) and all-idem (acks=all with
idempotence; franz-go keeps 5 in flight then); a +unclean suffix turns on
the topic's unclean.leader.election.enable. --full runs all 14 under
leader-kill, freeze and rolling (42 cells, about half an hour).

--seed fixes every record, the victim node, the partition layout, the
record at which the fault starts and the rolling order; it is printed with
a command that re-runs each cell. The counts move with timing (what a
follower had fetched when its leader died); the table stars them.

Results: <out>/lab-producer.json (schema `+fmt.Sprintf("%q version %d", producer.Schema, producer.SchemaVersion)+`), lab-producer.md
with the lesson per setting and the targets computed from the counts, and
charts of lost
and duplicated records as SVG and PNG, written only when every cell ran.
--json prints that JSON instead of the text lines.`, func(cmd *cobra.Command) error { return runLabProducer(cmd, g, f) })
	fl := c.Flags()
	bindFlags(fl, f, `
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
keep-topics       KeepTopics       keep each cell's topic and group for inspection`)
	addSeed(fl, &f.Seed)
	addOutFlags(fl, &f.out, "lab-producer")
	return wired(c)
}

// runLabProducer validates the Config from the flags before any broker is
// looked up, then runs it.
func runLabProducer(cmd *cobra.Command, g *globals, f *labProducerFlags) error {
	cfg := f.Config
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
	return runExperiment(cmd, g, experiment[producer.Result]{out: &f.out, data: "lab-producer.json", unit: "cells",
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
