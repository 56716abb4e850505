// Package producer is `kpar lab producer`: what acks, idempotence, the
// number of requests in flight and unclean leader election lose,
// duplicate and reorder when brokers fail under a producer.
//
// A cell is one Setting under one fault on a 3-node cluster (RF 3, min ISR
// 2). Seeded producers write records carrying a producer id, a key and a
// per-key sequence; mid-stream the node leading every partition of the
// cell's topic is killed, frozen, or the nodes are restarted in turn. Each
// record's answer (acked, failed with the error, never answered) is kept;
// once the cluster healed, every partition is read back with franz-go and
// with kcat, and a kpar `parallel` consumer that read throughout is
// checked against what the topic holds. Count is the comparison.
//
// The seed fixes every record's key and sequence, the victim node, the
// partition layout, the record count at which the fault starts and the
// rolling order. The counts are timing-dependent: what a follower had
// fetched when its leader died moves by milliseconds. Each cell says so.
package producer

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/kpar/kpar/internal/env"
	"github.com/kpar/kpar/internal/flagcheck"
	"github.com/kpar/kpar/internal/lab/labrun"
	"github.com/kpar/kpar/internal/lab/workload"
)

// Config is one run of the lab.
type Config struct {
	// Env: the Brokers of a given 3-node cluster (empty: the lab starts its
	// own under Home on Port and stops it at the end); the TLS/SASL settings
	// of every client and of kcat's cross-check (a given cluster only: the
	// lab's own is plaintext); the command line; the progress: each cell's
	// "[i/n] name" line and Begin, its steps as lines, its End with CellLine.
	env.Env
	// Home is where the cluster's state.json (its pids) is recorded: the
	// lab's own home, or the KPAR_HOME a given cluster was started under.
	Home        string
	Port        int    // first client port of the lab's own cluster
	Heap        string // JVM heap per node of the lab's own cluster
	KeepCluster bool   // leave the lab's own cluster running

	Seed     int64
	Settings []string // setting names (see SettingNames)
	Faults   []string // fault names (see FaultNames)
	Cell     string   // setting/fault: run that cell only
	Full     bool     // every setting under every fault but none

	Producers  int // producer clients, each its own producer id
	Keys       int // keys per producer
	Partitions int
	Rate       int // records/s over all producers
	ValueBytes int
	// Warmup: producing before the fault (plus a seeded fraction of a
	// second, as a record count); Tail: after the cluster healed.
	Warmup, Tail time.Duration
	// Freeze holds the freeze fault's node stopped longer than the brokers'
	// session timeout, so the controller fences it and moves its leaderships.
	Freeze time.Duration
	// DeliveryTimeout is Java's delivery.timeout.ms: a record not acked by
	// then fails. Flush bounds the wait for the last answers (records still
	// unanswered are Unreported); ConsumerTimeout the wait for the parallel
	// consumer to process what the topic holds.
	DeliveryTimeout, Flush, ConsumerTimeout time.Duration
	KeepTopics                              bool
}

// SessionTimeout is the brokers' broker.session.timeout.ms (Kafka's
// default; kpar's broker does not change it): a node silent this long is
// fenced and loses its leaderships.
const SessionTimeout = 9 * time.Second

// DefaultPort is the lab's own cluster's first client port: 28092-28094,
// controllers 28192-28194, apart from kpar broker up (9092) and the tests.
const DefaultPort = 28092

// DefaultConfig is the short default run: three settings under a leader
// kill and a freeze.
func DefaultConfig() Config {
	return Config{
		Port:            DefaultPort,
		Heap:            "512M",
		Settings:        []string{"acks1-if5", "all-if5", "all-idem"},
		Faults:          []string{FaultLeaderKill, FaultFreeze},
		Producers:       2,
		Keys:            32,
		Partitions:      6,
		Rate:            2000,
		ValueBytes:      100,
		Warmup:          3 * time.Second,
		Tail:            3 * time.Second,
		Freeze:          15 * time.Second,
		DeliveryTimeout: 30 * time.Second,
		Flush:           60 * time.Second,
		ConsumerTimeout: 60 * time.Second,
	}
}

// FullFaults are the faults --full crosses with every setting.
var FullFaults = []string{FaultLeaderKill, FaultFreeze, FaultRolling}

// Validate checks the Config; every error names its flag.
func (c Config) Validate() error {
	if err := flagcheck.AtLeast(flagcheck.Int("seed", c.Seed, 0), flagcheck.Int("producers", c.Producers, 1),
		flagcheck.Int("keys", c.Keys, 1), flagcheck.Int("partitions", c.Partitions, 1), flagcheck.Int("rate", c.Rate, 10),
		flagcheck.Int("value-bytes", c.ValueBytes, 48)); err != nil {
		return err
	}
	if c.Producers > 64 {
		return fmt.Errorf("--producers %d: at most 64 (each is a client with its own connections)", c.Producers)
	}
	if len(c.Brokers) == 0 && (c.Port < 1024 || c.Port+100+Nodes > 32767) {
		return fmt.Errorf("--port %d: the lab's cluster needs %d..%d and %d..%d below 32768; choose a base between 1024 and %d",
			c.Port, c.Port, c.Port+Nodes-1, c.Port+100, c.Port+100+Nodes-1, 32767-100-Nodes)
	}
	if len(c.Brokers) == 0 && strings.TrimSpace(c.Heap) == "" {
		return fmt.Errorf("--heap: empty (e.g. 512M)")
	}
	if c.Freeze <= SessionTimeout {
		return fmt.Errorf("--freeze %s: must be longer than the brokers' session timeout (broker.session.timeout.ms, %s), or the node is never fenced", c.Freeze, SessionTimeout)
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{
		{"warmup", c.Warmup}, {"delivery-timeout", c.DeliveryTimeout}, {"flush", c.Flush}, {"consumer-timeout", c.ConsumerTimeout},
	} {
		if d.v <= 0 {
			return fmt.Errorf("--%s %s: must be positive", d.flag, d.v)
		}
	}
	if c.Tail < 0 {
		return fmt.Errorf("--tail %s: must not be negative", c.Tail)
	}
	if c.Cell != "" {
		st, ft, err := parseCell(c.Cell)
		if err == nil {
			err = oneOf(fmt.Sprintf("--cell %q", c.Cell), "setting", SettingNames(), st)
		}
		if err == nil {
			err = oneOf(fmt.Sprintf("--cell %q", c.Cell), "fault", FaultNames, ft)
		}
		return err
	}
	if c.Full {
		return nil
	}
	if err := oneOf("--settings", "setting", SettingNames(), c.Settings...); err != nil {
		return err
	}
	return oneOf("--faults", "fault", FaultNames, c.Faults...)
}

// oneOf refuses no names, or a name not among known; the error starts with
// prefix (the flag).
func oneOf(prefix, what string, known []string, names ...string) error {
	if len(names) == 0 {
		return fmt.Errorf("%s: none given (one or more of %s)", prefix, strings.Join(known, ", "))
	}
	for _, n := range names {
		if !slices.Contains(known, n) {
			return fmt.Errorf("%s: unknown %s %q (one of %s)", prefix, what, n, strings.Join(known, ", "))
		}
	}
	return nil
}

// CellSpec is one planned cell.
type CellSpec struct {
	Setting Setting
	Fault   string
}

// Name is the cell's --cell value.
func (s CellSpec) Name() string { return CellName(s.Setting.Name, s.Fault) }

// Cells is the plan: --cell alone, --full's matrix, or settings x faults,
// setting-major so a setting's cells sit together.
func (c Config) Cells() []CellSpec {
	names, faults := c.Settings, c.Faults
	if c.Full {
		names, faults = SettingNames(), FullFaults
	}
	if c.Cell != "" {
		st, ft, _ := parseCell(c.Cell)
		names, faults = []string{st}, []string{ft}
	}
	var out []CellSpec
	for _, n := range names {
		s, _ := LookupSetting(n)
		for _, f := range faults {
			out = append(out, CellSpec{Setting: s, Fault: f})
		}
	}
	return out
}

// CellSeed is a cell's own seed: a function of the run's seed and the cell's
// name only, so `--seed S --cell X` repeats cell X of any run with seed S.
func CellSeed(seed int64, name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return int64(workload.Uint64(seed, 7, h.Sum64()) >> 1)
}

func (c Config) progress(s string) { c.Progress.Print(s) }

// Run runs every cell of the plan on the lab's own cluster or the given
// one. A fault it cannot apply (a cluster kpar did not start: no pid to
// signal) is refused before any cell runs.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	res := Result{Run: labrun.New(Kind, cfg.Command, cfg.Seed, nil), Params: Params{Producers: cfg.Producers,
		Keys: cfg.Keys, Partitions: cfg.Partitions, Rate: cfg.Rate, ValueBytes: cfg.ValueBytes, WarmupSeconds: cfg.Warmup.Seconds(),
		TailSeconds: cfg.Tail.Seconds(), FreezeSeconds: cfg.Freeze.Seconds(), DeliveryTimeoutSeconds: cfg.DeliveryTimeout.Seconds()}}
	specs := cfg.Cells()
	cl, err := openCluster(ctx, cfg)
	if err != nil {
		return res, err
	}
	defer func() { cl.close(cfg, ctx.Err() != nil) }()
	res.Brokers, res.OwnCluster = cl.seeds, cl.own
	if cl.faults == nil {
		for _, s := range specs {
			if s.Fault != FaultNone {
				return res, fmt.Errorf("fault %s cannot be applied to %s: %s. Refusing rather than skipping it: "+
					"omit --brokers so the lab starts its own cluster, or run only --faults none",
					s.Fault, strings.Join(cl.seeds, ","), cl.noFaults)
			}
		}
	}
	for i, s := range specs {
		cfg.Progress.Print(fmt.Sprintf("[%d/%d] %s", i+1, len(specs), s.Name()))
		cfg.Progress.Begin(i+1, len(specs), s.Name())
		c, err := runCell(ctx, cl, cfg, s)
		if err != nil {
			return res, fmt.Errorf("cell %s: %w", s.Name(), err)
		}
		res.Cells = append(res.Cells, c)
		cfg.Progress.End(i+1, len(specs), CellLine(i+1, len(specs), c))
	}
	res.judge()
	res.Finish()
	return res, nil
}

// CellLine is one finished cell in the text output.
func CellLine(i, total int, c Cell) string {
	k := c.Counts
	plain := func(_ string, n int) string { return fmt.Sprint(n) }
	line := fmt.Sprintf("[%d/%d] %-26s sent %6d  acked %s  failed %4d  unanswered %4d  LOST %s  readers disagreed %d  dup %4d  reord %4d  failed-but-written %3d  consumer missed %d  %s  %.0fs",
		i, total, c.Name, k.Sent, AckedText(c), k.Failed, k.Unreported, LostText(c, plain), k.Disagreed, k.Duplicated, k.Reordered, k.FailedPresent,
		c.Consumer.Missed, KcatText(c), c.Seconds)
	if k.Disagreed > 0 {
		line += "  readers: " + ReadersText(c)
	}
	return line
}
