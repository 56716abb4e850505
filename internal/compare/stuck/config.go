// Package stuck measures the out-of-order window of kpar's parallel
// consumer and of Confluent's Parallel Consumer (PC): one record per
// partition whose handler is stuck while every other record is fast.
//
// For each library, on the same topic and records, each run with a fresh
// group and each consumer a separate OS process:
//
//   - run through: the records stay stuck until the plateau has been
//     measured, then this process releases them. Measured: how many
//     completions the consumer holds above the committed offset (the stuck
//     record) once it stops taking records or runs out of them (the
//     plateau), how large the group's commit metadata gets (read with kadm
//     while the records are stuck), and whether, once they finish, every
//     record is processed exactly once and committed.
//   - restart: the same start; at the plateau, once the group's commits
//     have not moved for Config.Settle, the process is SIGKILLed with its
//     stuck records still held and a fresh one (same library and group, no
//     stuck record) finishes the topic. Measured: records processed by both
//     processes (replays).
//
// The stuck records are held by an event, not a timer: each consumer
// process (kpar's child, PC's harness) blocks them until this process
// writes ReleaseLine on its stdin, so the plateau is always measured while
// they are stuck. Config.MaxHold only bounds the wait for a plateau that
// does not come (the figures then say there was none).
//
// Every count comes from what the consumers appended to their processed
// logs ("partition offset" per record, written before the handler returns)
// and from the group's committed offsets; nothing relies on a library's
// own account. Shape: Config -> Run -> Result -> Markdown and Chart.
package stuck

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/kpar/kpar/internal/env"
	"github.com/kpar/kpar/internal/flagcheck"
	"github.com/kpar/kpar/internal/proc"
	"github.com/kpar/kpar/parallel"
)

// Libraries are the contenders, in the order they run.
var Libraries = []string{"kpar", "pc"}

// Config is one window experiment.
type Config struct {
	// Topic is created with Partitions and filled with RecordsPerPartition
	// records per partition when missing or empty; default (empty) a name
	// derived from the sizes, reused between runs.
	Topic               string
	Partitions          int
	RecordsPerPartition int
	Keys                int            // record keys "k<i % Keys>", spread over the partitions by key hash
	Order               parallel.Order // both libraries: key (PC KEY), partition (PARTITION), none (UNORDERED)

	StuckOffset int64 // per partition, the record at this offset is stuck (the topic's offsets run from 0 without gaps)
	// MaxHold bounds how long a run waits for the plateau with the records
	// stuck: at the plateau (or at MaxHold without one) the run through
	// releases them and the restart kills the process. It is not how long
	// they are stuck: that is until the plateau, however long it takes
	// within this bound.
	MaxHold     time.Duration
	Concurrency int // kpar MaxConcurrency and PC maxConcurrency
	// SessionTimeout is both consumers' group session timeout (0: each
	// client's default, 45 s). It sets how long the restarted process
	// waits for the group to expire the killed one; nothing measured
	// depends on it.
	SessionTimeout time.Duration

	// PCJVMFlags go to PC's JVM; none: the JVM's default heap.
	PCJVMFlags []string

	// Poll is how often the group's commits, the processed logs and the
	// progress lines are sampled. Settle is how long the records processed,
	// the held count and the group's commits must stay unchanged to call
	// the plateau: longer than PC's default commit interval (5 s,
	// ParallelConsumerOptions.DEFAULT_COMMIT_INTERVAL), so its last commit
	// lands within it.
	Poll   time.Duration
	Settle time.Duration
	// Drain bounds how long a run waits, after the stuck records finished
	// (or after the restart), for the group to commit every record; past
	// it the partitions still short are reported as stalled.
	Drain time.Duration

	// Only restricts the libraries run (default both).
	Only []string

	// Child starts the kpar consumer process (`kpar child window-kpar`
	// with a ChildSpec, reaching RunChild).
	Child proc.Starter `json:"-"`
	Dir   string       // working directory for the processed logs; default a temp dir, removed after

	// Env: the brokers; the resolved TLS/SASL settings (Opts for this
	// process's clients, Java for PC's harness: a file per run in the
	// run's directory, which the JVM deletes once read; KparChild adds the
	// flags for its process); the command line; the progress notes.
	env.Env `json:"-"`
}

// DefaultConfig is the full experiment: 12 partitions of 40,000 records
// (beyond kpar's window of about 24,000 offsets at 4,096 metadata bytes, so
// its limit shows), stuck at offset 100 until the plateau (waited for at
// most 3 minutes), concurrency 500.
func DefaultConfig() Config {
	return Config{
		Partitions: 12, RecordsPerPartition: 40_000, Keys: 1000, Order: parallel.OrderKey,
		StuckOffset: 100, MaxHold: 3 * time.Minute, Concurrency: 500,
		Poll: 200 * time.Millisecond, Settle: 6 * time.Second, Drain: 3 * time.Minute,
		Only: Libraries,
	}
}

// Validate checks what can be checked without a broker (Brokers may still
// be empty: Run needs them); every error names its flag.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for _, m := range []flagcheck.Min{
		flagcheck.Int("partitions", c.Partitions, 1),
		flagcheck.Int("window-records", c.RecordsPerPartition, 2),
		flagcheck.Int("keys", c.Keys, 1),
		flagcheck.Int("window-stuck-offset", c.StuckOffset, 0),
		flagcheck.Int("window-concurrency", c.Concurrency, 1),
	} {
		if err := m.Err(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.RecordsPerPartition > 0 && c.StuckOffset >= int64(c.RecordsPerPartition)-1 {
		bad("--window-stuck-offset %d: must be below --window-records %d minus 1 (records must follow the stuck one)",
			c.StuckOffset, c.RecordsPerPartition)
	}
	if c.MaxHold < time.Second {
		bad("--window-stuck %v: must be at least 1s", c.MaxHold)
	}
	if c.Poll <= 0 || c.Poll%time.Millisecond != 0 {
		bad("--window-poll %v: must be more than 0, in whole milliseconds", c.Poll)
	}
	if c.Settle < c.Poll {
		bad("--window-settle %v: must be at least --window-poll %v", c.Settle, c.Poll)
	}
	if c.Settle >= c.MaxHold {
		bad("--window-settle %v: must be below --window-stuck %v (a plateau must be able to show within the bound)", c.Settle, c.MaxHold)
	}
	if c.SessionTimeout < 0 || c.SessionTimeout%time.Millisecond != 0 {
		bad("--window-session-timeout %v: must be 0 (the clients' default) or more, in whole milliseconds", c.SessionTimeout)
	}
	if c.Drain <= 0 {
		bad("--window-drain %v: must be more than 0", c.Drain)
	}
	if c.Order < parallel.OrderKey || c.Order > parallel.OrderNone {
		bad("--window-order %d: unknown", int(c.Order))
	}
	if len(c.Only) == 0 {
		bad("--window-only: no library given (want kpar, pc)")
	}
	for _, l := range c.Only {
		if !slices.Contains(Libraries, l) {
			bad("--window-only: unknown library %q (want kpar, pc)", l)
		}
	}
	if slices.Contains(c.Only, "kpar") && c.Child == nil {
		bad("--window-only kpar needs the kpar child command (Config.Child)")
	}
	for _, f := range c.PCJVMFlags {
		if len(f) == 0 || f[0] != '-' {
			bad("--window-pc-jvm %q: JVM flags start with '-'", f)
		}
	}
	return errors.Join(errs...)
}

// pcOrdering is PC's ProcessingOrder for o.
func pcOrdering(o parallel.Order) string {
	return map[parallel.Order]string{parallel.OrderKey: "KEY", parallel.OrderPartition: "PARTITION", parallel.OrderNone: "UNORDERED"}[o]
}
