// Package groupsettings is `kpar lab group-settings`: the consumer settings people
// argue about, measured on a real broker with seeded, checkable records.
//
//   - reset: auto.offset.reset earliest / latest / none for a new group on a
//     topic with data, and for a group whose committed offset fell below the
//     log start (records deleted past it): existing records seen and skipped,
//     the error "none" gives.
//   - autocommit: enable.auto.commit on / off with a SIGKILL mid-stream at a
//     seeded point: lost and duplicated after a restarted member finished.
//   - isolation: read_committed vs read_uncommitted against a transactional
//     producer that aborts a seeded share of its transactions: aborted records
//     seen by each; and how late read_committed delivers other producers'
//     records while one transaction stays open (the last stable offset).
//   - pollinterval: max.poll.interval.ms (kgo's RebalanceTimeout) exceeded by
//     a slow member while another joins: when it is removed, whether its
//     commit after the slow batch lands, what the others redo.
//
// The shape every kpar measurement has: Config (DefaultConfig, Validate whose
// errors name the flag) -> Run(ctx, Config) (Result, error) with progress
// through callbacks -> Result (schema "kpar.lab.group.settings" version 1) ->
// Doc, the one document computed from the Result alone. Each cell says which of its counts
// repeat exactly from the seed (Exact) and why the others move (Why).
package groupsettings

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kpar/kpar/internal/env"
	"github.com/kpar/kpar/internal/lab/labrun"
	"github.com/kpar/kpar/internal/lab/workload"
	"github.com/kpar/kpar/internal/proc"
	"github.com/kpar/kpar/internal/results"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Experiments, in the order a run goes through them.
const (
	Reset        = "reset"
	AutoCommit   = "autocommit"
	Isolation    = "isolation"
	PollInterval = "pollinterval"
)

// Names lists every experiment.
func Names() []string { return []string{Reset, AutoCommit, Isolation, PollInterval} }

// Config is one run. Start from DefaultConfig; Validate names the flag of a
// bad value.
type Config struct {
	Experiments []string
	// Seed fixes every record, crash point, abort and stall (0: Run picks
	// one from the clock; the Result and every rerun name it).
	Seed int64
	// Records is the existing data of each cell's input topic.
	Records int

	// Not flags: fixed shape of the experiments, stored in the Result.

	Partitions int // of every input topic
	// AutoCommitInterval is kgo's auto-commit period in the autocommit
	// experiment (kgo's and Java's default is 5 s; shorter keeps a run short
	// while still committing several times before the crash).
	AutoCommitInterval time.Duration
	// Transactions and AbortShare shape the isolation experiment's producer.
	Transactions int
	AbortShare   float64
	// Hold is how long the isolation experiment keeps one transaction open.
	Hold time.Duration
	// RebalanceTimeout is max.poll.interval.ms in the pollinterval
	// experiment; the slow batch takes Stall.
	RebalanceTimeout time.Duration
	Stall            time.Duration
	// CellTimeout ends a cell that has not finished by then (recorded as
	// the cell's failure; the run goes on).
	CellTimeout time.Duration

	// Env: the seeds; the TLS/SASL settings (every client of the lab
	// gets the options, the member processes the settings in their spec
	// line, Member hands them over); the progress: cell i of CellCount
	// begins ("experiment cell") and ends (its line). The result's
	// command is Argv, from the seed.
	env.Env
	clientOpts []kgo.Opt
	cells      *int // cells begun so far
	// Member starts the autocommit experiment's member process with its
	// MemberSpec: `kpar child group-settings-member`.
	Member proc.Starter
}

// DefaultConfig is the default run: every experiment, a couple of minutes.
func DefaultConfig() Config {
	return Config{
		Experiments: Names(), Records: 2000, Partitions: 3,
		AutoCommitInterval: 500 * time.Millisecond, Transactions: 20, AbortShare: 0.3, Hold: 3 * time.Second,
		RebalanceTimeout: 2 * time.Second, Stall: 6 * time.Second, CellTimeout: 60 * time.Second,
	}
}

// Validate checks every flag-backed field; each error names its flag.
func (c Config) Validate() error {
	if len(c.Experiments) == 0 {
		return fmt.Errorf("--experiments: none given (valid: %s)", strings.Join(Names(), ", "))
	}
	if err := labrun.CheckNames("experiments", "experiment", c.Experiments, Names()); err != nil {
		return err
	}
	switch {
	case c.Seed < 0:
		return fmt.Errorf("--seed %d: must not be negative", c.Seed)
	case c.Records < 100:
		// Below that the seeded crash and stall points have no room.
		return fmt.Errorf("--records %d: must be at least 100", c.Records)
	case c.Partitions < 1:
		return fmt.Errorf("partitions %d: must be at least 1", c.Partitions)
	case c.AutoCommitInterval <= 0, c.Hold <= 0, c.RebalanceTimeout <= 0, c.CellTimeout <= 0:
		return errors.New("auto-commit interval, hold, rebalance timeout and cell timeout must be positive")
	case c.Stall <= c.RebalanceTimeout:
		return fmt.Errorf("stall %s: must exceed the rebalance timeout %s, or nothing is exceeded", c.Stall, c.RebalanceTimeout)
	case c.Transactions < 2 || c.AbortShare < 0 || c.AbortShare > 1:
		return errors.New("transactions must be at least 2 and the abort share within 0..1")
	}
	return nil
}

// Argv is the command line that repeats the run.
func (c Config) Argv() []string {
	return append([]string{"kpar", "lab", "group-settings", "--experiments", strings.Join(c.Experiments, ","),
		"--seed", fmt.Sprint(c.Seed), "--records", fmt.Sprint(c.Records)}, c.Client.Args()...)
}

// rerun is the command that repeats one experiment.
func (c Config) rerun(exp string) string {
	return strings.Join(append([]string{fmt.Sprintf("kpar lab group-settings --experiments %s --seed %d --records %d", exp, c.Seed, c.Records)},
		c.Client.Args()...), " ")
}

// Run runs the experiments of cfg one after the other. A cell that fails
// (times out, a member that does not come up) is recorded with its error and
// the run goes on; err is for the lab itself (bad Config, no broker, topics
// that cannot be created), and then there is no Result.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	if len(cfg.Brokers) == 0 {
		return Result{}, errors.New("lab group-settings: no broker to run against")
	}
	cfg.Seed = workload.PickSeed(cfg.Seed)
	cfg.clientOpts, cfg.cells = cfg.Opts(), new(int)
	res := Result{Run: labrun.Run{Header: results.NewHeader(Schema, SchemaVersion, cfg.Argv()), Seed: cfg.Seed, Brokers: cfg.Brokers},
		Records: cfg.Records, Partitions: cfg.Partitions, Experiments: cfg.Experiments}
	for _, e := range cfg.Experiments {
		var err error
		switch e {
		case Reset:
			res.Reset, err = runReset(ctx, cfg)
		case AutoCommit:
			if cfg.Member == nil {
				return Result{}, errors.New("lab group-settings: the autocommit experiment needs a member command")
			}
			res.AutoCommit, err = runAutoCommit(ctx, cfg)
		case Isolation:
			var r []IsolationResult
			if r, err = runIsolation(ctx, cfg); err == nil {
				res.Isolation = &r[0]
			}
		case PollInterval:
			res.PollInterval, err = runPollInterval(ctx, cfg)
		}
		if err != nil {
			return Result{}, fmt.Errorf("%s: %w", e, err)
		}
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
	}
	res.Finish()
	return res, nil
}

// cells are each experiment's cells, in order.
var cells = map[string][]string{AutoCommit: commitModes, Isolation: {"aborts+lso"}, PollInterval: pollVariants, Reset: func() (out []string) {
	for _, cs := range []string{CaseNewGroup, CaseRetention} {
		for _, pol := range resetPolicies {
			out = append(out, cs+"/"+pol)
		}
	}
	return out
}()}

// CellCount is how many cells (progress steps) the experiments run.
func CellCount(experiments []string) int {
	n := 0
	for _, e := range experiments {
		n += len(cells[e])
	}
	return n
}

// runCells runs experiment exp's cells one after the other: each timed,
// given rp with the experiment's rerun, and reported; an error names the
// cell.
func runCells[C any, P interface {
	*C
	outcome() *Outcome
	Line() string
}](cfg Config, exp string, rp Repeat, run func(name string) (C, error)) ([]C, error) {
	if cfg.cells == nil { // an experiment run on its own, not by Run
		cfg.cells = new(int)
	}
	rp.Rerun = cfg.rerun(exp)
	var out []C
	for _, name := range cells[exp] {
		*cfg.cells++
		cfg.Progress.Begin(*cfg.cells, CellCount(cfg.Experiments), exp+" "+name)
		start := time.Now()
		c, err := run(name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		o := P(&c).outcome()
		o.Seconds, o.Repeat = time.Since(start).Seconds(), rp
		out = append(out, c)
		cfg.Progress.End(*cfg.cells, CellCount(cfg.Experiments), P(&c).Line())
	}
	return out, nil
}
