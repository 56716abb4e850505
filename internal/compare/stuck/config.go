// Package stuck measures the out-of-order window of kpar's parallel
// consumer and of Confluent's Parallel Consumer (PC): one record per
// partition whose handler is stuck while every other record is fast.
//
// Each library runs twice on the same topic, each time as its own OS
// process with a fresh group:
//
//   - run through: the records stay stuck until the plateau (the
//     consumer stops taking records or runs out of them) has been
//     measured, then are released. Measured: the completions held above
//     the committed offset, the group's commit metadata, and whether every
//     record is then processed exactly once and committed.
//   - restart: at the plateau, once the commits held still for
//     Config.Settle, the process is SIGKILLed with its stuck records held
//     and a fresh one of the same group finishes the topic. Measured: the
//     records both processes processed (replays).
//
// The stuck records are held by an event, not a timer: each consumer
// process blocks them until this one writes ReleaseLine on its stdin;
// Config.MaxHold only bounds the wait for a plateau that does not come.
// Every count comes from the processed logs the consumers append to
// ("partition offset" per record, before the handler returns) and from
// the group's committed offsets, never from a library's own account.
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
	// Topic is created and filled when missing or empty; "": a name from
	// the sizes, reused between runs.
	Topic               string
	Partitions          int
	RecordsPerPartition int
	Keys                int            // record keys "k<i % Keys>", spread over the partitions by key hash
	Order               parallel.Order // both libraries: key (PC KEY), partition (PARTITION), none (UNORDERED)

	StuckOffset int64 // per partition, the record at this offset is stuck (the topic's offsets run from 0 without gaps)
	// MaxHold bounds the wait for the plateau with the records stuck.
	MaxHold     time.Duration
	Concurrency int // kpar MaxConcurrency and PC maxConcurrency
	// SessionTimeout (0: each client's default, 45 s) sets how long the
	// restarted process waits for the group to expire the killed one;
	// nothing measured depends on it.
	SessionTimeout time.Duration
	PCJVMFlags     []string // none: the JVM's default heap

	// Poll is how often the commits, the processed logs and the progress
	// lines are sampled. Settle is how long the records processed, the
	// held count and the commits must stay unchanged to call the plateau:
	// longer than PC's default commit interval (5 s), so its last commit
	// lands within it. Drain bounds the wait, after the release or the
	// restart, for every record to be committed (past it: stalled).
	Poll   time.Duration
	Settle time.Duration
	Drain  time.Duration

	Only  []string     // the libraries run (default both)
	Child proc.Starter `json:"-"` // starts `kpar child window-kpar` (RunChild)
	Dir   string       // for the processed logs; default a temp dir, removed after

	// Env: PC's harness gets the TLS/SASL settings as a file in the run's
	// directory, which the JVM deletes once read.
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
