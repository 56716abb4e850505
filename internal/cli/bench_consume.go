package cli

import (
	"fmt"
	"os"
	"runtime/pprof"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kpar/kpar/internal/bench/consume"
	"github.com/kpar/kpar/internal/trogdor"
)

// benchConsumeFlags are the flags that are not a Config field as they
// stand: the others are bound to the Config itself.
type benchConsumeFlags struct {
	cfg        consume.Config
	order      string
	only       string
	cpuProfile string
	out        outFlags
}

func newBenchConsumeCmd(g *globals) *cobra.Command {
	f := &benchConsumeFlags{cfg: consume.DefaultConfig()}
	def, cf := consume.DefaultConfig(), &f.cfg
	c := &cobra.Command{
		Use:   "consume",
		Short: "Measure the parallel consumer: I/O-bound rate, no-op rate vs plain franz-go, peak RSS",
		Long: `Runs against a real broker (never kfake). Three measurements:
  io   records with a sleeping handler under key order, against the ideal
       min(concurrency, keys)/sleep (target: 90% of it);
  cpu  a no-op handler against two plain franz-go poll loops over the same
       topic (kpar's fetch size and kgo's default), in the same run (target:
       70% of the faster plain loop's rate);
  rss  peak RSS (VmHWM) of a child process consuming a large backlog under the
       configured buffer bounds.
Every rate is measured the same way for every contender: distinct records
counted in the process that handles them, from the first observation at 10%
of the records (warm-up) to the n-th. A window shorter than --min-window is
refused with the records it would need, and nothing is written. io runs
--repeat times; the cpu contenders run --repeat times interleaved (kpar, plain
with kpar's fetch size, plain with kgo's default, then again), ratios taken
within each repeat. The median and range are shown; a target is met only when
every repeat is past it, missed when none is, otherwise mixed (k of N).
Topics are created once (named after their sizes) and reused.

Results go to --out: consume.json (versioned schema), consume.md and its
charts. Nothing
is written unless every measurement finished.

--trogdor runs the distributed sweep of 'kpar trogdor sweep --workload
consume' instead, on the Trogdor agents 'kpar trogdor up' started, with that
command's flags and meanings.`,
		Args: cobra.NoArgs,
	}
	fl := c.Flags()
	fl.StringVar(&cf.TopicPrefix, "topic-prefix", def.TopicPrefix, "prefix of the bench topics")
	addPartitions(fl, &cf.Partitions, def.Partitions, "every bench topic")
	fl.IntVar(&cf.Keys, "keys", def.Keys, "distinct record keys")
	fl.IntVar(&cf.ValueSize, "value-size", def.ValueSize, "record value bytes")
	fl.Int64Var(&cf.Records, "records", def.Records, "io: records to consume")
	fl.DurationVar(&cf.Sleep, "sleep", def.Sleep, "io: handler latency")
	fl.IntVar(&cf.Concurrency, "concurrency", def.Concurrency, "io: max concurrency")
	fl.StringVar(&f.order, "order", def.Order.String(), "io: ordering (key, partition, none)")
	fl.IntVar(&cf.IOMaxBuffered, "io-max-buffered", def.IOMaxBuffered, "io: MaxBuffered bound (large: polls fill it partition by partition)")
	fl.IntVar(&cf.IOPerPart, "io-max-buffered-per-partition", def.IOPerPart, "io: MaxBufferedPerPartition bound")
	fl.BoolVar(&cf.Transactional, "transactional", false, "io: exactly-once mode (parallel.NewTransform): one output per record to <topic-prefix>-out, written in the transactions that commit the records")
	fl.DurationVar(&cf.CommitInterval, "commit-interval", 0, "io: the library's CommitInterval (0: back to back, its default)")
	fl.Int64Var(&cf.CPURecords, "cpu-records", def.CPURecords, "cpu: records consumed by each contender; 0 sizes it from a calibration run of the fastest contender, for a window of 2 x --min-window (the faster of two calibration reads)")
	fl.Int64Var(&cf.CPURecordsMax, "cpu-records-max", def.CPURecordsMax, "cpu: the most records --cpu-records 0 may choose (the broker stores them); a faster machine is refused")
	fl.IntVar(&cf.CPUConcurrency, "cpu-concurrency", def.CPUConcurrency, "cpu: max concurrency of the no-op run")
	fl.Int64Var(&cf.RSSRecords, "rss-records", def.RSSRecords, "rss: backlog consumed by the child")
	fl.IntVar(&cf.MaxBuffered, "max-buffered", def.MaxBuffered, "cpu/rss: MaxBuffered bound")
	fl.IntVar(&cf.PerPart, "max-buffered-per-partition", def.PerPart, "cpu/rss: MaxBufferedPerPartition bound")
	fl.StringVar(&f.only, "only", strings.Join(def.Only, ","), "comma-separated measurements to run")
	fl.IntVar(&cf.Repeat, "repeat", def.Repeat, "io and cpu: repeats (cpu: the three contenders interleaved in each)")
	fl.DurationVar(&cf.MinWindow, "min-window", def.MinWindow, "io and cpu: the shortest measured window (after the warm-up) accepted; a shorter one fails the run")
	fl.DurationVar(&cf.StallTimeout, "stall-timeout", def.StallTimeout, "end the run, naming the brokers, once they have not answered for this long, or once a measurement (io, cpu, rss, calibration) has handled no record for this long")
	fl.Int32Var(&cf.FetchMaxBytes, "fetch-max-bytes", 0, "cpu/rss: kgo.FetchMaxBytes for the parallel consumer (0: the library's default, sized from the measured bytes per record, 1-50 MiB)")
	addOutFlags(fl, &f.out, "consume")
	fl.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the measurements (this process) to this file")
	tr := addTrogdorRoute(c, trogdor.Consume)
	c.RunE = func(cmd *cobra.Command, _ []string) error {
		if routed, err := tr.route(cmd, g); routed {
			return err
		}
		return runBenchConsume(cmd, g, f)
	}
	return wired(c)
}

// config completes the Config from the flags and validates it; it touches
// no broker.
func (f *benchConsumeFlags) config(g *globals) (consume.Config, error) {
	c := f.cfg
	if err := c.Order.UnmarshalText([]byte(f.order)); err != nil {
		return c, fmt.Errorf("--order: %w", err)
	}
	c.Only = splitList(f.only)
	if err := g.kparChild(&c.RSSChild); err != nil {
		return c, err
	}
	return c, c.Validate()
}

func runBenchConsume(cmd *cobra.Command, g *globals, f *benchConsumeFlags) error {
	cfg, err := f.config(g)
	if err != nil {
		return err
	}
	if f.cpuProfile != "" {
		pf, err := os.Create(f.cpuProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	return runExperiment(cmd, g, experiment[consume.Result]{out: &f.out, data: consume.DataFile, stall: cfg.StallTimeout,
		run: runOf(cfg, consume.Run),
		doc: consume.Doc})
}
