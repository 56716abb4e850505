package cli

import (
	"cmp"
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"

	"github.com/kpar/kpar/internal/bench/consume"
	"github.com/kpar/kpar/internal/trogdor"
)

// benchConsumeFlags are the flags: the Config's own, and those that are
// not a Config field as they stand.
type benchConsumeFlags struct {
	consume.Config
	OrderFlag, CPUProfile string
}

func newBenchConsumeCmd(g *globals) *cobra.Command {
	def := consume.DefaultConfig()
	c, f := configCommand("consume", "Measure the parallel consumer: I/O-bound rate, no-op rate vs plain franz-go, peak RSS",
		help("bench-consume"), "consume", benchConsumeFlags{Config: def, OrderFlag: def.Order.String()}, `
topic-prefix                   TopicPrefix     prefix of the bench topics
keys                           Keys            distinct record keys
value-size                     ValueSize       record value bytes
records                        Records         io: records to consume
sleep                          Sleep           io: handler latency
concurrency                    Concurrency     io: max concurrency
order                          OrderFlag       io: ordering (key, partition, none)
io-max-buffered                IOMaxBuffered   io: MaxBuffered bound (large: polls fill it partition by partition)
io-max-buffered-per-partition  IOPerPart       io: MaxBufferedPerPartition bound
transactional                  Transactional   io: exactly-once mode (parallel.NewTransform): one output per record to <topic-prefix>-out, written in the transactions that commit the records
commit-interval                CommitInterval  io: the library's CommitInterval (0: back to back, its default)
cpu-records                    CPURecords      cpu: records consumed by each contender; 0 sizes it from a calibration run of the fastest contender, for a window of 2 x --min-window (the faster of two calibration reads)
cpu-records-max                CPURecordsMax   cpu: the most records --cpu-records 0 may choose (the broker stores them); a faster machine is refused
cpu-concurrency                CPUConcurrency  cpu: max concurrency of the no-op run
rss-records                    RSSRecords      rss: backlog consumed by the child
max-buffered                   MaxBuffered     cpu/rss: MaxBuffered bound
max-buffered-per-partition     PerPart         cpu/rss: MaxBufferedPerPartition bound
only                           Only            comma-separated measurements to run
repeat                         Repeat          io and cpu: repeats (cpu: the three contenders interleaved in each)
min-window                     MinWindow       io and cpu: the shortest measured window (after the warm-up) accepted; a shorter one fails the run
stall-timeout                  StallTimeout    end the run, naming the brokers, once they have not answered for this long, or once a measurement (io, cpu, rss, calibration) has handled no record for this long
fetch-max-bytes                FetchMaxBytes   cpu/rss: kgo.FetchMaxBytes for the parallel consumer (0: the library's default, sized from the measured bytes per record, 1-50 MiB)
cpuprofile                     CPUProfile      write a CPU profile of the measurements (this process) to this file`,
		func(cmd *cobra.Command, f benchConsumeFlags, out *outFlags) error {
			return runBenchConsume(cmd, g, f, out)
		})
	addPartitions(c.Flags(), &f.Partitions, def.Partitions, "every bench topic")
	addTrogdorRoute(c, g, trogdor.Consume)
	return wired(c)
}

// runBenchConsume validates the Config from the flags before any broker is
// looked up, then runs it.
func runBenchConsume(cmd *cobra.Command, g *globals, f benchConsumeFlags, out *outFlags) error {
	cfg := f.Config
	if err := cfg.Order.UnmarshalText([]byte(f.OrderFlag)); err != nil {
		return fmt.Errorf("--order: %w", err)
	}
	if err := cmp.Or(g.kparChild(&cfg.RSSChild), cfg.Validate()); err != nil {
		return err
	}
	if f.CPUProfile != "" {
		pf, err := os.Create(f.CPUProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	return runExperiment(cmd, g, experiment[consume.Result]{out: out, kind: consume.Kind, stall: cfg.StallTimeout,
		run: runOf(cfg, consume.Run),
		doc: consume.Doc})
}
