package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kpar/kpar/internal/compare"
	"github.com/kpar/kpar/internal/compare/stuck"
)

// compareFlags are the flags, bound straight into the Configs (the
// window's under W).
type compareFlags struct {
	compare.Config
	W                 stuck.Config
	ConcFlag          string
	WindowFlag, quick bool
	out               outFlags
	stall             time.Duration
}

// quickFlags: a smoke run of every part in a few minutes: one io
// concurrency, a 2M-record no-op backlog, a short heap search, and rate
// windows held to a 0.25 s minimum instead of 10 s (the plain loop with
// kgo's default fetch size reads millions of records a second here: a
// 10 s window would take tens of millions of records). The result and
// compare.md state the minimum used.
var quickFlags = [][2]string{{"concurrency", "64"}, {"io-records", "20000"}, {"noop-records", "2000000"},
	{"rss-records", "200000"}, {"dlq-records", "200000"}, {"min-window", "250ms"}, {"pc-heap-steps", "3"}}

// compareConsumeLong is compare consume's --help.
var compareConsumeLong = `Runs kpar's parallel consumer, Confluent's Parallel Consumer ` + "0.5.3.3" + ` (Java,
resolved with Maven into the kpar cache on first use; needs java 17+, javac and
mvn) and a plain franz-go poll loop, each as its own process, on the same
broker, topics and records, in one run:
  io    key order, 5 ms sleeping handler, at each --concurrency (1,000 keys,
        2 x concurrency keys where that is more): steady records/s, share of
        the ideal at the measured handler time, CPU-s per million records;
  noop  records/s and CPU-s per million records, plain loop included;
  rss   peak RSS of each process over a backlog, then PC again with -Xmx
        set to kpar's peak RSS (--pc-heap): not finishing is reported.
  dlq   kpar's share mode with 1 in 100 records failing for good, twice:
        dead letters written by kpar (DeadLetterTopic), then by the broker
        (BrokerDeadLetter, KIP-1191, Kafka 4.4+): rate, and what each
        dead-letter topic holds once it stops growing (--dlq-records).
Share groups (KIP-932) run in the same measurements, each on a fresh share
group set to read from the earliest offset: a bare franz-go share consumer
(--share-members clients, the concurrency split over them, each record acked
when its handler returns, the next poll only once all are), kpar's share
mode (--kpar-share) and Kafka's ShareConsumerPerformance (its own clock, its
whole run: in no ratio). Per-key reordering is counted in every io run.
PC runs as its README recommends: KEY order, PERIODIC_CONSUMER_ASYNCHRONOUS,
maxConcurrency as asked.

One clock for every contender, in the process that handles the records:
distinct records are counted as each handler returns, the first 10% are the
warm-up, and the rate is the records from the warm-up count to the n-th
distinct record over the time between them (every contender stops at n
distinct records). A rate window shorter than --min-window fails its part
with the records it would need. --repeat N runs every io and no-op contender
N times, interleaved (each repeat runs each contender once): medians and
min-max are shown, ratios are taken per repeat, and a target is met only when
every repeat passed it.
After the memory runs, PC runs again with kpar's fetch sizes
(fetch.max.bytes, max.partition.fetch.bytes as kpar's client ran) under
capped heaps, from --pc-heap, halving or doubling then bisecting
(--pc-heap-steps runs, each bounded by --pc-heap-timeout): the smallest heap
that finished the backlog.

Results go to --out: compare.json (schema kpar.compare.consume v3), compare.md
and charts. A part that fails (io at one concurrency, no-op, memory, the heap
search, the window) is recorded with its reason and the others are written;
the command then exits non-zero. Timings on a shared machine are noisy.`

func newCompareConsumeCmd(g *globals) *cobra.Command {
	def := compare.DefaultConfig()
	f := &compareFlags{Config: def, W: stuck.DefaultConfig(), ConcFlag: joinInts(def.Concurrencies)}
	c := command("consume", "kpar's parallel consumer vs Confluent's Parallel Consumer (Java), share groups and a plain franz-go loop",
		compareConsumeLong, func(cmd *cobra.Command) error { return runCompareConsume(cmd, g, f) })
	fl := c.Flags()
	bindFlags(fl, f, `
topic-prefix                     TopicPrefix        prefix of the topics (named after their sizes, reused)
keys                             Keys               distinct keys (io topics: 2 x concurrency where that is more)
value-size                       ValueSize          record value bytes
concurrency                      ConcFlag           io: comma-separated max concurrencies, both libraries
io-records                       IORecords          io: records per run
sleep                            Sleep              io: handler latency (whole milliseconds)
noop-records                     NoopRecords        noop: records per run
noop-concurrency                 NoopConcurrency    noop and rss: max concurrency of both libraries
rss-records                      RSSRecords         rss: backlog each process consumes
dlq-records                      DeadLetterRecords  dead letters: records of each share-mode run, 1 in 100 failing for good, dead-lettered by kpar, then by the broker (KIP-1191, Kafka 4.4+); 0 skips the part, as does --kpar-share=false
pc-heap                          PCHeap             rss: the heap PC's heap search starts from: auto (kpar's peak RSS, rounded up to MiB) or a size such as 512m
pc-heap-steps                    HeapSteps          rss: most capped PC runs of the heap search (0: no search)
pc-heap-timeout                  HeapTimeout        rss: bound of each capped PC run (0: three times PC's default-heap run, at least 1m, at most --timeout)
timeout                          Timeout            bound of every single run; a run past it fails its part (a capped PC run excepted: not finishing is its result)
repeat                           Repeat             runs of every io and no-op contender, interleaved; medians and min-max shown, targets met only when every repeat passed
min-window                       MinWindow          shortest rate window (warm-up to the last record) accepted; a shorter run fails its part with the records it would need
kpar-max-buffered                KparMaxBuffered    kpar's MaxBuffered (0: the library's default)
kpar-max-buffered-per-partition  KparPerPart        kpar's MaxBufferedPerPartition (0: the library's default)
share-members                    ShareMembers       share contenders: member clients (bare share consumer, kpar's share mode, ShareConsumerPerformance --threads); the run's concurrency is split over them
kpar-share                       KparShare          also run kpar's share mode beside the bare share consumer
source-root                      SourceRoot         kpar source tree whose lines of code the table counts (default: found above the working directory)
window                           WindowFlag         also measure the out-of-order window: one record per partition stuck, held completions, commit metadata, replays after a SIGKILL restart
window-records                   W.RecordsPerPartition  window: records per partition
window-stuck                     W.MaxHold          window: the longest each run waits, its stuck records held, for the plateau (they are held until the plateau is measured, never released by a timer)`)
	addPartitions(fl, &f.Partitions, def.Partitions, "every topic")
	addStallTimeout(fl, &f.stall)
	quick := make([]string, len(quickFlags))
	for i, q := range quickFlags {
		quick[i] = "--" + q[0] + " " + q[1]
	}
	fl.BoolVar(&f.quick, "quick", false, "a smoke run of every part: "+strings.Join(quick, ", ")+" (flags given explicitly win)")
	addOutFlags(fl, &f.out, "compare")
	return wired(c)
}

// config parses the flags into a validated Config; it touches no broker
// and starts no JVM.
func (f *compareFlags) config(cmd *cobra.Command, g *globals) (compare.Config, error) {
	for _, q := range quickFlags {
		if f.quick && !cmd.Flags().Changed(q[0]) {
			if err := cmd.Flags().Set(q[0], q[1]); err != nil {
				return compare.Config{}, err
			}
		}
	}
	c := f.Config
	if err := checkStall(f.stall); err != nil {
		return c, err
	}
	var err error
	if c.Concurrencies, err = parseInts("concurrency", f.ConcFlag, 1); err != nil {
		return c, err
	}
	if c.SourceRoot == "" {
		wd, err := os.Getwd()
		if err != nil {
			return c, err
		}
		if c.SourceRoot, err = compare.FindModuleRoot(wd); err != nil {
			return c, fmt.Errorf("--source-root: %w", err)
		}
	}
	if err := g.kparChild(&c.Child); err != nil {
		return c, err
	}
	c.Client = g.client // the JVMs' refusal is a flag error
	if f.WindowFlag {
		w := f.W
		w.Partitions, w.Keys, w.Child = c.Partitions, c.Keys, c.Child
		c.Window = &w
	}
	return c, c.Validate()
}

func runCompareConsume(cmd *cobra.Command, g *globals, f *compareFlags) error {
	cfg, err := f.config(cmd, g)
	if err != nil {
		return err
	}
	// A part that failed is in the result with its reason; the parts that
	// completed are written all the same, and the exit is non-zero.
	return runExperiment(cmd, g, experiment[compare.Result]{out: &f.out, data: compare.DataFile, unit: "runs", stall: f.stall,
		run:     runOf(cfg, compare.Run),
		doc:     compare.Doc,
		partial: func(err error) bool { return errors.Is(err, compare.ErrPartsFailed) }})
}
