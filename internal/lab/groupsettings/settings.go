// Package groupsettings is `kpar lab group-settings`: the consumer settings
// people argue about, measured on a real broker with seeded, checkable
// records.
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
// Config (DefaultConfig, Validate naming the flag) -> Run, each cell
// reported as progress -> Result (schema "kpar.lab.group.settings" v1) ->
// Doc, computed from the Result alone. Each cell says which of its counts
// repeat exactly from the seed (Exact) and why the others move (Why).
package groupsettings

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/env"
	"github.com/kpar/kpar/internal/kafka"
	"github.com/kpar/kpar/internal/lab/labrun"
	"github.com/kpar/kpar/internal/lab/workload"
	"github.com/kpar/kpar/internal/proc"
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

	// Not flags: the experiments' fixed shape, stored in the Result.
	Partitions int // of every input topic
	// AutoCommitInterval is kgo's auto-commit period in the autocommit
	// experiment (kgo's and Java's default is 5 s; shorter keeps a run short
	// while still committing several times before the crash).
	AutoCommitInterval time.Duration
	// Transactions and AbortShare shape the isolation experiment's
	// producer; Hold is how long it keeps one transaction open.
	Transactions int
	AbortShare   float64
	Hold         time.Duration
	// RebalanceTimeout is max.poll.interval.ms in the pollinterval
	// experiment; the slow batch takes Stall.
	RebalanceTimeout, Stall time.Duration
	// CellTimeout ends a cell that has not finished by then (recorded as
	// the cell's failure; the run goes on).
	CellTimeout time.Duration

	// Env: the seeds, the TLS/SASL settings (the member processes get them
	// in their spec line) and the progress: cell i of cellCount begins
	// ("experiment cell") and ends (its line).
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

// Argv is the command line that repeats the run; rerun the one that
// repeats one experiment.
func (c Config) Argv() []string {
	return append([]string{"kpar", "lab", "group-settings", "--experiments", strings.Join(c.Experiments, ","),
		"--seed", fmt.Sprint(c.Seed), "--records", fmt.Sprint(c.Records)}, c.Client.Args()...)
}

func (c Config) rerun(exp string) string {
	c.Experiments = []string{exp}
	return strings.Join(c.Argv(), " ")
}

// Run runs the experiments of cfg one after the other. A cell that fails
// (times out, a member that does not come up) is recorded with its error and
// the run goes on; err is for the lab itself (bad Config, no broker, topics
// that cannot be created), and then there is no Result.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	if err := labrun.Ready("lab group-settings", cfg.Brokers, "", false); err != nil {
		return Result{}, err
	}
	cfg.Seed = workload.PickSeed(cfg.Seed)
	cfg.clientOpts, cfg.cells = cfg.Opts(), new(int)
	res := Result{Run: labrun.New(Kind, cfg.Argv(), cfg.Seed, cfg.Brokers),
		Records: cfg.Records, Partitions: cfg.Partitions, Experiments: cfg.Experiments}
	for _, e := range cfg.Experiments {
		var err error
		switch e {
		case Reset:
			res.Reset, err = runCells(ctx, cfg, Reset, resetRepeat, resetCell)
		case AutoCommit:
			if cfg.Member == nil {
				return Result{}, errors.New("lab group-settings: the autocommit experiment needs a member command")
			}
			res.AutoCommit, err = runCells(ctx, cfg, AutoCommit, autoCommitRepeat, autoCommitCell)
		case Isolation:
			var r []IsolationResult
			if r, err = runCells(ctx, cfg, Isolation, isolationRepeat, isolationCell); err == nil {
				res.Isolation = &r[0]
			}
		case PollInterval:
			res.PollInterval, err = runCells(ctx, cfg, PollInterval, pollRepeat, pollCell)
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

// cellCount is how many cells (progress steps) the experiments run.
func cellCount(experiments []string) int {
	n := 0
	for _, e := range experiments {
		n += len(cells[e])
	}
	return n
}

// runCells runs experiment exp's cells one after the other, each on a kit
// of its own: timed, given rp with the experiment's rerun, and reported; an
// error names the cell.
func runCells[C any, P interface {
	*C
	outcome() *Outcome
	Line() string
}](ctx context.Context, cfg Config, exp string, rp Repeat, run func(context.Context, *cellKit, string) (C, error)) ([]C, error) {
	if cfg.cells == nil { // an experiment run on its own, not by Run
		cfg.cells = new(int)
	}
	rp.Rerun = cfg.rerun(exp)
	var out []C
	for _, name := range cells[exp] {
		*cfg.cells++
		cfg.Progress.Begin(*cfg.cells, cellCount(cfg.Experiments), exp+" "+name)
		start := time.Now()
		k, err := newKit(cfg)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		c, err := run(ctx, k, name)
		k.close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		o := P(&c).outcome()
		o.Seconds, o.Repeat = time.Since(start).Seconds(), rp
		out = append(out, c)
		cfg.Progress.End(*cfg.cells, cellCount(cfg.Experiments), P(&c).Line())
	}
	return out, nil
}

// Seed streams: every random choice is workload.Uint64(seed, stream, ...),
// keyed by what it decides.
const (
	streamRecords = iota + 100
	streamCommit
	streamDelete
	streamCrash
	streamAbort
	streamStall
)

// keys of every input topic's workload.
const keys = 64

// cellKit is what a cell needs on the broker: its clients, and the topics
// and groups it created, removed at the end.
type cellKit struct {
	cfg            Config
	cl             *kgo.Client // producer of the input, admin
	manual         *kgo.Client // producer to the partition a record names
	adm            *kadm.Client
	topics, groups []string
}

func newKit(cfg Config) (*cellKit, error) {
	k := &cellKit{cfg: cfg}
	var err error
	if k.cl, err = k.client(); err != nil {
		return nil, err
	}
	if k.manual, err = k.client(kgo.RecordPartitioner(kgo.ManualPartitioner())); err != nil {
		k.cl.Close()
		return nil, err
	}
	k.adm = kadm.NewClient(k.cl)
	return k, nil
}

// client is a client of the brokers with opts and the security options.
func (k *cellKit) client(opts ...kgo.Opt) (*kgo.Client, error) {
	return kgo.NewClient(append(append([]kgo.Opt{kgo.SeedBrokers(k.cfg.Brokers...)}, opts...), k.cfg.clientOpts...)...)
}

// consumer is a member of group reading topic from the start and committing
// only when told; opts come after those and may override them.
func (k *cellKit) consumer(group, topic string, opts ...kgo.Opt) (*kgo.Client, error) {
	if !slices.Contains(k.groups, group) {
		k.groups = append(k.groups, group)
	}
	return k.client(append([]kgo.Opt{kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(), kgo.FetchMaxWait(200 * time.Millisecond)}, opts...)...)
}

// topic creates a topic named after parts, unique to this cell and run.
func (k *cellKit) topic(ctx context.Context, partitions int, parts ...string) (string, error) {
	name := fmt.Sprintf("kpar-gs-%s-%d-%d", strings.Join(parts, "-"), k.cfg.Seed, time.Now().UnixNano()%1e9)
	if _, err := kafka.Create(ctx, k.adm, []kafka.Topic{{Name: name, Partitions: partitions}}); err != nil {
		return "", err
	}
	k.topics = append(k.topics, name)
	return name, nil
}

// input creates a topic as topic does and writes cfg.Records seeded records
// to it.
func (k *cellKit) input(ctx context.Context, partitions int, parts ...string) (string, error) {
	topic, err := k.topic(ctx, partitions, parts...)
	if err != nil {
		return "", err
	}
	return topic, workload.ProduceInput(ctx, k.cl, topic, workload.Generate(k.cfg.Seed+streamRecords, k.cfg.Records, keys))
}

// close deletes what the cell created, best effort: a group with a static
// member left in it cannot be deleted before its session ends, and a stale
// group costs nothing.
func (k *cellKit) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if len(k.groups) > 0 {
		_, _ = k.adm.DeleteGroups(ctx, k.groups...)
	}
	_ = kafka.Delete(ctx, k.adm, k.topics...)
	k.manual.Close()
	k.cl.Close()
}

// committedThrough reports whether group has committed every partition of
// topic up to its end.
func (k *cellKit) committedThrough(ctx context.Context, group, topic string) bool {
	ends, err := kafka.EndsOf(ctx, k.adm, topic)
	os, ferr := k.adm.FetchOffsets(ctx, group)
	if err != nil || ferr != nil {
		return false
	}
	for p, end := range ends {
		if o, ok := os.Lookup(topic, p); end > 0 && (!ok || o.Err != nil || o.At < end) {
			return false
		}
	}
	return true
}

// seqOf is the record's sequence number, or -1 for a record that is not a
// workload record (markers, probes written otherwise).
func seqOf(r *kgo.Record) int64 {
	rec, err := workload.DecodeRecord(r.Value)
	if err != nil {
		return -1
	}
	return rec.Seq
}
