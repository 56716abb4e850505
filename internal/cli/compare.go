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
	"github.com/kpar/kpar/internal/flagcheck"
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

func newCompareConsumeCmd(g *globals) *cobra.Command {
	def := compare.DefaultConfig()
	f := &compareFlags{Config: def, W: stuck.DefaultConfig(), ConcFlag: flagcheck.Ints(def.Concurrencies)}
	c := command("consume", "kpar's parallel consumer vs Confluent's Parallel Consumer (Java), share groups and a plain franz-go loop",
		help("compare-consume"), func(cmd *cobra.Command) error { return runCompareConsume(cmd, g, f) })
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
	return runExperiment(cmd, g, experiment[compare.Result]{out: &f.out, kind: compare.Kind, unit: "runs", stall: f.stall,
		run:     runOf(cfg, compare.Run),
		doc:     compare.Doc,
		partial: func(err error) bool { return errors.Is(err, compare.ErrPartsFailed) }})
}
