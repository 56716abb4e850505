// Package pc runs Confluent's Parallel Consumer (PC, Java) as a measured
// contender next to kpar's own parallel consumer: same broker, topic and
// records, one JVM per run.
//
// Run resolves PC's jars with Maven into the kpar cache (once), compiles the
// embedded harness (assets/Harness.java) with javac (once per harness
// source), starts `java <JVMFlags> -cp <libs>/*:<classes> Harness ...` and
// returns what the harness printed plus what only the parent can see: the
// child's peak RSS, its rusage CPU and its wall time.
//
// Guarantees: a Result is returned only when the harness saw Config.Records
// distinct records processed and printed its complete summary line;
// otherwise Run returns one error naming what went wrong (bad config, child
// exited non-zero, harness timeout, killed, no JSON) with the tail of the
// child's stderr. Versions are pinned (PCVersion, KafkaClientsVersion,
// SLF4JVersion); see DESIGN.md for why.
package pc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kpar/kpar/internal/broker"
	"github.com/kpar/kpar/internal/clock"
	"github.com/kpar/kpar/internal/proc"
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
// on close after it stops.
const exitGrace = 2 * time.Minute

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

	// Timeout bounds the harness's run from subscribe to the Records-th
	// record (rounded up to whole seconds); default 5 minutes.
	Timeout time.Duration

	// JVMFlags go before -cp, e.g. {"-Xmx256m"}. Default none: the JVM's
	// own defaults (heap = 1/4 of RAM).
	JVMFlags []string

	// Progress, if set, hears about the one-time Maven resolution.
	Progress func(string) `json:"-"`

	// For the out-of-order window experiment; zero values leave the run as
	// it is. With HoldStuck, the record at StuckOffset of each partition
	// is held, once (a replay of it in the same process is not held
	// again), until the line "release" arrives on the harness's stdin;
	// stdin ending (before or after the release) makes it exit with code
	// 5. Only with Command, whose caller owns the stdin (Run refuses it).
	StuckOffset int64
	HoldStuck   bool
	// ProcessedLog, if set, is a file the harness appends "partition
	// offset" to per processed record, one unbuffered write each.
	ProcessedLog string
	// ProgressEvery > 0 makes the harness print a progress line on stdout
	// this often (whole ms): {"kind":"progress","t_ms",...,"completed",...,
	// "distinct",...}; the summary stays the last line.
	ProgressEvery time.Duration
	// SessionTimeout > 0 sets the consumer's session.timeout.ms (whole ms;
	// default Kafka's): how soon the group notices a killed process.
	SessionTimeout time.Duration

	// FetchMaxBytes and MaxPartitionFetchBytes > 0 set the consumer's
	// fetch.max.bytes and max.partition.fetch.bytes (0: kafka-clients'
	// defaults), e.g. to give PC the sizes another contender's client ran
	// with.
	FetchMaxBytes          int32
	MaxPartitionFetchBytes int32
}

// withDefaults fills zero-valued fields.
func (c Config) withDefaults() Config {
	if c.Group == "" {
		c.Group = fmt.Sprintf("kpar-pc-%d", time.Now().UnixNano())
	}
	if c.Ordering == "" {
		c.Ordering = OrderKey
	}
	if c.MaxConcurrency == 0 {
		c.MaxConcurrency = DefaultMaxConcurrency
	}
	if c.CommitMode == "" {
		c.CommitMode = CommitAsync
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.Work == "" {
		c.Work = WorkNoop
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
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
	if c.MaxConcurrency < 0 {
		bad("MaxConcurrency %d must be > 0 (0: default %d)", c.MaxConcurrency, DefaultMaxConcurrency)
	}
	switch c.CommitMode {
	case "", CommitAsync, CommitSync:
	default:
		bad("CommitMode %q is not %s or %s", c.CommitMode, CommitAsync, CommitSync)
	}
	if c.BatchSize < 0 {
		bad("BatchSize %d must be > 0 (0: default %d)", c.BatchSize, DefaultBatchSize)
	}
	switch c.Work {
	case "", WorkNoop:
		if c.Sleep != 0 {
			bad("Sleep %v needs Work %q", c.Sleep, WorkSleep)
		}
	case WorkSleep:
		if c.Sleep < 0 || c.Sleep%time.Millisecond != 0 {
			bad("Sleep %v must be a whole number of milliseconds >= 0", c.Sleep)
		}
	default:
		bad("Work %q is not %q or %q", c.Work, WorkNoop, WorkSleep)
	}
	if c.Timeout < 0 {
		bad("Timeout %v must be > 0 (0: default %v)", c.Timeout, DefaultTimeout)
	}
	if c.HoldStuck && c.StuckOffset < 0 {
		bad("StuckOffset %d must be >= 0", c.StuckOffset)
	}
	if c.ProgressEvery < 0 || c.ProgressEvery%time.Millisecond != 0 {
		bad("ProgressEvery %v must be a whole number of milliseconds >= 0", c.ProgressEvery)
	}
	if c.FetchMaxBytes < 0 {
		bad("FetchMaxBytes %d must be >= 0 (0: kafka-clients' default)", c.FetchMaxBytes)
	}
	if c.MaxPartitionFetchBytes < 0 {
		bad("MaxPartitionFetchBytes %d must be >= 0 (0: kafka-clients' default)", c.MaxPartitionFetchBytes)
	}
	if c.SessionTimeout < 0 || c.SessionTimeout%time.Millisecond != 0 {
		bad("SessionTimeout %v must be a whole number of milliseconds >= 0", c.SessionTimeout)
	}
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
	if c.HoldStuck {
		args = append(args, "--stuck-offset", strconv.FormatInt(c.StuckOffset, 10))
	}
	if c.ProcessedLog != "" {
		args = append(args, "--processed-log", c.ProcessedLog)
	}
	if c.ClientConfig != "" {
		args = append(args, "--client-config", c.ClientConfig)
	}
	if c.ProgressEvery > 0 {
		args = append(args, "--progress-ms", strconv.FormatInt(c.ProgressEvery.Milliseconds(), 10))
	}
	if c.SessionTimeout > 0 {
		args = append(args, "--session-timeout-ms", strconv.FormatInt(c.SessionTimeout.Milliseconds(), 10))
	}
	if c.FetchMaxBytes > 0 {
		args = append(args, "--fetch-max-bytes", strconv.Itoa(int(c.FetchMaxBytes)))
	}
	if c.MaxPartitionFetchBytes > 0 {
		args = append(args, "--max-partition-fetch-bytes", strconv.Itoa(int(c.MaxPartitionFetchBytes)))
	}
	return args
}

// HarnessOutput is the harness's one JSON line, field for field.
type HarnessOutput struct {
	Records int64 `json:"records"` // distinct records processed when the clock stopped (= Config.Records)
	// Seconds runs from subscribe to the Records-th distinct completion.
	Seconds     float64 `json:"seconds"`
	RecordsPerS float64 `json:"records_per_s"` // Records / Seconds
	// FirstRecordS runs from subscribe to the first handler call
	// (group join, fetch): a cost PC pays once.
	FirstRecordS float64 `json:"first_record_s"`
	// SteadyRecordsPerS is Records over first handler call to last completion.
	SteadyRecordsPerS float64 `json:"steady_records_per_s"`
	// The clock's events (internal/clock's rule, implemented in the
	// harness): distinct records counted as the handler returns; A when
	// the count reached the warm-up (WarmupRecords), B at Records
	// (EndRecords); times in seconds since subscribe. Window computes the
	// window from them.
	WarmupRecords int64   `json:"warmup_records"`
	EndRecords    int64   `json:"end_records"`
	FirstDoneS    float64 `json:"first_done_s"` // the first distinct record completed
	WindowAS      float64 `json:"window_a_s"`
	WindowBS      float64 `json:"window_b_s"`
	HandlerCalls  int64   `json:"handler_calls"`   // = records with BatchSize 1
	MeanHandlerMs float64 `json:"mean_handler_ms"` // measured time inside the handler per call
	// Duplicates counts records handed to the handler again after they
	// completed (replays); Completions counts every record the handler
	// finished, duplicates and the drain on close included.
	Duplicates  int64   `json:"duplicates"`
	Completions int64   `json:"completions"`
	CloseS      float64 `json:"close_s"` // closeDrainFirst
	// CPUSeconds is the JVM's own process CPU time at the end
	// (OperatingSystemMXBean.getProcessCpuTime), start-up and close included.
	CPUSeconds float64 `json:"cpu_seconds"`
	// StartupS runs from JVM start to subscribe (class loading, PC set-up).
	StartupS            float64        `json:"startup_s"`
	JVM                 JVMInfo        `json:"jvm"`
	Options             HarnessOptions `json:"options"`
	PCVersion           string         `json:"pc_version"`
	KafkaClientsVersion string         `json:"kafka_clients_version"`
}

// JVMInfo describes the JVM the harness ran in.
type JVMInfo struct {
	Version             string   `json:"version"`
	VM                  string   `json:"vm"`
	InputArguments      []string `json:"input_arguments"` // RuntimeMXBean: the flags the JVM saw
	MaxHeapBytes        int64    `json:"max_heap_bytes"`
	AvailableProcessors int64    `json:"available_processors"`
}

// HarnessOptions echoes the options the harness ran with.
type HarnessOptions struct {
	Bootstrap      string `json:"bootstrap"`
	Topic          string `json:"topic"`
	Group          string `json:"group"`
	Ordering       string `json:"ordering"`
	MaxConcurrency int    `json:"max_concurrency"`
	CommitMode     string `json:"commit_mode"`
	BatchSize      int    `json:"batch_size"`
	Work           string `json:"work"`
	SleepMs        int64  `json:"sleep_ms"`
	TimeoutS       int64  `json:"timeout_s"`
	StuckOffset    int64  `json:"stuck_offset"` // -1: none; else held until "release" on stdin
	ProcessedLog   string `json:"processed_log"`
	ProgressMs     int64  `json:"progress_ms"`
	SessionTimeMs  int64  `json:"session_timeout_ms"` // 0: Kafka's default
	// FetchMaxBytes and MaxPartitionFetchBytes: what the consumer was
	// given; 0: kafka-clients' defaults.
	FetchMaxBytes          int64 `json:"fetch_max_bytes"`
	MaxPartitionFetchBytes int64 `json:"max_partition_fetch_bytes"`
}

// Window is the run's window by internal/clock's arithmetic, from the
// events the harness reported.
func (o HarnessOutput) Window() clock.Window {
	at := func(s float64) time.Time { return time.Unix(0, 0).Add(time.Duration(s * 1e9)) }
	return clock.Compute(o.Records, at(0), at(o.FirstDoneS), o.WarmupRecords, at(o.WindowAS), o.EndRecords, at(o.WindowBS))
}

// Result is one completed PC run: the harness's line plus what the parent
// measured of the child process.
type Result struct {
	HarnessOutput
	// PeakRSSKiB is the child's peak resident set (rusage ru_maxrss, KiB on Linux).
	PeakRSSKiB int64 `json:"peak_rss_kib"`
	// ChildCPUSeconds is the child's user+system CPU from rusage: its whole
	// life, JVM exit included.
	ChildCPUSeconds float64 `json:"child_cpu_seconds"`
	// WallSeconds is the child's lifetime as the parent saw it.
	WallSeconds float64 `json:"wall_seconds"`
	// JVMFlags are the exact flags given to the JVM (Config.JVMFlags; empty
	// means the JVM's defaults).
	JVMFlags []string `json:"jvm_flags"`
	// Command is the full java command line, to reproduce the run.
	Command []string `json:"command"`
}

// Errors Run wraps, for errors.Is.
var (
	ErrHarnessTimeout = errors.New("pc harness timed out before processing every record")
	ErrPCFailed       = errors.New("parallel consumer closed or failed before processing every record")
	ErrExit           = errors.New("pc harness exited with an error")
	ErrKilled         = errors.New("pc harness did not exit in time and was killed")
	ErrNoJSON         = errors.New("pc harness printed no complete JSON result line")
)

// Harness exit codes (assets/Harness.java).
const (
	exitFlags   = 2
	exitTimeout = 3
	exitFailed  = 4
)

// Run runs PC once as configured. See the package doc for its guarantees.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	if cfg.HoldStuck {
		return Result{}, fmt.Errorf("%w: HoldStuck needs Command (its caller writes the release line on stdin)", ErrConfig)
	}
	cfg = cfg.withDefaults()
	java, args, err := javaCommand(ctx, cfg)
	if err != nil {
		return Result{}, err
	}
	flags := append([]string{}, cfg.JVMFlags...)

	runCtx, cancel := context.WithTimeout(ctx, cfg.Timeout+exitGrace)
	defer cancel()
	var stdout bytes.Buffer
	p, err := proc.Start(runCtx, "pc harness", append([]string{java}, args...), proc.Options{Stdout: &stdout, Tail: 64 << 10})
	if err != nil {
		return Result{}, err
	}
	runErr := p.Wait()
	wall := p.Usage().Wall

	errTail := func() string {
		t := p.Tail(25)
		if t == "" {
			return "(stderr empty)"
		}
		return "stderr tail:\n" + t
	}
	if runErr != nil {
		switch {
		case ctx.Err() != nil:
			return Result{}, fmt.Errorf("pc harness stopped: %w; %s", ctx.Err(), errTail())
		case runCtx.Err() != nil:
			return Result{}, fmt.Errorf("%w (after %v, timeout %v + %v grace); %s",
				ErrKilled, wall.Round(time.Millisecond), cfg.Timeout, exitGrace, errTail())
		}
		if p.ExitSignal() == 0 {
			switch p.ExitCode() {
			case exitTimeout:
				return Result{}, fmt.Errorf("%w (%v); %s", ErrHarnessTimeout, cfg.Timeout, errTail())
			case exitFailed:
				return Result{}, fmt.Errorf("%w; %s", ErrPCFailed, errTail())
			case exitFlags:
				return Result{}, fmt.Errorf("%w: it refused its flags %q (a bug in package pc); %s",
					ErrExit, cfg.harnessArgs(), errTail())
			}
		}
		return Result{}, fmt.Errorf("%w (%v); %s", ErrExit, runErr, errTail())
	}
	out, err := ParseLine(stdout.Bytes())
	if err != nil {
		return Result{}, fmt.Errorf("%w; stdout tail:\n%s\n%s", err, tailLines(stdout.String(), 5), errTail())
	}
	if out.Records != int64(cfg.Records) {
		return Result{}, fmt.Errorf("%w: records %d, asked for %d", ErrNoJSON, out.Records, cfg.Records)
	}
	r := Result{HarnessOutput: out, WallSeconds: wall.Seconds(), JVMFlags: flags,
		Command: append([]string{java}, args...)}
	u := p.Usage()
	r.PeakRSSKiB, r.ChildCPUSeconds = u.PeakRSSKiB, u.CPUSeconds
	return r, nil
}

// javaCommand resolves the jars and the compiled harness (cached) and
// returns the java binary and its arguments for cfg (defaults applied).
func javaCommand(ctx context.Context, cfg Config) (java string, args []string, err error) {
	java, err = broker.JavaBin()
	if err != nil {
		return "", nil, err
	}
	libs, err := LibDir(ctx, cfg.Progress)
	if err != nil {
		return "", nil, err
	}
	classes, err := ClassesDir(ctx, java, libs)
	if err != nil {
		return "", nil, err
	}
	args = append(append([]string{}, cfg.JVMFlags...),
		"-cp", filepath.Join(libs, "*")+string(filepath.ListSeparator)+classes, harnessClass)
	return java, append(args, cfg.harnessArgs()...), nil
}

// Command validates cfg, resolves PC and the harness as Run does, and
// returns the harness's command without starting it and with the defaults
// applied (the Group too), for callers that manage the process themselves:
// read its progress lines as it runs, SIGKILL it mid-run. Run is the way
// to get a checked Result.
func Command(ctx context.Context, cfg Config) ([]string, Config, error) {
	if err := cfg.Validate(); err != nil {
		return nil, Config{}, err
	}
	cfg = cfg.withDefaults()
	java, args, err := javaCommand(ctx, cfg)
	if err != nil {
		return nil, Config{}, err
	}
	return append([]string{java}, args...), cfg, nil
}

// ParseLine parses the harness's stdout: its last non-empty line must be
// the complete JSON summary. Earlier lines are ignored (a JVM flag such as
// -XX:+PrintFlagsFinal writes to stdout too). Unknown fields are an error,
// so the harness and this package cannot drift apart silently.
func ParseLine(stdout []byte) (HarnessOutput, error) {
	var last string
	sc := bufio.NewScanner(bytes.NewReader(stdout))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			last = l
		}
	}
	if err := sc.Err(); err != nil {
		return HarnessOutput{}, fmt.Errorf("%w: reading stdout: %v", ErrNoJSON, err)
	}
	if last == "" {
		return HarnessOutput{}, fmt.Errorf("%w: stdout is empty", ErrNoJSON)
	}
	dec := json.NewDecoder(strings.NewReader(last))
	dec.DisallowUnknownFields()
	var out HarnessOutput
	if err := dec.Decode(&out); err != nil {
		return HarnessOutput{}, fmt.Errorf("%w: %v", ErrNoJSON, err)
	}
	if dec.More() {
		return HarnessOutput{}, fmt.Errorf("%w: trailing data after the JSON object", ErrNoJSON)
	}
	var missing []string
	need := func(ok bool, name string) {
		if !ok {
			missing = append(missing, name)
		}
	}
	need(out.Records > 0, "records")
	need(out.Seconds > 0, "seconds")
	need(out.RecordsPerS > 0, "records_per_s")
	need(out.WarmupRecords > 0 && out.WarmupRecords < out.Records || out.Records == 1, "warmup_records")
	need(out.EndRecords == out.Records, "end_records")
	need(out.WindowBS > 0 && out.WindowBS >= out.WindowAS && out.WindowAS >= out.FirstDoneS, "window_a_s, window_b_s")
	need(out.HandlerCalls > 0, "handler_calls")
	need(out.Completions >= out.Records, "completions")
	need(out.CPUSeconds > 0, "cpu_seconds")
	need(out.JVM.Version != "", "jvm.version")
	need(out.JVM.MaxHeapBytes > 0, "jvm.max_heap_bytes")
	need(out.Options.Topic != "", "options.topic")
	need(out.PCVersion != "", "pc_version")
	need(out.KafkaClientsVersion != "", "kafka_clients_version")
	if len(missing) > 0 {
		return HarnessOutput{}, fmt.Errorf("%w: missing or zero: %s", ErrNoJSON, strings.Join(missing, ", "))
	}
	return out, nil
}
