// Package compare is `kpar compare consume`: kpar's parallel consumer side
// by side with Confluent's Parallel Consumer (PC, Java, package
// confluentpc), share groups and a plain franz-go poll loop, on the same
// broker, topics, records and handler work, in one run. Every contender is
// its own OS process, so CPU and peak RSS (rusage) are per process and
// comparable. Three measurements:
//
//   - io: key order, a sleeping handler, at each concurrency: steady
//     records/s, its share of the ideal min(concurrency, keys) / measured
//     mean handler time, CPU-s per million records;
//   - noop: a no-op handler: records/s and CPU-s per million, the plain
//     loop as the floor reference;
//   - rss: peak RSS over a backlog, then PC's heap search: PC with kpar's
//     fetch sizes under capped heaps, the smallest that finished (not
//     finishing is a result).
//
// Every contender is timed by internal/clock's rule in the process that
// handles the records (child.go; PC's harness in Java) and stops at n
// distinct records; a rate window under Config.MinWindow fails its part,
// kept in Result.Failures while the others stay. Plus the comparison
// table: static, sourced facts and lines of code counted at run time
// (loc.go). Config (Validate names the flag) -> Run -> Result (ratios,
// targets and verdicts computed here, once) -> Doc, read from the Result.
package compare

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/kpar/kpar/internal/env"
	"github.com/kpar/kpar/internal/flagcheck"

	"github.com/kpar/kpar/internal/compare/stuck"
	"github.com/kpar/kpar/internal/confluentpc"
	"github.com/kpar/kpar/internal/proc"
)

// Config is one comparison. Topics are named after their sizes and reused
// between runs (only missing records are produced).
type Config struct {
	TopicPrefix string
	Partitions  int
	// Keys is the distinct record keys of the io topics; above Keys/2 in
	// flight the topic has 2 x concurrency keys, so the concurrency sets
	// the ideal (1,000 keys at 16 and 500, 10,000 at 5,000).
	Keys      int
	ValueSize int

	Concurrencies []int         // io: max concurrency of each run, both libraries
	IORecords     int64         // io: records per run
	Sleep         time.Duration // io: handler latency (whole milliseconds: PC's harness sleeps in ms)

	NoopRecords       int64 // noop: records per run
	NoopConcurrency   int   // noop and rss: max concurrency of both libraries (PC's default, 16)
	RSSRecords        int64 // rss: the backlog each process consumes
	DeadLetterRecords int64 // the share-mode dead-letter part's records per run; 0 skips it

	// PCHeap is where PC's heap search starts: "auto" is kpar's peak RSS
	// rounded up to whole MiB, else a JVM size such as "512m". HeapSteps
	// is the most capped PC runs it makes; HeapTimeout bounds each (0:
	// three times PC's default-heap run, at least a minute, at most
	// Timeout, which bounds every single run).
	PCHeap      string
	HeapSteps   int
	HeapTimeout time.Duration
	Timeout     time.Duration

	// Repeat is the runs of every io and no-op contender, interleaved.
	// MinWindow is the shortest measured window (internal/clock) a rate
	// run may have: a shorter one fails its part.
	Repeat    int
	MinWindow time.Duration

	// KparMaxBuffered and KparPerPart are parallel.MaxBuffered and
	// MaxBufferedPerPartition of kpar's runs (0: the library's defaults).
	KparMaxBuffered int
	KparPerPart     int

	SourceRoot string       // the module root whose sources the lines-of-code row counts
	Child      proc.Starter // starts `kpar child compare-kpar|compare-plain|compare-share`

	// ShareMembers is the member clients of every share contender (the
	// bare share consumer, kpar's share mode, ShareConsumerPerformance's
	// --threads); KparShare also runs kpar's share mode.
	ShareMembers int
	KparShare    bool

	// Window, when set, also runs the out-of-order window measurement.
	Window *stuck.Config

	// pcRun and javaShareRun stand in for confluentpc.Run and
	// ShareConsumerPerformance in tests (nil: the real ones).
	pcRun        func(context.Context, confluentpc.Config) (confluentpc.Result, error)
	javaShareRun func(ctx context.Context, args []string) (JavaShare, error)

	// Env: the TLS/SASL settings go to the children in their spec line
	// and to the JVMs as a 0600 file per run.
	env.Env
}

// DefaultConfig is the full matrix, the flag defaults of `kpar compare
// consume`.
func DefaultConfig() Config {
	return Config{
		TopicPrefix: "kpar-compare", Partitions: 12, Keys: 1000, ValueSize: 100,
		Concurrencies: []int{16, 500, 5000}, IORecords: 60_000, Sleep: 5 * time.Millisecond,
		NoopRecords: 1_000_000, NoopConcurrency: 16, RSSRecords: 2_000_000, DeadLetterRecords: 1_000_000,
		PCHeap: "auto", HeapSteps: 5, Timeout: 5 * time.Minute,
		ShareMembers: 2, KparShare: true, Repeat: 1, MinWindow: 10 * time.Second,
	}
}

// heapRe is what -Xmx accepts: a number with an optional k/m/g unit.
var heapRe = regexp.MustCompile(`^[1-9][0-9]*[kKmMgG]?$`)

// Validate checks everything that can be checked without a broker or a
// JVM (the lines-of-code regions included); every error names its flag.
func (c Config) Validate() error {
	if c.TopicPrefix == "" {
		return errors.New("--topic-prefix: empty")
	}
	if err := flagcheck.AtLeast(flagcheck.Int("partitions", c.Partitions, 1), flagcheck.Int("keys", c.Keys, 1),
		flagcheck.Int("value-size", c.ValueSize, 0), flagcheck.Int("io-records", c.IORecords, 1),
		flagcheck.Int("noop-records", c.NoopRecords, 1), flagcheck.Int("noop-concurrency", c.NoopConcurrency, 1),
		flagcheck.Int("rss-records", c.RSSRecords, 1), flagcheck.Int("dlq-records", c.DeadLetterRecords, 0),
		flagcheck.Int("kpar-max-buffered", c.KparMaxBuffered, 0), flagcheck.Int("kpar-max-buffered-per-partition", c.KparPerPart, 0),
		flagcheck.Int("share-members", c.ShareMembers, 1), flagcheck.Int("repeat", c.Repeat, 1),
		flagcheck.Int("pc-heap-steps", c.HeapSteps, 0)); err != nil {
		return err
	}
	if len(c.Concurrencies) == 0 {
		return errors.New("--concurrency: no concurrency given")
	}
	seen := map[int]bool{}
	for _, n := range c.Concurrencies {
		if err := flagcheck.Int("concurrency", n, 1).Err(); err != nil {
			return err
		}
		if seen[n] {
			return fmt.Errorf("--concurrency %d: given twice", n)
		}
		seen[n] = true
	}
	if c.Sleep <= 0 || c.Sleep%time.Millisecond != 0 {
		return fmt.Errorf("--sleep %s: must be a whole number of milliseconds above 0 (PC's harness sleeps in ms)", c.Sleep)
	}
	if c.PCHeap != "auto" && !heapRe.MatchString(c.PCHeap) {
		return fmt.Errorf("--pc-heap %q: want auto (kpar's peak RSS) or a JVM size such as 512m", c.PCHeap)
	}
	if c.Timeout <= 0 {
		return fmt.Errorf("--timeout %s: must be more than 0", c.Timeout)
	}
	if c.HeapTimeout < 0 {
		return fmt.Errorf("--pc-heap-timeout %s: must be at least 0 (0: three times PC's default-heap run)", c.HeapTimeout)
	}
	if c.MinWindow <= 0 {
		return fmt.Errorf("--min-window %s: must be more than 0", c.MinWindow)
	}
	if c.SourceRoot == "" {
		return errors.New("--source-root: empty (the kpar module root, whose sources the lines-of-code row counts)")
	}
	// The table's lines-of-code row must be countable: a missing marker
	// fails here, before any broker or JVM is touched.
	if _, err := CountLOC(c.SourceRoot, LOCSpecs); err != nil {
		return fmt.Errorf("--source-root %s: %w", c.SourceRoot, err)
	}
	if c.Child == nil {
		return errors.New("compare: Config.Child is required (the contenders' processes)")
	}
	if c.Secured() && c.Client.Java == nil {
		return fmt.Errorf("the JVMs of Parallel Consumer and Kafka cannot take these TLS/SASL settings: %w", c.Client.AnchorErr)
	}
	if c.Window != nil {
		return c.Window.Validate()
	}
	return nil
}

// keysAt is the io topic's key count at concurrency n: Keys, or 2 x n when
// that is more.
func (c Config) keysAt(n int) int { return max(c.Keys, 2*n) }

func (c Config) source(topic string, records int64) Source {
	return Source{Brokers: c.Brokers, Topic: topic, Records: records}
}

// pcConfig is PC's run of records on topic at conc; a sleep makes it
// I/O-bound.
func (c Config) pcConfig(topic string, records int64, conc int, sleep ...time.Duration) confluentpc.Config {
	pc := confluentpc.Config{Seeds: c.Brokers, Topic: topic, Records: int(records), MaxConcurrency: conc}
	if len(sleep) > 0 {
		pc.Work, pc.Sleep = confluentpc.WorkSleep, sleep[0]
	}
	return pc
}

// kparSpec is kpar's process for one run.
func (c Config) kparSpec(topic string, records int64, conc int, sleep time.Duration) KparSpec {
	return KparSpec{Source: c.source(topic, records), Concurrency: conc, Sleep: sleep, MaxBuffered: c.KparMaxBuffered, PerPart: c.KparPerPart}
}

// The contenders' names, as they appear in the result and the views.
const (
	Kpar  = "kpar"
	PC    = "pc"
	Plain = "plain"
	// Share is the bare franz-go share consumer, KparShareName kpar's
	// share mode, JavaShareName Kafka's ShareConsumerPerformance.
	Share         = "share"
	KparShareName = "kpar-share"
	JavaShareName = "java-share"
)
