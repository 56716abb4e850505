// Package group is the consumer-group lab `kpar lab group`: what a
// membership event (a member joins, leaves, is killed, restarts with or
// without static membership) does to a group's processing under each
// assignor of the classic protocol and under the KIP-848 consumer protocol,
// measured on a real broker while a seeded stream runs at a fixed rate.
//
// Config (DefaultConfig, Validate naming the flag) -> Run, the cells one by
// one, each reported as progress -> Result (schema "kpar.lab.group" v1) ->
// Doc, computed from the Result alone. A cell that fails (a member that does
// not come up) is recorded as failed and the run goes on.
//
// The members are separate processes (`kpar child group-member`, RunMember)
// that print one JSON line per processed record and per assignment change;
// every metric is computed from those lines (metrics.go).
package group

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
	"github.com/kpar/kpar/internal/lab/labrun"
	"github.com/kpar/kpar/internal/lab/workload"
	"github.com/kpar/kpar/internal/proc"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Events are the membership events, in the order a run lists them.
var Events = []string{"join", "leave", "kill", "restart-static", "restart-dynamic"}

// Assignors are the classic protocol's client-side assignors and the
// KIP-848 consumer protocol's server-side ones.
var Assignors = []string{"range", "roundrobin", "sticky", "cooperative-sticky", "kip848-uniform", "kip848-range"}

// Members are the member kinds: a plain franz-go poll loop, kpar's parallel
// consumer.
var Members = []string{"plain", "parallel"}

// Protocol is the group protocol an assignor runs on: "consumer" (KIP-848)
// or "classic".
func Protocol(assignor string) string {
	if strings.HasPrefix(assignor, "kip848-") {
		return "consumer"
	}
	return "classic"
}

// Config is one run. The fields a user sets are the command's flags, and
// Validate names the flag of a bad value. Start from DefaultConfig.
type Config struct {
	// Events x Assignors run with plain members; Events x ParallelAssignors
	// with kpar's parallel member. Cell ("event/assignor" or
	// "event/assignor/parallel") runs one cell instead.
	Events            []string
	Assignors         []string
	ParallelAssignors []string
	Cell              string

	// Seed fixes the stream (each record's topic, key and value) and each
	// event's victim (0: picked from the clock by Run).
	Seed int64

	Orders, Payments int           // partitions of the two input topics
	Rate             int           // records/s produced during the stream
	Duration         time.Duration // of the stream
	EventAt          time.Duration // from the stream's start
	Work             time.Duration // handler time per record
	// SessionTimeout is the classic members' session.timeout.ms (how long
	// a killed member keeps its partitions). KIP-848 members cannot set
	// theirs: the broker's group.consumer.session.timeout.ms decides.
	SessionTimeout time.Duration
	// Settle bounds the wait for the group to own every partition before
	// the stream and for a (re)started member to come up; Drain the wait
	// for the whole stream to be processed after it.
	Settle, Drain time.Duration
	Keep          bool

	// Env: the seeds, the TLS/SASL settings (the members get them in their
	// spec line) and the progress: cell i of n begins (its name) and ends
	// (its TextLine).
	env.Env
	clientOpts []kgo.Opt
	// Member starts one member process with its MemberParams: `kpar child
	// group-member` in kpar. MemberStderr receives the members' stderr
	// (nil: only kept as the log tail of a failed cell).
	Member       proc.Starter
	MemberStderr io.Writer

	// consumerSession is the broker's KIP-848 session timeout, read by Run.
	consumerSession time.Duration
}

// DefaultConfig is the short default selection: join, leave and kill under
// cooperative-sticky, range and KIP-848 uniform with plain members, and
// each event with parallel members under cooperative-sticky (12 cells, a
// few minutes; the KIP-848 kill waits out the broker's 45 s session).
func DefaultConfig() Config {
	return Config{
		Events:            []string{"join", "leave", "kill"},
		Assignors:         []string{"cooperative-sticky", "range", "kip848-uniform"},
		ParallelAssignors: []string{"cooperative-sticky"},
		Orders:            6, Payments: 12, Rate: 300,
		Duration: 12 * time.Second, EventAt: 4 * time.Second, Work: 2 * time.Millisecond,
		SessionTimeout: 10 * time.Second, Settle: 30 * time.Second, Drain: 90 * time.Second,
	}
}

// Full is c with the whole matrix: every event, every assignor, plain and
// parallel members.
func (c Config) Full() Config {
	c.Events, c.Assignors, c.ParallelAssignors = slices.Clone(Events), slices.Clone(Assignors), slices.Clone(Assignors)
	return c
}

// Validate checks every flag-backed field; each error names its flag.
func (c Config) Validate() error { return labrun.Check(c.plan) }

// Cells names the cells a valid Config runs, in order.
func (c Config) Cells() []string { return labrun.Cells(c.plan) }

// plan is the cells to run, only their event, assignor and member set.
func (c Config) plan() ([]Cell, error) {
	var plan []Cell
	if c.Cell != "" {
		parts := strings.Split(c.Cell, "/")
		if len(parts) == 2 {
			parts = append(parts, "plain")
		}
		if len(parts) != 3 || !slices.Contains(Members, parts[2]) {
			return nil, fmt.Errorf("--cell %q: want event/assignor or event/assignor/parallel", c.Cell)
		}
		if err := errors.Join(labrun.CheckNames("cell", "event", parts[:1], Events),
			labrun.CheckNames("cell", "assignor", parts[1:2], Assignors)); err != nil {
			return nil, err
		}
		plan = []Cell{{Event: parts[0], Assignor: parts[1], Member: parts[2]}}
	} else {
		if err := errors.Join(labrun.CheckNames("events", "event", c.Events, Events), labrun.CheckNames("assignors", "assignor", c.Assignors, Assignors),
			labrun.CheckNames("parallel", "assignor", c.ParallelAssignors, Assignors)); err != nil {
			return nil, err
		}
		for _, e := range c.Events {
			for _, a := range c.Assignors {
				plan = append(plan, Cell{Event: e, Assignor: a, Member: "plain"})
			}
			for _, a := range c.ParallelAssignors {
				plan = append(plan, Cell{Event: e, Assignor: a, Member: "parallel"})
			}
		}
		if len(plan) == 0 {
			return nil, errors.New("no cell to run: --events and --assignors (or --parallel) must each name at least one")
		}
	}
	if err := flagcheck.AtLeast(flagcheck.Int("seed", c.Seed, 0), flagcheck.Int("orders", c.Orders, 1),
		flagcheck.Int("payments", c.Payments, 1), flagcheck.Int("rate", c.Rate, 1)); err != nil {
		return nil, err
	}
	switch {
	case c.Duration <= 0:
		return nil, fmt.Errorf("--duration %s: must be positive", c.Duration)
	case c.EventAt <= 0 || c.EventAt >= c.Duration:
		return nil, fmt.Errorf("--event-at %s: must fall inside the stream (0 < event-at < --duration %s)", c.EventAt, c.Duration)
	case c.Work < 0:
		return nil, fmt.Errorf("--work %s: must not be negative", c.Work)
	case c.SessionTimeout < 6*time.Second:
		return nil, fmt.Errorf("--session-timeout %s: must be at least 6s (the broker's default group.min.session.timeout.ms)", c.SessionTimeout)
	case c.Settle <= 0:
		return nil, fmt.Errorf("--settle-timeout %s: must be positive", c.Settle)
	case c.Drain <= 0:
		return nil, fmt.Errorf("--drain-timeout %s: must be positive", c.Drain)
	}
	return plan, nil
}

// command is the command line with sel (which cells) and the flags every
// rerun repeats.
func (c Config) command(sel ...string) []string {
	a := append([]string{"kpar", "lab", "group"}, sel...)
	a = append(a, "--seed", fmt.Sprint(c.Seed), "--orders", fmt.Sprint(c.Orders), "--payments", fmt.Sprint(c.Payments),
		"--rate", fmt.Sprint(c.Rate), "--duration", c.Duration.String(), "--event-at", c.EventAt.String(),
		"--work", c.Work.String(), "--session-timeout", c.SessionTimeout.String())
	return append(a, c.Client.Args()...)
}

// Rerun is the command line that repeats one cell as configured.
func (c Config) Rerun(name string) string { return strings.Join(c.command("--cell", name), " ") }

// Argv is the command line that repeats the whole run.
func (c Config) Argv() []string {
	if c.Cell != "" {
		return c.command("--cell", c.Cell)
	}
	par := strings.Join(c.ParallelAssignors, ",")
	if par == "" {
		par = "none"
	}
	return c.command("--events", strings.Join(c.Events, ","), "--assignors", strings.Join(c.Assignors, ","), "--parallel", par)
}

// Run runs every cell of cfg, one after the other. A cell that fails is
// recorded with its error and the run goes on; err is for a bad Config or a
// cancelled context, and then there is no Result.
func Run(ctx context.Context, cfg Config) (Result, error) {
	plan, err := cfg.plan()
	if err != nil {
		return Result{}, err
	}
	if err := labrun.Ready("lab group", cfg.Brokers, "member", cfg.Member != nil); err != nil {
		return Result{}, err
	}
	cfg.Seed = workload.PickSeed(cfg.Seed)
	cfg.clientOpts = cfg.Opts()
	res := Result{Run: labrun.New(Kind, cfg.Argv(), cfg.Seed, cfg.Brokers),
		SessionTimeoutMs: ms(cfg.SessionTimeout), ConsumerSessionTimeoutMs: consumerSessionTimeout(ctx, cfg.Brokers, cfg.clientOpts...)}
	cfg.consumerSession = 45 * time.Second // Kafka's default, when the broker does not say
	if res.ConsumerSessionTimeoutMs > 0 {
		cfg.consumerSession = time.Duration(res.ConsumerSessionTimeoutMs) * time.Millisecond
	}
	for i, p := range plan {
		cfg.Progress.Begin(i+1, len(plan), p.Name())
		start := time.Now()
		cell := runCell(ctx, cfg, p)
		if ctx.Err() != nil {
			return Result{}, ctx.Err()
		}
		cell.Rerun, cell.Seconds = cfg.Rerun(p.Name()), time.Since(start).Seconds()
		res.Cells = append(res.Cells, cell)
		cfg.Progress.End(i+1, len(plan), TextLine(i+1, len(plan), cell))
	}
	res.Finish()
	return res, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
