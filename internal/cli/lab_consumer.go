package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/kpar/kpar/internal/lab/report"
	"github.com/kpar/kpar/internal/lab/runner"
	"github.com/kpar/kpar/internal/lab/scenario"
	"github.com/kpar/kpar/internal/lab/strategy"
	"github.com/kpar/kpar/internal/lab/worker"
	"github.com/twmb/franz-go/pkg/kgo"
)

type labConsumerFlags struct {
	strategies, scenarios, cell, crashAt, out   string
	records, partitions, keys, workers, maxPoll int
	crashes                                     int
	seed                                        int64
	latency, stall                              time.Duration
	transient, permanent                        float64
	keep, verbose                               bool
}

func newLabConsumerCmd(g *globals) *cobra.Command {
	f := &labConsumerFlags{}
	c := &cobra.Command{
		Use:   "consumer",
		Short: "Count what each consumer strategy loses, duplicates and reorders under faults",
		Long: `Runs every strategy under every scenario against the real broker. Each cell
gets fresh topics and a seeded workload (global sequence number, key,
per-key sequence number); its consumers are separate kpar processes that
write every processing to a processed-log topic before it counts as done.
The checker then reads the input and the processed-log and counts lost,
duplicated and reordered records.

Scenarios are faults joined with '+': ooo (random per-record latency),
crash (SIGKILL the consumer K times at seeded processed-log counts, restart
it each time), kill (the same schedule, but SIGKILL the instant the count is
reached, with handlers, processed-log writes and commits in flight),
rebalance (members join and leave), failures (transient and permanent
handler failures), slow (the first member's handlers stall for longer than
the group's rebalance timeout, kgo's max.poll.interval.ms, while a second
member joins).

Every random choice derives from --seed, which is printed with a command
that re-runs the cell. A crash freezes the consumer after a seeded number of
handler invocations and kills it once its writes landed and its commits
stopped moving, so what was committed and processed at each kill is a
function of the seed. A kill waits for nothing, so its counts move between
re-runs; whether a strategy loses anything does not. The table says per cell
which counts are exact on a re-run (lost and duplicated under crash, not
under kill, rebalance or slow; reordered for the key- and partition-ordered
library) and which move with thread, network and group-protocol timing.

Results: <out>/lab-consumer.json (schema ` + strconv.Itoa(report.SchemaVersion) + `), lab-consumer.md, and
charts of lost, duplicated and records/s as SVG and PNG.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runLabConsumer(cmd, g, f) },
	}
	fl := c.Flags()
	fl.StringVar(&f.strategies, "strategies", strings.Join(strategy.Names(), ","), "comma-separated strategies to run")
	fl.StringVar(&f.scenarios, "scenarios", "ooo,ooo+crash,ooo+kill,ooo+rebalance,ooo+failures,ooo+slow", "comma-separated scenarios, faults joined by '+' (ooo, crash, kill, rebalance, failures, slow; or none)")
	fl.StringVar(&f.cell, "cell", "", "run one cell, strategy/scenario (e.g. commit-before/ooo+crash); overrides --strategies and --scenarios")
	fl.Int64Var(&f.seed, "seed", 0, "seed for every random choice (0: pick one from the clock and print it)")
	fl.IntVar(&f.records, "records", 3000, "input records per cell")
	fl.IntVar(&f.partitions, "partitions", 6, "partitions of the input topic")
	fl.IntVar(&f.keys, "keys", 64, "distinct keys")
	fl.IntVar(&f.workers, "workers", 16, "worker goroutines (max concurrency) per consumer process")
	fl.IntVar(&f.maxPoll, "max-poll", 100, "max records per poll for the franz-go strategies")
	fl.DurationVar(&f.latency, "latency", 10*time.Millisecond, "handler latency: with ooo uniform 0..this plus a 2% tail at 10x this; without ooo fixed at this/2")
	fl.IntVar(&f.crashes, "crashes", 3, "K: SIGKILLs per cell in crash and kill scenarios")
	fl.StringVar(&f.crashAt, "crash-at", "", "explicit crash and kill schedule: comma-separated processed-log counts (overrides --crashes)")
	fl.Float64Var(&f.transient, "transient", 0.1, "failures: chance a handler attempt fails transiently (first 3 attempts)")
	fl.Float64Var(&f.permanent, "permanent", 0.02, "failures: chance a record always fails (dead-letter material)")
	fl.DurationVar(&f.stall, "stall-timeout", 30*time.Second, "give up on a cell whose consumers make no progress for this long")
	fl.StringVar(&f.out, "out", filepath.Join("results", "lab"), "directory for lab-consumer.json, .md and charts")
	fl.BoolVar(&f.keep, "keep-topics", false, "keep each cell's topics and group for inspection")
	fl.BoolVar(&f.verbose, "verbose", false, "pass the worker processes' stderr through")

	c.AddCommand(&cobra.Command{
		Use:                "worker",
		Short:              "One consumer process under test (started by the lab)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if code := worker.Main(cmd.Context(), args); code != 0 {
				return &exitError{code: code, err: errors.New("lab worker failed")}
			}
			return nil
		},
	})
	return c
}

func runLabConsumer(cmd *cobra.Command, g *globals, f *labConsumerFlags) error {
	seeds, err := g.seeds()
	if err != nil {
		return err
	}
	strategies, scenarios, err := f.cells()
	if err != nil {
		return err
	}
	crashAt, err := parseCounts(f.crashAt)
	if err != nil {
		return err
	}
	if f.transient < 0 || f.transient > 1 || f.permanent < 0 || f.permanent > 1 {
		return fmt.Errorf("--transient and --permanent are chances between 0 and 1")
	}
	if f.seed == 0 {
		f.seed = time.Now().UnixNano() % 1_000_000
	}
	// Fail fast and by name on a wrong address rather than after retries.
	if err := pingBrokers(cmd.Context(), seeds); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the kpar binary to run workers: %w", err)
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return fmt.Errorf("--out %s: %w", f.out, err)
	}
	out := cmd.OutOrStdout()
	total := len(strategies) * len(scenarios)
	fmt.Fprintf(out, "kpar lab consumer: seed %d, %d strategies x %d scenarios, %d records each, brokers %s\n",
		f.seed, len(strategies), len(scenarios), f.records, strings.Join(seeds, ","))
	bar := newCellBar(cmd.ErrOrStderr(), out, total)
	defer bar.stop()

	res := report.Results{Schema: report.SchemaVersion, Kind: "kpar.lab.consumer", Started: time.Now().UTC(), Seed: f.seed, Brokers: seeds}
	i := 0
	for _, sc := range scenarios {
		for _, st := range strategies {
			i++
			bar.current(fmt.Sprintf("%s/%s", st, sc.Name))
			cfg := runner.Config{
				Seeds: seeds, Strategy: st, Scenario: sc, Seed: f.seed,
				Records: f.records, Partitions: f.partitions, Keys: f.keys, Workers: f.workers, MaxPoll: f.maxPoll,
				Latency: f.latency, Crashes: f.crashes, CrashAt: crashAt, Transient: f.transient, Permanent: f.permanent,
				StallTimeout: f.stall, Keep: f.keep,
				Command: func(args []string) *exec.Cmd {
					return exec.Command(self, append([]string{"lab", "consumer", "worker"}, args...)...)
				},
			}
			if f.verbose {
				cfg.WorkerStderr = os.Stderr
			}
			start := time.Now()
			cell, err := runner.Run(cmd.Context(), cfg)
			if err != nil {
				return fmt.Errorf("cell %s/%s: %w", st, sc.Name, err)
			}
			cell.Rerun = f.rerun(st, sc.Name)
			res.Cells = append(res.Cells, cell)
			ch := cell.Check
			bar.println(fmt.Sprintf("[%d/%d] %-20s %-18s lost %5d  dup %5d  reord %5d  dlq %4d  %6.0f rec/s  crashes %d/%d  %4.1fs  exact: %s%s",
				i, total, st, sc.Name, ch.Lost, ch.Duplicated, ch.Reordered, ch.DeadLettered, ch.RecordsPerSec,
				cell.Crashes, len(cell.CrashPoints), time.Since(start).Seconds(), exactList(cell.Exact), cellNote(cell)))
			bar.done()
		}
	}
	bar.stop()
	return writeLabConsumer(f.out, res, out)
}

func exactList(e []string) string {
	if len(e) == 0 {
		return "none"
	}
	return strings.Join(e, ",")
}

// cellBar is an mpb bar over the cells on stderr when stderr is a terminal;
// each cell's line goes above it (or to stdout when stdout is not the
// terminal, e.g. piped to a file).
type cellBar struct {
	p    *mpb.Progress
	bar  *mpb.Bar
	out  io.Writer
	name atomic.Value
}

func newCellBar(stderr, stdout io.Writer, total int) *cellBar {
	b := &cellBar{out: stdout}
	b.name.Store("")
	if !isTerminal(stderr) {
		return b
	}
	b.p = mpb.New(mpb.WithOutput(stderr), mpb.WithWidth(30))
	b.bar = b.p.AddBar(int64(total),
		mpb.PrependDecorators(decor.Name("cells "), decor.CountersNoUnit("%d / %d")),
		mpb.AppendDecorators(decor.Elapsed(decor.ET_STYLE_MMSS), decor.Any(func(decor.Statistics) string {
			return " " + b.name.Load().(string)
		})))
	if isTerminal(stdout) {
		b.out = b.p
	}
	return b
}

func (b *cellBar) current(name string) { b.name.Store(name) }
func (b *cellBar) println(s string)    { fmt.Fprintln(b.out, s) }
func (b *cellBar) done() {
	if b.bar != nil {
		b.bar.Increment()
	}
}

func (b *cellBar) stop() {
	if b.p == nil {
		return
	}
	b.bar.Abort(false)
	b.p.Wait()
	b.p, b.bar = nil, nil
}

func cellNote(c report.Cell) string {
	switch {
	case c.Error != "":
		return "  ERROR " + c.Error
	case c.Stalled:
		return "  STALLED"
	}
	return ""
}

// writeLabConsumer writes the data, then the views of it; each file appears
// whole (temp file + rename) or not at all.
func writeLabConsumer(dir string, res report.Results, out interface{ Write([]byte) (int, error) }) error {
	jsonPath := filepath.Join(dir, "lab-consumer.json")
	if err := report.Write(jsonPath, res); err != nil {
		return err
	}
	mdPath := filepath.Join(dir, "lab-consumer.md")
	tmp, err := os.CreateTemp(dir, ".lab-consumer.md.tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := report.Markdown(tmp, res); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), mdPath); err != nil {
		return err
	}
	written := []string{jsonPath, mdPath}
	for _, m := range []string{"lost", "duplicated", "records_per_sec"} {
		for _, ext := range []string{".svg", ".png"} {
			p := filepath.Join(dir, "lab-consumer-"+m+ext)
			tp := filepath.Join(dir, ".tmp-lab-consumer-"+m+ext)
			if err := report.Chart(tp, res, m); err != nil {
				os.Remove(tp)
				return err
			}
			if err := os.Rename(tp, p); err != nil {
				return err
			}
			written = append(written, p)
		}
	}
	fmt.Fprintf(out, "wrote %s\n", strings.Join(written, ", "))
	return nil
}

func (f *labConsumerFlags) cells() ([]string, []scenario.Scenario, error) {
	stList, scList := f.strategies, f.scenarios
	if f.cell != "" {
		st, sc, ok := strings.Cut(f.cell, "/")
		if !ok {
			return nil, nil, fmt.Errorf("--cell %q: want strategy/scenario", f.cell)
		}
		stList, scList = st, sc
	}
	var strategies []string
	for _, s := range strings.Split(stList, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if _, err := strategy.Get(s); err != nil {
			return nil, nil, fmt.Errorf("--strategies: %w", err)
		}
		strategies = append(strategies, s)
	}
	var scenarios []scenario.Scenario
	for _, s := range strings.Split(scList, ",") {
		if strings.TrimSpace(s) == "" {
			continue
		}
		sc, err := scenario.Parse(s)
		if err != nil {
			return nil, nil, fmt.Errorf("--scenarios: %w", err)
		}
		scenarios = append(scenarios, sc)
	}
	if len(strategies) == 0 || len(scenarios) == 0 {
		return nil, nil, errors.New("no cell to run: --strategies and --scenarios must each name at least one")
	}
	switch {
	case f.records < 1:
		return nil, nil, fmt.Errorf("--records must be at least 1, got %d", f.records)
	case f.partitions < 1:
		return nil, nil, fmt.Errorf("--partitions must be at least 1, got %d", f.partitions)
	case f.keys < 1:
		return nil, nil, fmt.Errorf("--keys must be at least 1, got %d", f.keys)
	case f.workers < 1:
		return nil, nil, fmt.Errorf("--workers must be at least 1, got %d", f.workers)
	case f.maxPoll < 1:
		return nil, nil, fmt.Errorf("--max-poll must be at least 1, got %d", f.maxPoll)
	case f.crashes < 0:
		return nil, nil, fmt.Errorf("--crashes must not be negative, got %d", f.crashes)
	}
	return strategies, scenarios, nil
}

func parseCounts(s string) ([]int, error) {
	var out []int
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || (len(out) > 0 && n <= out[len(out)-1]) {
			return nil, fmt.Errorf("--crash-at %q: want increasing positive processed-log counts", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// rerun is the command line that repeats one cell exactly as configured.
func (f *labConsumerFlags) rerun(st, sc string) string {
	s := fmt.Sprintf("kpar lab consumer --cell %s/%s --seed %d --records %d --partitions %d --keys %d --workers %d --max-poll %d --latency %s",
		st, sc, f.seed, f.records, f.partitions, f.keys, f.workers, f.maxPoll, f.latency)
	if parsed, err := scenario.Parse(sc); err == nil && parsed.Kills() {
		if f.crashAt != "" {
			s += " --crash-at " + f.crashAt
		} else {
			s += fmt.Sprintf(" --crashes %d", f.crashes)
		}
	}
	if strings.Contains(sc, "failures") {
		s += fmt.Sprintf(" --transient %g --permanent %g", f.transient, f.permanent)
	}
	return s
}

func pingBrokers(ctx context.Context, seeds []string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		return fmt.Errorf("--brokers %s: %w", strings.Join(seeds, ","), err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := cl.Ping(ctx); err != nil {
		return fmt.Errorf("broker %s unreachable: %w", strings.Join(seeds, ","), err)
	}
	return nil
}
