package confluentpc

import (
	"cmp"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Ordering is PC's ProcessingOrder.
type Ordering string

// The orderings PC offers.
const (
	OrderKey       Ordering = "KEY"       // one record per key in flight
	OrderPartition Ordering = "PARTITION" // one record per partition in flight
	OrderUnordered Ordering = "UNORDERED" // no ordering constraint
)

// CommitMode is PC's CommitMode. The transactional mode is left out: it
// needs a producer and the harness only consumes.
type CommitMode string

// The commit modes the harness supports.
const (
	CommitAsync CommitMode = "PERIODIC_CONSUMER_ASYNCHRONOUS" // PC's default
	CommitSync  CommitMode = "PERIODIC_CONSUMER_SYNC"
)

// Work is what the handler does per call.
type Work string

// The handlers the harness offers.
const (
	WorkNoop  Work = "noop"  // return at once: measures PC's own overhead
	WorkSleep Work = "sleep" // Thread.sleep(Config.Sleep): I/O-bound work
)

// Defaults applied by Run to zero-valued Config fields.
const (
	DefaultMaxConcurrency = 16 // PC's default
	DefaultBatchSize      = 1  // PC's default
	DefaultTimeout        = 5 * time.Minute
)

// exitGrace is how long past Config.Timeout the parent waits before killing
// the child: JVM start-up before the harness's clock starts, and the drain
// on close after it stops. A JVM still running that long after its own
// timeout is thrashing in a heap too small for it (the capped runs of the
// heap search): waiting longer only delays the same result.
const exitGrace = 45 * time.Second

// Config is one PC run. Zero values take the defaults named per field.
type Config struct {
	Seeds   []string // bootstrap brokers, host:port; required
	Topic   string   // required
	Group   string   // consumer group; default a fresh "kpar-pc-<unix ns>", so it reads from the start
	Records int      // stop once this many distinct records are processed; required, > 0
	// ClientConfig is a Java client properties file of security settings
	// (TLS, SASL; the password in it) added to the consumer's; the JVM
	// deletes it once read. "" = none.
	ClientConfig string

	Ordering       Ordering   // default OrderKey
	MaxConcurrency int        // PC's worker pool size; default 16
	CommitMode     CommitMode // default CommitAsync
	BatchSize      int        // records per handler call; default 1
	Work           Work       // default WorkNoop
	Sleep          time.Duration

	// Timeout bounds the run from subscribe to the Records-th record
	// (rounded up to whole seconds); default 5 minutes.
	Timeout  time.Duration
	JVMFlags []string     // before -cp, e.g. {"-Xmx256m"}; none: the JVM's defaults
	Progress func(string) `json:"-"` // hears about the one-time Maven resolution

	// For the out-of-order window experiment (zero: none). With HoldStuck
	// the record at StuckOffset of each partition is held, once, until
	// "release" arrives on the harness's stdin; stdin ending makes it exit
	// with code 5. Only with Command, whose caller owns the stdin.
	// ProcessedLog gets "partition offset" per processed record, one
	// unbuffered write each; ProgressEvery > 0 prints a progress line
	// ({"kind":"progress",...}) that often, in whole ms; SessionTimeout >
	// 0 is session.timeout.ms.
	StuckOffset    int64
	HoldStuck      bool
	ProcessedLog   string
	ProgressEvery  time.Duration
	SessionTimeout time.Duration

	// FetchMaxBytes and MaxPartitionFetchBytes > 0 set fetch.max.bytes and
	// max.partition.fetch.bytes (0: kafka-clients' defaults).
	FetchMaxBytes          int32
	MaxPartitionFetchBytes int32
}

// withDefaults fills zero-valued fields.
func (c Config) withDefaults() Config {
	c.Group = cmp.Or(c.Group, fmt.Sprintf("kpar-pc-%d", time.Now().UnixNano()))
	c.Ordering, c.MaxConcurrency = cmp.Or(c.Ordering, OrderKey), cmp.Or(c.MaxConcurrency, DefaultMaxConcurrency)
	c.CommitMode, c.BatchSize = cmp.Or(c.CommitMode, CommitAsync), cmp.Or(c.BatchSize, DefaultBatchSize)
	c.Work, c.Timeout = cmp.Or(c.Work, WorkNoop), cmp.Or(c.Timeout, DefaultTimeout)
	return c
}

// ErrConfig is wrapped by every validation error.
var ErrConfig = errors.New("pc: invalid config")

// Validate reports every bad value, each naming its field. Zero values that
// have defaults are valid.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
	}
	wholeMs := func(name string, d time.Duration) {
		if d < 0 || d%time.Millisecond != 0 {
			bad("%s %v must be a whole number of milliseconds >= 0", name, d)
		}
	}
	if len(c.Seeds) == 0 {
		bad("Seeds is empty")
	}
	for _, s := range c.Seeds {
		if s == "" || strings.ContainsAny(s, ", \t") {
			bad("Seeds entry %q is not a host:port", s)
		}
	}
	if c.Topic == "" {
		bad("Topic is empty")
	}
	if c.Records <= 0 {
		bad("Records %d must be > 0", c.Records)
	}
	switch c.Ordering {
	case "", OrderKey, OrderPartition, OrderUnordered:
	default:
		bad("Ordering %q is not KEY, PARTITION or UNORDERED", c.Ordering)
	}
	switch c.CommitMode {
	case "", CommitAsync, CommitSync:
	default:
		bad("CommitMode %q is not %s or %s", c.CommitMode, CommitAsync, CommitSync)
	}
	switch c.Work {
	case "", WorkNoop:
		if c.Sleep != 0 {
			bad("Sleep %v needs Work %q", c.Sleep, WorkSleep)
		}
	case WorkSleep:
		wholeMs("Sleep", c.Sleep)
	default:
		bad("Work %q is not %q or %q", c.Work, WorkNoop, WorkSleep)
	}
	if c.HoldStuck && c.StuckOffset < 0 {
		bad("StuckOffset %d must be >= 0", c.StuckOffset)
	}
	wholeMs("ProgressEvery", c.ProgressEvery)
	negative := func(field string, v int64, def any) {
		if v < 0 {
			bad("%s %v must be > 0 (0: %v)", field, v, def)
		}
	}
	negative("MaxConcurrency", int64(c.MaxConcurrency), fmt.Sprint("default ", DefaultMaxConcurrency))
	negative("BatchSize", int64(c.BatchSize), fmt.Sprint("default ", DefaultBatchSize))
	if c.Timeout < 0 {
		bad("Timeout %v must be > 0 (0: default %v)", c.Timeout, DefaultTimeout)
	}
	negative("FetchMaxBytes", int64(c.FetchMaxBytes), "kafka-clients' default")
	negative("MaxPartitionFetchBytes", int64(c.MaxPartitionFetchBytes), "kafka-clients' default")
	wholeMs("SessionTimeout", c.SessionTimeout)
	for _, f := range c.JVMFlags {
		switch {
		case !strings.HasPrefix(f, "-"):
			bad("JVMFlags entry %q does not start with '-'", f)
		case f == "-cp" || f == "-classpath" || f == "--class-path" || f == "-jar" || f == "--module-path":
			bad("JVMFlags entry %q would replace the harness's class path", f)
		}
	}
	return errors.Join(errs...)
}

// harnessArgs is the harness's own command line (after the class name).
// The window experiment's flags appear only when set.
func (c Config) harnessArgs() []string {
	args := []string{
		"--bootstrap", strings.Join(c.Seeds, ","),
		"--topic", c.Topic,
		"--group", c.Group,
		"--records", strconv.Itoa(c.Records),
		"--ordering", string(c.Ordering),
		"--max-concurrency", strconv.Itoa(c.MaxConcurrency),
		"--commit-mode", string(c.CommitMode),
		"--batch-size", strconv.Itoa(c.BatchSize),
		"--work", string(c.Work),
		"--sleep-ms", strconv.FormatInt(c.Sleep.Milliseconds(), 10),
		"--timeout-s", strconv.FormatInt(int64((c.Timeout+time.Second-1)/time.Second), 10),
	}
	ms := func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
	args = flagIf(args, c.HoldStuck, "--stuck-offset", strconv.FormatInt(c.StuckOffset, 10))
	args = flagIf(args, c.ProcessedLog != "", "--processed-log", c.ProcessedLog)
	args = flagIf(args, c.ClientConfig != "", "--client-config", c.ClientConfig)
	args = flagIf(args, c.ProgressEvery > 0, "--progress-ms", ms(c.ProgressEvery))
	args = flagIf(args, c.SessionTimeout > 0, "--session-timeout-ms", ms(c.SessionTimeout))
	args = flagIf(args, c.FetchMaxBytes > 0, "--fetch-max-bytes", strconv.Itoa(int(c.FetchMaxBytes)))
	args = flagIf(args, c.MaxPartitionFetchBytes > 0, "--max-partition-fetch-bytes", strconv.Itoa(int(c.MaxPartitionFetchBytes)))
	return args
}

// flagIf adds flag and its value v to args when on: the harness's and the
// bridge's optional flags.
func flagIf(args []string, on bool, flag, v string) []string {
	if on {
		return append(args, flag, v)
	}
	return args
}
