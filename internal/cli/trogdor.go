package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kpar/kpar/internal/broker"
	"github.com/kpar/kpar/internal/flagcheck"
	"github.com/kpar/kpar/internal/trogdor"
)

// newTrogdorCmd is `kpar trogdor`: Apache Kafka's distributed load harness
// (its coordinator and agents) and the distributed produce sweep on it.
func newTrogdorCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "trogdor",
		Short: "Load from many hosts with Apache Kafka's Trogdor: start a coordinator and agents, sweep producers across them",
		Long:  help("trogdor"),
	}
	c.AddCommand(newTrogdorUpCmd(), newTrogdorDownCmd(), newTrogdorStatusCmd(), newTrogdorSweepCmd(g))
	return c
}

func newTrogdorUpCmd() *cobra.Command {
	o := trogdor.Options{}
	var nodesFile string
	c := command("up", "Start a Trogdor coordinator and agents on this host (each its own JVM), or plan them on real hosts",
		help("trogdor-up"), func(cmd *cobra.Command) error {
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
			o.Progress = notes(cmd)
			st, err := trogdor.Up(cmd.Context(), o)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "coordinator %s (pid %d)\n", st.Coordinator.URL(), st.Coordinator.Pid)
			for _, a := range st.Agents {
				fmt.Fprintf(out, "%s %s (pid %d)\n", a.Name, a.URL(), a.Pid)
			}
			return nil
		})
	fl := c.Flags()
	fl.IntVar(&o.Agents, "agents", 2, "agents to start on this host")
	fl.IntVar(&o.Port, "port", trogdor.DefaultCoordinatorPort, "the coordinator's REST port; agents take the next --agents ports")
	fl.StringVar(&o.Heap, "heap", "512M", "each agent JVM's -Xmx")
	fl.DurationVar(&o.ReadyTimeout, "timeout", 60*time.Second, "how long to wait for every REST API to answer")
	fl.StringVar(&nodesFile, "nodes-file", "", "plan daemons on real hosts from this file instead of starting them here")
	return c
}

func newTrogdorDownCmd() *cobra.Command {
	return command("down", "Stop exactly the Trogdor JVMs 'kpar trogdor up' started (by pid and start time) and remove their files", "", func(cmd *cobra.Command) error {
		stopped, err := trogdor.Down("")
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "stopped %d Trogdor process(es) %v\n", len(stopped), stopped)
		return nil
	})
}

func newTrogdorStatusCmd() *cobra.Command {
	var asJSON bool
	c := command("status", "Show each recorded Trogdor daemon: running (local ones), answering its REST API", "", func(cmd *cobra.Command) error {
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
	})
	c.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
	return c
}

// trogdorSweepFlags: the Config's flags, and --steps, --workload,
// --idempotence and --warmup-records, parsed into it.
type trogdorSweepFlags struct {
	trogdor.Config
	StepsFlag, WorkloadFlag string
	idem                    onOff
	WarmupFlag              int64
	out                     outFlags
}

func newTrogdorSweepFlags(w trogdor.Workload) *trogdorSweepFlags {
	def := trogdor.DefaultConfig()
	f := &trogdorSweepFlags{Config: def, WorkloadFlag: string(w), StepsFlag: flagcheck.Ints(def.Steps), WarmupFlag: -1}
	f.idem = onOff(f.Settings.Idempotence)
	return f
}

func newTrogdorSweepCmd(g *globals) *cobra.Command {
	f := newTrogdorSweepFlags(trogdor.Produce)
	c := command("sweep", "Distributed sweep: one Trogdor produce, consume or round-trip task per agent per step, merged into one result",
		help("trogdor-sweep"), func(cmd *cobra.Command) error { return runTrogdorSweep(cmd, g, f) })
	f.register(c.Flags())
	return c
}

// register defines the sweep's flags on fl.
func (f *trogdorSweepFlags) register(fl *pflag.FlagSet) {
	var ws []string
	for _, w := range trogdor.Workloads {
		ws = append(ws, string(w))
	}
	bindFlags(fl, f, `
workload         WorkloadFlag          what every agent runs: `+strings.Join(ws, ", ")+`
steps            StepsFlag             agents per step, ascending
records          Records               records each agent sends per step (consume: each of the largest step's agents fills the topic with this many)
topic            Topic                 topic to write (roundtrip: the prefix of each agent's own topic)
replication      Replication           replication factor when the topic is created
acks             Settings.Acks         acks: 0, 1 or all
linger           Settings.Linger       linger.ms (whole milliseconds)
batch-size       Settings.BatchBytes   batch.size in bytes
compression      Settings.Compression  compression.type: `+strings.Join(trogdor.Compressions, ", ")+`
max-in-flight    Settings.MaxInFlight  max.in.flight.requests.per.connection
record-size      Settings.RecordBytes  value bytes per record (random, incompressible; keys are null)
rate             Settings.Rate         target records/s per agent (0: unbounded)
warmup-records   WarmupFlag            records every agent sends once before the first step, not measured (-1: a tenth of --records)
calibrate        Calibrate             after each N-agent step also run N kpar clients in this process, same settings (produce, consume)
agent-bootstrap  AgentBootstrap        bootstrap.servers the agents get (default: the brokers kpar uses)
task-timeout     TaskTimeout           the longest one step may take
seed  Seed`)
	addPartitions(fl, &f.Partitions, f.Partitions, "the topic")
	fl.VarPF(&f.idem, "idempotence", "", "enable.idempotence: true/on or false/off (on needs acks=all)").NoOptDefVal = "true"
	addOutFlags(fl, &f.out, "trogdor")
}

// onOff is a boolean flag that also takes on and off, as bench produce's
// --idempotence does.
type onOff bool

func (o *onOff) Set(s string) error {
	switch strings.ToLower(s) {
	case "true", "on", "1":
		*o = true
	case "false", "off", "0":
		*o = false
	default:
		return fmt.Errorf("want true/on or false/off")
	}
	return nil
}

func (o *onOff) String() string { return strconv.FormatBool(bool(*o)) }
func (o *onOff) Type() string   { return "bool" }

// config completes the Config from the flags and validates it; it touches
// nothing.
func (f *trogdorSweepFlags) config() (trogdor.Config, error) {
	c := f.Config
	steps, err := parseInts("steps", f.StepsFlag, 1)
	if err != nil {
		return c, err
	}
	c.Workload, c.Settings.Idempotence = trogdor.Workload(f.WorkloadFlag), bool(f.idem)
	c.Steps, c.Seed, c.WarmupRecords = steps, pickSeed(c.Seed), f.WarmupFlag
	if f.WarmupFlag == -1 {
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
	return runExperiment(cmd, g, experiment[trogdor.Result]{out: &f.out, kind: trogdor.Kind,
		run: runOf(cfg, trogdor.Run),
		doc: trogdor.Doc})
}

// trogdorRoute is a bench command's --trogdor: the distributed sweep of
// 'kpar trogdor sweep', with the sweep's flags and their meanings. The
// sweep's flags the bench command lacks are added to it (hidden; they are
// the sweep's own); the ones it has (--records, --acks, --out ...) keep the
// bench command's parsing without --trogdor, and with it their text goes
// through the sweep's own flag set, so a value the sweep would refuse is
// refused the same way.
type trogdorRoute struct {
	on    bool
	sweep *trogdorSweepFlags
	set   *pflag.FlagSet
	added map[string]bool // the sweep's flags added to the bench command
}

// addTrogdorRoute gives bench command c its --trogdor, running workload w
// unless --workload says otherwise; c's own run (its RunE, set before) runs
// when route did not handle the command.
func addTrogdorRoute(c *cobra.Command, g *globals, w trogdor.Workload) {
	r := &trogdorRoute{sweep: newTrogdorSweepFlags(w), set: pflag.NewFlagSet("trogdor sweep", pflag.ContinueOnError), added: map[string]bool{}}
	r.sweep.register(r.set)
	fl := c.Flags()
	fl.BoolVar(&r.on, "trogdor", false, "run the distributed sweep on Trogdor agents instead ('kpar trogdor up' first): the flags of 'kpar trogdor sweep' apply, meaning the same (--steps, --workload (default "+string(w)+"), --rate ...; see 'kpar trogdor sweep --help')")
	r.set.VisitAll(func(f *pflag.Flag) {
		if fl.Lookup(f.Name) != nil {
			return
		}
		fl.AddFlag(f)
		_ = fl.MarkHidden(f.Name)
		r.added[f.Name] = true
	})
	run := c.RunE
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if routed, err := r.route(cmd, g); routed {
			return err
		}
		return run(cmd, args)
	}
}

// route runs the sweep when --trogdor is given (handled true), refusing
// the bench command's flags the sweep has no use for; without --trogdor it
// refuses the sweep's own flags. It touches no broker before the flags are
// checked.
func (r *trogdorRoute) route(cmd *cobra.Command, g *globals) (handled bool, err error) {
	inherited := cmd.InheritedFlags()
	var bad error
	cmd.Flags().Visit(func(f *pflag.Flag) {
		switch {
		case bad != nil || f.Name == "trogdor" || inherited.Lookup(f.Name) != nil:
		case !r.on && r.added[f.Name]:
			bad = fmt.Errorf("--%s is a flag of the distributed sweep: add --trogdor (or run 'kpar trogdor sweep')", f.Name)
		case r.on && r.added[f.Name]:
		case r.on && r.set.Lookup(f.Name) == nil:
			bad = fmt.Errorf("--%s: not a flag of the distributed sweep (--trogdor); drop it (see 'kpar trogdor sweep --help')", f.Name)
		case r.on:
			if err := r.set.Set(f.Name, f.Value.String()); err != nil {
				bad = fmt.Errorf("--%s %q with --trogdor: %v", f.Name, f.Value.String(), err)
			}
		}
	})
	switch {
	case bad != nil:
		return true, bad
	case !r.on:
		return false, nil
	case g.secured():
		return true, errors.New("--trogdor: the Trogdor agents get no TLS/SASL settings from kpar; drop --tls*, --sasl-* and --client-config")
	}
	return true, runTrogdorSweep(cmd, g, r.sweep)
}
