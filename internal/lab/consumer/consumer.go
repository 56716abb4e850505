// Package consumer is the correctness lab `kpar lab consumer`: every
// consumer strategy under every scenario against a real cluster, each cell
// counted by the checker (lost, duplicated, reordered, dead-lettered,
// records/s). Config -> Run -> Result (schema "kpar.lab.consumer") -> Doc,
// which reads only the Result; a run that fails returns no Result.
package consumer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/kpar/kpar/internal/env"
	"github.com/kpar/kpar/internal/flagcheck"

	"github.com/kpar/kpar/internal/confluentpc"
	"github.com/kpar/kpar/internal/lab/labrun"
	"github.com/kpar/kpar/internal/lab/scenario"
	"github.com/kpar/kpar/internal/lab/strategy"
	"github.com/kpar/kpar/internal/lab/workload"
	"github.com/kpar/kpar/internal/proc"
)

// DefaultScenarios are the scenarios of a run that names none.
var DefaultScenarios = []string{"ooo", "ooo+crash", "ooo+kill", "ooo+rebalance", "ooo+failures", "ooo+slow"}

// Config is one run. The fields a user sets are the command's flags, and
// Validate names the flag of a bad value. Start from DefaultConfig.
type Config struct {
	// Strategies and Scenarios span the grid: every strategy under every
	// scenario. Cell ("strategy/scenario") runs one cell instead.
	Strategies []string
	Scenarios  []string
	Cell       string

	// Seed fixes the workload, every latency, failure and crash point
	// (0: picked from the clock by Run; the Result and every rerun name it).
	Seed int64

	Records    int
	Partitions int // of the input topic
	Keys       int
	Workers    int // worker goroutines per consumer process
	MaxPoll    int // records per poll of the franz-go strategies
	// Latency is the handler's latency ceiling (see scenario.Latency).
	Latency time.Duration
	// Crashes is K, the SIGKILLs of a crash or kill scenario, at seeded
	// processed-log counts; CrashAt gives the counts instead.
	Crashes int
	CrashAt []int
	// Transient and Permanent are the chances of a handler failure under
	// the failures fault.
	Transient float64
	Permanent float64
	// StallTimeout ends a cell whose consumers make no progress for this
	// long (after a worker's start or restart: at least startGrace).
	StallTimeout time.Duration
	// Keep leaves each cell's topics and group in place for inspection.
	Keep bool

	// Not flags. Env: the seeds, the TLS/SASL settings, progress (each
	// cell's Begin and End with its CellLine, notes of PC's set-up).
	env.Env
	// Worker starts one consumer process under test with its
	// worker.Params: `kpar child lab-worker` in kpar.
	Worker proc.Starter
	// WorkerStderr receives the workers' output (nil: discarded).
	WorkerStderr io.Writer

	// java and pcClasspath run the pc-* strategies' JVM; Run resolves
	// them once, before the first cell.
	java, pcClasspath string
}

// DefaultStrategies are the strategies of a run that names none: every Go
// consumer-group one (the pc-* ones need a JDK and Maven and stall under
// failures; the share-group ones wait out a dead member's session
// and locks after every kill).
func DefaultStrategies() []string {
	var out []string
	for _, s := range strategy.Names() {
		if !strategy.NeedsJVM(s) && !strategy.IsShare(s) {
			out = append(out, s)
		}
	}
	return out
}

// DefaultConfig is the lab's default run (48 cells with eos, a few minutes).
func DefaultConfig() Config {
	return Config{
		Strategies: DefaultStrategies(), Scenarios: slices.Clone(DefaultScenarios),
		Records: 3000, Partitions: 6, Keys: 64, Workers: 16, MaxPoll: 100,
		Latency: 10 * time.Millisecond, Crashes: 3, Transient: 0.1, Permanent: 0.02,
		StallTimeout: 30 * time.Second,
	}
}

// cellSpec is one cell of the plan.
type cellSpec struct {
	strategy string
	scenario scenario.Scenario
}

// Validate checks every flag-backed field; each error names its flag.
func (c Config) Validate() error { return labrun.Check(c.plan) }

// Cells names the cells a valid Config runs, "strategy/scenario", in order.
func (c Config) Cells() []string { return labrun.Cells(c.plan) }

// Name is the cell's "strategy/scenario".
func (p cellSpec) Name() string { return p.strategy + "/" + p.scenario.Name }

// plan is the cells of the run (--cell's one, or the lists), validated.
func (c Config) plan() ([]cellSpec, error) {
	stList, scList, stFlag, scFlag := c.Strategies, c.Scenarios, "strategies", "scenarios"
	if c.Cell != "" {
		st, sc, ok := strings.Cut(c.Cell, "/")
		if !ok {
			return nil, fmt.Errorf("--cell %q: want strategy/scenario", c.Cell)
		}
		stList, scList, stFlag, scFlag = []string{st}, []string{sc}, "cell", "cell"
	}
	var strategies, names []string
	for _, s := range stList {
		if _, err := strategy.Get(s); err != nil {
			return nil, fmt.Errorf("--%s: %w", stFlag, err)
		}
		if slices.Contains(strategies, s) {
			return nil, fmt.Errorf("--%s: %s is named twice", stFlag, s)
		}
		strategies = append(strategies, s)
	}
	var scenarios []scenario.Scenario
	for _, s := range scList {
		sc, err := scenario.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("--%s: %w", scFlag, err)
		}
		if slices.Contains(names, sc.Name) {
			return nil, fmt.Errorf("--%s: %s is named twice", scFlag, sc.Name)
		}
		scenarios, names = append(scenarios, sc), append(names, sc.Name)
	}
	if sec := c.Client; len(sec.Opts) > 0 && sec.Java == nil {
		if i := slices.IndexFunc(strategies, strategy.NeedsJVM); i >= 0 {
			return nil, fmt.Errorf("--%s: %s runs Parallel Consumer's JVM, which cannot take these settings: %w", stFlag, strategies[i], sec.AnchorErr)
		}
	}
	if len(strategies) == 0 || len(scenarios) == 0 {
		return nil, errors.New("no cell to run: --strategies and --scenarios must each name at least one")
	}
	if err := c.checkValues(slices.ContainsFunc(scenarios, scenario.Scenario.Kills)); err != nil {
		return nil, err
	}
	var plan []cellSpec
	for _, sc := range scenarios {
		for _, st := range strategies {
			plan = append(plan, cellSpec{st, sc})
		}
	}
	return plan, nil
}

// checkValues checks the numeric flags; kills says a crash or kill scenario
// is in the run.
func (c Config) checkValues(kills bool) error {
	if err := flagcheck.AtLeast(flagcheck.Int("seed", c.Seed, 0), flagcheck.Int("records", c.Records, 1),
		flagcheck.Int("partitions", c.Partitions, 1), flagcheck.Int("keys", c.Keys, 1), flagcheck.Int("workers", c.Workers, 1),
		flagcheck.Int("max-poll", c.MaxPoll, 1), flagcheck.Int("crashes", c.Crashes, 0)); err != nil {
		return err
	}
	switch {
	case c.Latency < 0:
		return fmt.Errorf("--latency %s: must not be negative", c.Latency)
	case c.StallTimeout <= 0:
		return fmt.Errorf("--stall-timeout %s: must be positive", c.StallTimeout)
	case c.Transient < 0 || c.Transient > 1:
		return fmt.Errorf("--transient %g: must be a chance between 0 and 1", c.Transient)
	case c.Permanent < 0 || c.Permanent > 1:
		return fmt.Errorf("--permanent %g: must be a chance between 0 and 1", c.Permanent)
	case kills && c.Crashes < 1 && len(c.CrashAt) == 0:
		return fmt.Errorf("--crashes %d: the crash and kill scenarios need at least 1 (or --crash-at)", c.Crashes)
	}
	for i, n := range c.CrashAt {
		if n < 1 || (i > 0 && n <= c.CrashAt[i-1]) {
			return fmt.Errorf("--crash-at %s: want increasing positive processed-log counts", flagcheck.Ints(c.CrashAt))
		}
	}
	return nil
}

// Rerun is the command line that repeats one cell exactly as configured.
func (c Config) Rerun(strategy, scen string) string {
	sc, err := scenario.Parse(scen)
	kills, failures := err == nil && sc.Kills(), err == nil && sc.Has(scenario.Failures)
	return strings.Join(append([]string{"kpar lab consumer --cell", strategy + "/" + scen}, c.args(kills, failures, false)...), " ")
}

// Argv is the command line that repeats the whole run.
func (c Config) Argv() []string {
	a := []string{"kpar", "lab", "consumer"}
	if c.Cell != "" {
		a = append(a, "--cell", c.Cell)
	} else {
		a = append(a, "--strategies", strings.Join(c.Strategies, ","), "--scenarios", strings.Join(c.Scenarios, ","))
	}
	return append(a, c.args(true, true, true)...)
}

// args are the flags after the cells: the schedule of kills, the failure
// chances and the stall timeout only when asked for, the security last.
func (c Config) args(kills, failures, stall bool) []string {
	a := []string{"--seed", fmt.Sprint(c.Seed), "--records", fmt.Sprint(c.Records), "--partitions", fmt.Sprint(c.Partitions),
		"--keys", fmt.Sprint(c.Keys), "--workers", fmt.Sprint(c.Workers), "--max-poll", fmt.Sprint(c.MaxPoll),
		"--latency", c.Latency.String()}
	switch {
	case kills && len(c.CrashAt) > 0:
		a = append(a, "--crash-at", flagcheck.Ints(c.CrashAt))
	case kills:
		a = append(a, "--crashes", fmt.Sprint(c.Crashes))
	}
	if failures {
		a = append(a, "--transient", fmt.Sprint(c.Transient), "--permanent", fmt.Sprint(c.Permanent))
	}
	if stall {
		a = append(a, "--stall-timeout", c.StallTimeout.String())
	}
	return append(a, c.Client.Args()...)
}

// Run runs every cell of cfg, one after the other. A cell whose consumers
// fail or stall is recorded as such; err is for a failure of the lab itself
// (bad Config, topics, input), and then there is no Result.
func Run(ctx context.Context, cfg Config) (Result, error) {
	plan, err := cfg.plan()
	if err != nil {
		return Result{}, err
	}
	if err := labrun.Ready("lab consumer", cfg.Brokers, "worker", cfg.Worker != nil); err != nil {
		return Result{}, err
	}
	cfg.Seed = workload.PickSeed(cfg.Seed)
	if slices.ContainsFunc(plan, func(p cellSpec) bool { return strategy.NeedsJVM(p.strategy) }) {
		// Maven and javac here, not in a worker on a cell's clock.
		if cfg.java, cfg.pcClasspath, err = confluentpc.Classpath(ctx, cfg.Progress.Notes()); err != nil {
			return Result{}, fmt.Errorf("lab consumer: the pc-* strategies need Parallel Consumer %s: %w", confluentpc.PCVersion, err)
		}
	}
	res := Result{Run: labrun.New(Kind, cfg.Argv(), cfg.Seed, cfg.Brokers)}
	for i, p := range plan {
		cfg.Progress.Begin(i+1, len(plan), p.Name())
		start := time.Now()
		cell, err := runCell(ctx, cfg, p.strategy, p.scenario)
		if err != nil {
			return Result{}, fmt.Errorf("cell %s/%s: %w", p.strategy, p.scenario.Name, err)
		}
		if ctx.Err() != nil { // interrupted: its counts are of a cell cut short, no finding
			return Result{}, fmt.Errorf("cell %s/%s interrupted: %w", p.strategy, p.scenario.Name, ctx.Err())
		}
		cell.Rerun = cfg.Rerun(p.strategy, p.scenario.Name)
		cell.Seconds = time.Since(start).Seconds()
		res.Cells = append(res.Cells, cell)
		cfg.Progress.End(i+1, len(plan), CellLine(i+1, len(plan), cell))
	}
	res.Speed = compareSpeed(res.Cells)
	res.Finish()
	return res, nil
}

// CellLine is one finished cell in the text output.
func CellLine(i, total int, c Cell) string {
	ch := c.Check
	exact := "none"
	if len(c.Exact) > 0 {
		exact = strings.Join(c.Exact, ",")
	}
	note := ""
	switch {
	case c.Error != "":
		note = "  ERROR " + c.Error
	case c.Stalled:
		note = "  STALLED"
	}
	share := ""
	if s := c.Share; s != nil {
		share = fmt.Sprintf("  archived %d  redelivered %d", s.Archived, s.Redelivered)
	}
	return fmt.Sprintf("[%d/%d] %-20s %-18s lost %5d  dup %5d  reord %5d  dlq %4d  %6.0f rec/s  crashes %d/%d  %4.1fs%s  exact: %s%s",
		i, total, c.Strategy, c.Scenario, c.LostNotArchived(), ch.Duplicated, ch.Reordered, ch.DeadLettered, ch.RecordsPerSec,
		c.Crashes, len(c.CrashPoints), c.Seconds, share, exact, note)
}
