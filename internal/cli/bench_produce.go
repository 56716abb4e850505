package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kpar/kpar/internal/bench/produce"
	"github.com/kpar/kpar/internal/flagcheck"
	"github.com/kpar/kpar/internal/trogdor"
)

// produceFlags are `kpar bench produce`'s flags: the Config's scalars, and
// the sweepable ones as comma lists, parsed by config().
type produceFlags struct {
	produce.Config
	TopicFlag, TopicsFlag, ProducersFlag, LingerFlag, BatchFlag string
	PartitionsFlag, RecordSizeFlag, PinFlag                     string
	stall                                                       time.Duration
	out                                                         outFlags
}

func newBenchProduceCmd(g *globals) *cobra.Command {
	def := produce.DefaultConfig()
	f := produceFlags{Config: def, TopicFlag: def.Topics[0], PartitionsFlag: flagcheck.Ints(def.Partitions), RecordSizeFlag: flagcheck.Ints(def.RecordSizes),
		ProducersFlag: flagcheck.Ints(def.Producers), LingerFlag: def.Lingers[0].String(), BatchFlag: strconv.Itoa(int(def.BatchBytes[0]))}
	c := &cobra.Command{
		Use:   "produce",
		Short: "Producer scaling bench: 1 to N producers from a CSV, with the settings users argue about",
		Long:  help("bench-produce"),
		Example: `  kpar gen csv --rows 1000000
  kpar bench produce --input events.csv --producers 1,2,4,8 --vs-java
  kpar bench produce --input events.csv --acks 1,all --compression none,zstd --records 200000
  kpar bench produce --input events.csv --processes --producers 1,2,4
  kpar bench produce --input events.csv --no-flush --producers 1
  kpar bench produce --input events.csv --records 200000 --partitions 1,3,12,48 --record-size 0,1000 --pin broker=0,bench=1 --vs-kcat --vs-java
  kpar bench produce --brokers 127.0.0.1:9092 --acks 1,all --producers 1,2,4,8   # against 'kpar broker up --nodes 3'
  kpar bench produce --trogdor --steps 1,2,4 --records 200000   # on Trogdor agents ('kpar trogdor up --agents 4')`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runBenchProduce(cmd, g, &f) },
	}
	f.register(c.Flags())
	addTrogdorRoute(c, g, trogdor.Produce)
	return wired(c)
}

// register defines the command's flags, their defaults f's.
func (f *produceFlags) register(fl *pflag.FlagSet) {
	// --partitions is a list here: elsewhere (addPartitions) it is one count.
	bindFlags(fl, f, `
input          Input            CSV file to send: a header row, then one record per row (make one with 'kpar gen csv')
topic          TopicFlag        topic to produce to; created with --partitions partitions if missing
topics         TopicsFlag       two (or more) topics written at once, records alternating between them; replaces --topic
partitions     PartitionsFlag   partition counts to sweep, such as 1,3,12,48 (created when missing; an existing topic keeps its count); with several, each count writes to <topic>-p<count>
record-size    RecordSizeFlag   record value sizes in bytes to sweep, such as 100,1000,10000, made from the rows (row i, then the next rows, cut at the size); 0 sends the rows as they are
size-budget    SizeBudget       most bytes one step at a --record-size sends (records = min(rows, budget / size)); 0: the input's bytes
pin            PinFlag          pin the broker JVMs and the bench to disjoint CPUs for the run, such as broker=0,bench=1 (taskset; the broker's CPUs are restored afterwards)
producers      ProducersFlag    producer counts to sweep; each producer is its own client with its own slice of the rows
warmup         Warmup           records sent by one producer before each sweep and not counted (connections, JIT of the broker, page cache); 0 skips
processes      Processes        run each producer as its own OS process instead of a client in this process
acks           Acks             acks to sweep: 0 (fire and forget), 1 (leader wrote it), all (every in-sync replica)
idempotence    Idempotence      idempotent producing to sweep: on, off, or auto (on for acks=all, off otherwise); on needs acks=all
partitioner    Partitioners     partitioners to sweep: sticky-key (hash the key, Kafka murmur2), round-robin, uniform-bytes (KIP-794: fill one partition's batch, then move; keys still hash), manual (record i to partition i mod N)
linger         LingerFlag       linger to sweep: how long a batch waits for more records (Kafka 4 default 5ms, franz-go 10ms)
batch-size     BatchFlag        max batch bytes to sweep (Java batch.size, franz-go ProducerBatchMaxBytes); Java's default is 16384
compression    Compressions     compression to sweep: none, snappy, lz4, zstd
max-in-flight  MaxInFlight      produce requests in flight per broker without idempotence (idempotent producing is capped at 5); Java's default is 5
key-column     KeyColumn        header column whose field is the record key (e.g. customer_id); empty sends unkeyed records
value          Value            record value: raw (the row's bytes as in the file) or json (an object of the row, all strings)
records        Records          use only the first N good rows (0: all)
skip-bad       SkipBad          skip malformed rows (ragged, broken quotes) and count them, instead of stopping at the first with file:line
vs-java        VsJava           also run Kafka's ProducerPerformance on the same payloads and settings (first sweep) and print Go/Java ratios
vs-kcat        VsKcat           also run kcat -P (librdkafka, C) on the same payloads and settings (first sweep), whole process beside one kpar producer process, and judge the target (>= 1.0x rate, <= 1.0x CPU-s per million)
kcat           Kcat             the kcat binary for --vs-kcat
java-records   JavaRecords      records for the --vs-java and --vs-kcat anchors (0: all the input; at a --record-size, at most --size-budget bytes)
no-flush       NoFlush          exit each producer without Flush: measures how many records had no delivery report and how many reached the topic
timeout        Timeout          how long to wait for the broker to answer before giving up
repeat         Repeat`)
	addOutFlags(fl, &f.out, "produce")
	addStallTimeout(fl, &f.stall)
}

// config parses the flags into a validated Config; it touches no broker.
func (f *produceFlags) config(g *globals) (produce.Config, error) {
	c := f.Config
	c.Topics = []string{f.TopicFlag}
	if f.TopicsFlag != "" {
		c.Topics = splitList(f.TopicsFlag)
	}
	var err error
	for _, l := range []struct {
		to         *[]int
		flag, text string
		min        int
	}{{&c.Producers, "producers", f.ProducersFlag, 1}, {&c.Partitions, "partitions", f.PartitionsFlag, 1}, {&c.RecordSizes, "record-size", f.RecordSizeFlag, 0}} {
		if *l.to, err = parseInts(l.flag, l.text, l.min); err != nil {
			return c, err
		}
	}
	if f.PinFlag != "" {
		if c.Pin, err = produce.ParsePin(f.PinFlag); err != nil {
			return c, err
		}
	}
	c.Lingers, c.BatchBytes = nil, nil
	for _, v := range splitList(f.LingerFlag) {
		d, err := time.ParseDuration(v)
		if err != nil {
			return c, fmt.Errorf("--linger %q: want a duration such as 0s, 5ms or 50ms", v)
		}
		c.Lingers = append(c.Lingers, d)
	}
	for _, v := range splitList(f.BatchFlag) {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return c, fmt.Errorf("--batch-size %q: want bytes as an integer, such as 16384 or 1000000", v)
		}
		c.BatchBytes = append(c.BatchBytes, int32(n))
	}
	if c.Processes || c.VsJava || c.VsKcat {
		if err := g.kparChild(&c.Worker); err != nil {
			return c, err
		}
	}
	c.Client = g.client // the anchors' refusal is a flag error
	if err := checkStall(f.stall); err != nil {
		return c, err
	}
	return c, c.Validate()
}

func runBenchProduce(cmd *cobra.Command, g *globals, f *produceFlags) error {
	cfg, err := f.config(g)
	if err != nil {
		return err
	}
	return runExperiment(cmd, g, experiment[produce.Result]{out: &f.out, kind: produce.Kind, stall: f.stall,
		brokers: func(ctx context.Context) ([]string, error) {
			ctx, cancel := context.WithTimeout(ctx, f.Timeout)
			defer cancel()
			return g.connect(ctx)
		},
		run: runOf(cfg, produce.Run),
		doc: produce.Doc, views: produce.Views,
		// A step whose deliveries failed is recorded with its counts and
		// first error, but the run is not a clean measurement.
		failed: func(res produce.Result, _ []string) error {
			if failed := res.FailedSteps(); len(failed) > 0 {
				return fmt.Errorf("%d step(s) had failed deliveries, so their rates are not those of complete runs: %s",
					len(failed), strings.Join(failed, "; "))
			}
			return nil
		}})
}
