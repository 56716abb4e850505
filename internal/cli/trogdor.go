package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kpar/kpar/internal/broker"
	"github.com/kpar/kpar/internal/env"
	"github.com/kpar/kpar/internal/trogdor"
)

// newTrogdorCmd is `kpar trogdor`: Apache Kafka's distributed load harness
// (its coordinator and agents) and the distributed produce sweep on it.
func newTrogdorCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "trogdor",
		Short: "Load from many hosts with Apache Kafka's Trogdor: start a coordinator and agents, sweep producers across them",
		Long: `Trogdor is Apache Kafka's own distributed workload harness: an agent on each
load host, a coordinator with a REST API that hands each agent a task.
kpar runs Trogdor ` + trogdor.Version + ` from Maven Central (the newest release published there;
the local broker is Kafka ` + broker.KafkaVersion + `, which serves its 4.3 clients like any other).

  kpar trogdor up --agents 4             a coordinator and 4 agents on this host
  kpar trogdor up --nodes-file hosts     the platform file for real hosts, and
                                         what to start on each
  kpar trogdor sweep --steps 1,2,4       one produce task per agent per step
  kpar trogdor status | down`,
	}
	c.AddCommand(newTrogdorUpCmd(), newTrogdorDownCmd(), newTrogdorStatusCmd(), newTrogdorSweepCmd(g))
	return c
}

func newTrogdorUpCmd() *cobra.Command {
	o := trogdor.Options{}
	var nodesFile string
	c := &cobra.Command{
		Use:   "up",
		Short: "Start a Trogdor coordinator and agents on this host (each its own JVM), or plan them on real hosts",
		Long: `Without --nodes-file: starts the coordinator on --port and --agents agents on
the ports above it, each its own JVM and node name (agent-0, agent-1 ...),
from a platform file kpar writes under $KPAR_HOME/trogdor. Pids and process
start times are recorded; 'kpar trogdor down' stops exactly those.

With --nodes-file: a file of lines 'NAME HOST[:PORT]' ('coordinator HOST'
for the coordinator, any other name an agent; ports default to Trogdor's
8889 and 8888). kpar writes the platform file and prints the command to run
on each host; it starts nothing remote.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			if nodesFile != "" {
				if cmd.Flags().Changed("agents") || cmd.Flags().Changed("port") {
					return fmt.Errorf("--nodes-file names the agents and ports; drop --agents and --port")
				}
				_, text, err := trogdor.Plan("", nodesFile)
				if err != nil {
					return err
				}
				fmt.Fprint(out, text)
				return nil
			}
			if err := o.Validate(); err != nil {
				return err
			}
			o.Progress = func(s string) { fmt.Fprintln(cmd.ErrOrStderr(), "kpar:", s) }
			st, err := trogdor.Up(cmd.Context(), o)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "coordinator %s (pid %d)\n", st.Coordinator.URL(), st.Coordinator.Pid)
			for _, a := range st.Agents {
				fmt.Fprintf(out, "%s %s (pid %d)\n", a.Name, a.URL(), a.Pid)
			}
			return nil
		},
	}
	fl := c.Flags()
	fl.IntVar(&o.Agents, "agents", 2, "agents to start on this host")
	fl.IntVar(&o.Port, "port", trogdor.DefaultCoordinatorPort, "the coordinator's REST port; agents take the next --agents ports")
	fl.StringVar(&o.Heap, "heap", "512M", "each agent JVM's -Xmx")
	fl.DurationVar(&o.ReadyTimeout, "timeout", 60*time.Second, "how long to wait for every REST API to answer")
	fl.StringVar(&nodesFile, "nodes-file", "", "plan daemons on real hosts from this file instead of starting them here")
	return c
}

func newTrogdorDownCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "down",
		Short: "Stop exactly the Trogdor JVMs 'kpar trogdor up' started (by pid and start time) and remove their files",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			stopped, err := trogdor.Down("")
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "stopped %d Trogdor process(es) %v\n", len(stopped), stopped)
			return nil
		},
	}
}

func newTrogdorStatusCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "status",
		Short: "Show each recorded Trogdor daemon: running (local ones), answering its REST API",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, ps, err := trogdor.Status(cmd.Context(), "")
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), ps)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Trogdor %s, platform %s\n", st.TrogdorVersion, st.Platform)
			for _, p := range ps {
				run := "not ours (remote)"
				if !st.Remote {
					run = map[bool]string{true: fmt.Sprintf("running pid %d", p.Pid), false: "not running"}[p.Running]
				}
				ans := "answering"
				if !p.Answering {
					ans = "not answering: " + p.Error
				}
				fmt.Fprintf(out, "%-12s %-22s %s, %s\n", p.Name, p.URL(), run, ans)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
	return c
}

// trogdorSweepFlags: --steps and --warmup-records, parsed into the Config
// the other flags are bound to.
type trogdorSweepFlags struct {
	cfg    trogdor.Config
	steps  string
	warmup int64
	out    outFlags
}

func newTrogdorSweepCmd(g *globals) *cobra.Command {
	f := &trogdorSweepFlags{cfg: trogdor.DefaultConfig()}
	def, cf, st := trogdor.DefaultConfig(), &f.cfg, &f.cfg.Settings
	c := &cobra.Command{
		Use:   "sweep",
		Short: "Distributed producer sweep: one Trogdor ProduceBenchSpec per agent per step, merged into one result",
		Long: `Posts one produce task per agent for every step (--steps 1,2,4: the first 1,
then 2, then 4 agents of 'kpar trogdor up'), every agent with the same
settings and --records, waits for them and merges the agents' status:
aggregate records/s and MB/s (all records over the span from the first
worker's start to the last one's end), each agent's rate and latency
percentiles (Trogdor's, per agent), the records the topic gained (end
offsets), and the saturation point: the step after which one more step
adds less than 10% records/s.

--calibrate (default) also runs one kpar producer (franz-go, in this
process) with the same settings right after the 1-agent step, so Trogdor's
figures can be read as kpar's. Agents on one host share its cores: the
result says so.

Trogdor ` + trogdor.Version + ` (the newest on Maven Central) runs against any Kafka 4.x broker.
Results go to --out: trogdor.json (schema kpar.bench.trogdor v1) and trogdor.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runTrogdorSweep(cmd, g, f) },
	}
	fl := c.Flags()
	fl.StringVar(&f.steps, "steps", "1,2,4", "agents per step, ascending")
	fl.Int64Var(&cf.Records, "records", def.Records, "records each agent sends per step")
	fl.StringVar(&cf.Topic, "topic", def.Topic, "topic to write")
	addPartitions(fl, &cf.Partitions, def.Partitions, "the topic")
	fl.IntVar(&cf.Replication, "replication", def.Replication, "replication factor when the topic is created")
	fl.StringVar(&st.Acks, "acks", def.Settings.Acks, "acks: 0, 1 or all")
	fl.BoolVar(&st.Idempotence, "idempotence", def.Settings.Idempotence, "enable.idempotence (needs acks=all)")
	fl.DurationVar(&st.Linger, "linger", def.Settings.Linger, "linger.ms (whole milliseconds)")
	fl.IntVar(&st.BatchBytes, "batch-size", def.Settings.BatchBytes, "batch.size in bytes")
	fl.StringVar(&st.Compression, "compression", def.Settings.Compression, "compression.type: "+strings.Join(trogdor.Compressions, ", "))
	fl.IntVar(&st.MaxInFlight, "max-in-flight", def.Settings.MaxInFlight, "max.in.flight.requests.per.connection")
	fl.IntVar(&st.RecordBytes, "record-size", def.Settings.RecordBytes, "value bytes per record (random, incompressible; keys are null)")
	fl.IntVar(&st.Rate, "rate", 0, "target records/s per agent (0: unbounded)")
	fl.Int64Var(&f.warmup, "warmup-records", -1, "records every agent sends once before the first step, not measured (-1: a tenth of --records)")
	fl.BoolVar(&cf.Calibrate, "calibrate", def.Calibrate, "also run one kpar producer with the same settings beside the 1-agent step")
	fl.StringVar(&cf.AgentBootstrap, "agent-bootstrap", "", "bootstrap.servers the agents get (default: the brokers kpar uses)")
	fl.DurationVar(&cf.TaskTimeout, "task-timeout", def.TaskTimeout, "the longest one step may take")
	addSeed(fl, &cf.Seed)
	addOutFlags(fl, &f.out, "trogdor")
	return c
}

// config completes the Config from the flags and validates it; it touches
// nothing.
func (f *trogdorSweepFlags) config() (trogdor.Config, error) {
	c := f.cfg
	steps, err := parseInts("steps", f.steps, 1)
	if err != nil {
		return c, err
	}
	c.Steps, c.Seed, c.WarmupRecords = steps, pickSeed(c.Seed), f.warmup
	if f.warmup == -1 {
		c.WarmupRecords = max(1, c.Records/10)
	}
	return c, c.Validate()
}

func runTrogdorSweep(cmd *cobra.Command, g *globals, f *trogdorSweepFlags) error {
	cfg, err := f.config()
	if err != nil {
		return err
	}
	st, err := trogdor.LoadState(broker.Home())
	if err != nil {
		return err
	}
	cfg.Coordinator, cfg.Agents, cfg.SharedHost = st.Coordinator.URL(), st.Agents, !st.Remote
	if err := cfg.CheckAgents(); err != nil {
		return err
	}
	return runExperiment(cmd, g, experiment[trogdor.Result]{out: &f.out, data: trogdor.DataFile,
		run: func(ctx context.Context, e env.Env) (trogdor.Result, error) {
			cfg.Env = e
			return trogdor.Run(ctx, cfg)
		},
		doc: trogdor.Doc})
}
