// Package consume is `kpar bench consume`: the parallel consumer measured
// against a real broker (never kfake). Three measurements:
//
//   - io: records with a sleeping handler under the configured order, against
//     the ideal min(concurrency, keys or partitions) / sleep;
//   - cpu: a no-op handler against a plain franz-go poll loop over the same
//     topic in the same run (with kgo's default fetch size and with the
//     parallel run's; the faster is the reference);
//   - rss: peak RSS (VmHWM) of a child process consuming a large backlog.
//
// The shape: Config (Validate names the flag) -> Run(ctx, Config) ->
// Result (schema Schema/Version) with the ideal, the efficiencies, the
// "bound by" verdict and the targets computed here, once -> Markdown and
// Text, which read only the Result.
package consume

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

// Config is one consumer bench. Topics are named after their sizes and
// reused between runs.
type Config struct {
	TopicPrefix string
	Partitions  int
	Keys        int // distinct record keys
	ValueSize   int // record value bytes

	Records       int64          // io: records to consume
	Sleep         time.Duration  // io: handler latency
	Concurrency   int            // io: max concurrency
	Order         parallel.Order // io: ordering
	IOMaxBuffered int            // io: MaxBuffered
	IOPerPart     int            // io: MaxBufferedPerPartition
	// Transactional runs io with parallel.NewTransform: one output per
	// record, to <TopicPrefix>-out, in the transactions that commit them.
	Transactional bool
	// CommitInterval is io's parallel.CommitInterval (0: back to back,
	// the library's default).
	CommitInterval time.Duration

	// CPURecords is the records each cpu contender consumes; 0 (the
	// default) sizes it from a calibration run of the fastest contender so
	// that its window lasts about 2 x MinWindow (see Calibration).
	CPURecords int64
	// CPURecordsMax bounds what CPURecords 0 may choose: a machine fast
	// enough to need more is refused, naming the flags.
	CPURecordsMax  int64
	CPUConcurrency int   // cpu and rss: max concurrency of the no-op runs
	RSSRecords     int64 // rss: backlog consumed by the child
	MaxBuffered    int   // cpu and rss: MaxBuffered
	PerPart        int   // cpu and rss: MaxBufferedPerPartition
	// FetchMaxBytes is kgo.FetchMaxBytes for the parallel consumer in cpu
	// and rss (0: the library's default, which adapts to the records).
	FetchMaxBytes int32

	Only []string // measurements to run: any of "io", "cpu", "rss"

	// Repeat is how many times io runs, and the cpu contenders run
	// interleaved (kpar, plain with kpar's fetch size, plain with kgo's
	// default, then again).
	Repeat int
	// MinWindow is the shortest measured window (internal/clock) accepted:
	// a contender whose window is shorter fails the run with the records
	// it would need.
	MinWindow time.Duration
	// StallTimeout ends a run (io, cpu, rss, the calibration) in which no
	// record was handled for this long, with one line naming the brokers:
	// a broker that stops answering would leave it waiting forever.
	StallTimeout time.Duration

	// RSSChild starts the rss child (`kpar child consume-rss` with an
	// RSSSpec, reaching RSSChild). Needed when rss runs.
	RSSChild proc.Starter
	// Env: the brokers, the client options (TLS, SASL) every client of
	// the run takes (the rss child gets its own from its spec line), the
	// command line stored in the result, and the progress notes.
	env.Env
}

// DefaultConfig is the flag defaults of `kpar bench consume`.
func DefaultConfig() Config {
	return Config{
		TopicPrefix: "kpar-bench-consume", Partitions: 12, Keys: 1000, ValueSize: 100,
		Records: 1_200_000, Sleep: 5 * time.Millisecond, Concurrency: 500, Order: parallel.OrderKey,
		IOMaxBuffered: 60_000, IOPerPart: 5_000,
		CPURecords: 0, CPURecordsMax: 150_000_000, CPUConcurrency: 8, RSSRecords: 2_000_000, MaxBuffered: 10_000, PerPart: 2_000,
		Only:   []string{"io", "cpu", "rss"},
		Repeat: 3, MinWindow: 10 * time.Second, StallTimeout: 30 * time.Second,
	}
}

// Measurements are the names Only accepts.
var Measurements = []string{"io", "cpu", "rss"}

// Validate checks everything that can be checked without a broker; every
// error names its flag.
func (c Config) Validate() error {
	if err := flagcheck.AtLeast(flagcheck.Int("partitions", c.Partitions, 1), flagcheck.Int("keys", c.Keys, 1),
		flagcheck.Int("value-size", c.ValueSize, 0), flagcheck.Int("records", c.Records, 1), flagcheck.Int("concurrency", c.Concurrency, 1),
		flagcheck.Int("io-max-buffered", c.IOMaxBuffered, 1), flagcheck.Int("io-max-buffered-per-partition", c.IOPerPart, 1),
		flagcheck.Int("cpu-records", c.CPURecords, 0), flagcheck.Int("cpu-records-max", c.CPURecordsMax, 1),
		flagcheck.Int("cpu-concurrency", c.CPUConcurrency, 1), flagcheck.Int("rss-records", c.RSSRecords, 1),
		flagcheck.Int("max-buffered", c.MaxBuffered, 1), flagcheck.Int("max-buffered-per-partition", c.PerPart, 1),
		flagcheck.Int("fetch-max-bytes", int64(c.FetchMaxBytes), 0), flagcheck.Int("repeat", c.Repeat, 1)); err != nil {
		return err
	}
	for _, m := range c.Only {
		if !slices.Contains(Measurements, m) {
			return fmt.Errorf("--only: unknown measurement %q (want io, cpu, rss)", m)
		}
	}
	switch {
	case c.TopicPrefix == "":
		return errors.New("--topic-prefix: empty")
	case c.CommitInterval < 0:
		return fmt.Errorf("--commit-interval %s: must not be negative (0: back to back)", c.CommitInterval)
	case c.MinWindow <= 0:
		return fmt.Errorf("--min-window %s: must be more than 0 (the shortest measured window a rate is reported from)", c.MinWindow)
	case c.StallTimeout <= 0:
		return fmt.Errorf("--stall-timeout %s: must be more than 0 (how long a run may handle nothing before it fails)", c.StallTimeout)
	case c.Sleep <= 0:
		return fmt.Errorf("--sleep %s: must be more than 0 (the ideal rate is concurrency / sleep)", c.Sleep)
	case c.Order < parallel.OrderKey || c.Order > parallel.OrderNone:
		return fmt.Errorf("--order %d: unknown", int(c.Order))
	case len(c.Only) == 0:
		return errors.New("--only: no measurement given (want io, cpu, rss)")
	case c.runs("rss") && c.RSSChild == nil:
		return errors.New("--only rss needs a child command (Config.RSSChild)")
	}
	return nil
}

func (c Config) runs(m string) bool { return slices.Contains(c.Only, m) }
