package cli

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kpar/kpar/internal/bench/consume"
	"github.com/kpar/kpar/internal/env"
	"github.com/kpar/kpar/internal/proc"
)

type benchConsumeFlags struct {
	prefix        string
	partitions    int
	keys          int
	valueSize     int
	records       int64
	sleep         time.Duration
	concurrency   int
	order         string
	cpuRecords    int64
	cpuRecordsMax int64
	cpuConc       int
	rssRecords    int64
	maxBuffered   int
	perPart       int
	only          string
	ioBuffered    int
	ioPerPart     int
	cpuProfile    string
	fetchMax      int32
	txn           bool
	commitEvery   time.Duration
	repeat        int
	minWindow     time.Duration
	out           outFlags
}

func newBenchConsumeCmd(g *globals) *cobra.Command {
	f := &benchConsumeFlags{}
	def := consume.DefaultConfig()
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
is written unless every measurement finished.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runBenchConsume(cmd, g, f) },
	}
	fl := c.Flags()
	fl.StringVar(&f.prefix, "topic-prefix", def.TopicPrefix, "prefix of the bench topics")
	addPartitions(fl, &f.partitions, def.Partitions, "every bench topic")
	fl.IntVar(&f.keys, "keys", def.Keys, "distinct record keys")
	fl.IntVar(&f.valueSize, "value-size", def.ValueSize, "record value bytes")
	fl.Int64Var(&f.records, "records", def.Records, "io: records to consume")
	fl.DurationVar(&f.sleep, "sleep", def.Sleep, "io: handler latency")
	fl.IntVar(&f.concurrency, "concurrency", def.Concurrency, "io: max concurrency")
	fl.StringVar(&f.order, "order", def.Order.String(), "io: ordering (key, partition, none)")
	fl.IntVar(&f.ioBuffered, "io-max-buffered", def.IOMaxBuffered, "io: MaxBuffered bound (large: polls fill it partition by partition)")
	fl.IntVar(&f.ioPerPart, "io-max-buffered-per-partition", def.IOPerPart, "io: MaxBufferedPerPartition bound")
	fl.BoolVar(&f.txn, "transactional", false, "io: exactly-once mode (parallel.NewTransform): one output per record to <topic-prefix>-out, written in the transactions that commit the records")
	fl.DurationVar(&f.commitEvery, "commit-interval", 0, "io: the library's CommitInterval (0: back to back, its default)")
	fl.Int64Var(&f.cpuRecords, "cpu-records", def.CPURecords, "cpu: records consumed by each contender; 0 sizes it from a calibration run of the fastest contender, for a window of 2 x --min-window (the faster of two calibration reads)")
	fl.Int64Var(&f.cpuRecordsMax, "cpu-records-max", def.CPURecordsMax, "cpu: the most records --cpu-records 0 may choose (the broker stores them); a faster machine is refused")
	fl.IntVar(&f.cpuConc, "cpu-concurrency", def.CPUConcurrency, "cpu: max concurrency of the no-op run")
	fl.Int64Var(&f.rssRecords, "rss-records", def.RSSRecords, "rss: backlog consumed by the child")
	fl.IntVar(&f.maxBuffered, "max-buffered", def.MaxBuffered, "cpu/rss: MaxBuffered bound")
	fl.IntVar(&f.perPart, "max-buffered-per-partition", def.PerPart, "cpu/rss: MaxBufferedPerPartition bound")
	fl.StringVar(&f.only, "only", strings.Join(def.Only, ","), "comma-separated measurements to run")
	fl.IntVar(&f.repeat, "repeat", def.Repeat, "io and cpu: repeats (cpu: the three contenders interleaved in each)")
	fl.DurationVar(&f.minWindow, "min-window", def.MinWindow, "io and cpu: the shortest measured window (after the warm-up) accepted; a shorter one fails the run")
	fl.Int32Var(&f.fetchMax, "fetch-max-bytes", 0, "cpu/rss: kgo.FetchMaxBytes for the parallel consumer (0: the library's default, MaxBuffered x 100 B, 1-50 MiB)")
	addOutFlags(fl, &f.out, "consume")
	fl.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the measurements (this process) to this file")
	return wired(c)
}

// config parses the flags into a validated Config; it touches no broker.
func (f *benchConsumeFlags) config(g *globals) (consume.Config, error) {
	c := consume.DefaultConfig()
	if err := c.Order.UnmarshalText([]byte(f.order)); err != nil {
		return c, fmt.Errorf("--order: %w", err)
	}
	c.TopicPrefix, c.Partitions, c.Keys, c.ValueSize = f.prefix, f.partitions, f.keys, f.valueSize
	c.Records, c.Sleep, c.Concurrency = f.records, f.sleep, f.concurrency
	c.IOMaxBuffered, c.IOPerPart = f.ioBuffered, f.ioPerPart
	c.Transactional, c.CommitInterval = f.txn, f.commitEvery
	c.CPURecords, c.CPURecordsMax, c.CPUConcurrency, c.RSSRecords = f.cpuRecords, f.cpuRecordsMax, f.cpuConc, f.rssRecords
	c.MaxBuffered, c.PerPart, c.FetchMaxBytes = f.maxBuffered, f.perPart, f.fetchMax
	c.Only = splitList(f.only)
	c.Repeat, c.MinWindow = f.repeat, f.minWindow
	child, err := proc.Kpar(g.sec)
	if err != nil {
		return c, err
	}
	c.RSSChild = child.Start
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
	return runExperiment(cmd, g, experiment[consume.Result]{out: &f.out, data: consume.DataFile,
		run: func(ctx context.Context, e env.Env) (consume.Result, error) {
			cfg.Env = e
			return consume.Run(ctx, cfg)
		},
		doc: consume.Doc})
}
