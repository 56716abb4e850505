// Package produce is `kpar bench produce`: how Kafka producing scales with
// the number of producers. N independent franz-go clients in one process, or
// one OS process per producer, each fed its own contiguous slice of a CSV
// dataset, swept over producer counts and settings combinations, optionally
// against Apache Kafka's ProducerPerformance (the Java anchor).
//
// The shape: Config (Validate names the flag) -> Run(ctx, Config)
// (warm-up, sweep, repeats, saturation, bottleneck, Java anchor) -> Result
// (plain data, schema Schema/Version) -> Views(Result) (summary.md,
// steps.csv, charts), which read only the Result.
package produce

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"time"

	"github.com/kpar/kpar/internal/env"
	"github.com/kpar/kpar/internal/proc"

	"github.com/kpar/kpar/internal/csvload"
)

// Config is one sweep: what to send, which settings combinations and
// producer counts to run, and how to report progress. Every list field is a
// sweep dimension: every combination of Acks x Idempotence x Partitioners x
// Lingers x BatchBytes x Compressions runs over every producer count.
type Config struct {
	Input     string // CSV file: a header row, then one record per row
	KeyColumn string // header column whose field is the record key; "" sends unkeyed records
	Value     string // record value: "raw" (the row's bytes) or "json" (an object of the row)
	SkipBad   bool   // skip malformed rows and count them instead of failing at the first
	Records   int    // use only the first N good rows (0: all)

	Topics []string // one topic, or several written at once, records alternating
	// Partitions are the partition counts to sweep. With one count the
	// topics are used as named; with several each count gets its own
	// topics, named <topic>-p<count>, since a topic's partitions cannot
	// shrink.
	Partitions []int
	// RecordSizes are the value sizes to sweep in bytes; 0 sends the rows
	// as they are. See sized for how values are made from the rows.
	RecordSizes []int
	// SizeBudget is the most bytes one step at a record size sends (0: the
	// input's bytes), so large values do not fill the broker's disk; the
	// step sends min(rows, SizeBudget / size) records.
	SizeBudget int64
	Producers  []int // producer counts to sweep, 1..MaxProducers each
	Repeat     int   // runs per step; the step is the median by records/s
	Warmup     int   // records one producer sends before each sweep, not counted (0: none)
	Processes  bool  // one OS process per producer instead of a client in this process
	// Worker starts one worker process (`kpar child produce-worker` with a
	// WorkerSpec, reaching RunWorker); needed by Processes, VsJava and VsKcat.
	Worker       proc.Starter
	Acks         []string        // "0", "1", "all"
	Idempotence  []string        // "on", "off", "auto" (on for acks=all)
	Partitioners []string        // see Partitioners
	Lingers      []time.Duration // how long a batch waits for more records
	BatchBytes   []int32         // max batch bytes
	Compressions []string        // see Compressions
	MaxInFlight  int             // produce requests in flight per broker without idempotence
	NoFlush      bool            // exit each producer without Flush

	VsJava      bool // also run ProducerPerformance on the first settings combination
	VsKcat      bool // also run kcat (librdkafka) on the first settings combination
	Kcat        string
	JavaRecords int // records for the anchors, Java and kcat (0: all the input)

	// Pin, when set, pins the broker JVMs and this process (and so every
	// child it starts) to disjoint CPUs for the run.
	Pin *Pin

	Timeout time.Duration // how long to wait for the broker to answer an admin request

	// Env: the brokers, the client options (TLS, SASL) of every client
	// (the anchors get the Client's Java and Librdkafka properties), the
	// command line, and the progress: the lines of text.go, delivery
	// reports as Records, from producers concurrently.
	env.Env
}

// MaxProducers bounds one step's producer count, MaxPartitions a swept
// partition count and MaxRecordSize a swept value size (under the broker's
// default 1 MB message limit).
const (
	MaxProducers  = 256
	MaxPartitions = 1000
	MaxRecordSize = 900_000
)

// DefaultConfig is the flag defaults of `kpar bench produce`.
func DefaultConfig() Config {
	return Config{
		Input: "events.csv", Value: "raw",
		Topics: []string{"kpar-produce"}, Partitions: []int{12}, RecordSizes: []int{0}, Producers: []int{1, 2, 4, 8},
		Repeat: 1, Warmup: 50_000,
		Acks: []string{"all"}, Idempotence: []string{"auto"}, Partitioners: []string{"uniform-bytes"},
		Lingers: []time.Duration{5 * time.Millisecond}, BatchBytes: []int32{1_000_000}, Compressions: []string{"none"},
		MaxInFlight: 5, Timeout: 15 * time.Second, Kcat: "kcat",
	}
}

// Validate checks everything that can be checked without a broker, cheap
// flags first and the input file last; every error names its flag.
func (c Config) Validate() error {
	if c.Secured() && (c.VsJava || c.VsKcat) && c.Client.Java == nil {
		// An anchor on plaintext beside a secured kpar would not compare like with like.
		return fmt.Errorf("--vs-java/--vs-kcat: %w", cmp.Or(c.Client.AnchorErr, errors.New("no security settings for them")))
	}
	if len(c.Topics) == 0 || c.Topics[0] == "" {
		return errors.New("--topic: no topic given")
	}
	if c.SizeBudget < 0 {
		return fmt.Errorf("--size-budget %d: must be at least 0", c.SizeBudget)
	}
	for _, l := range []struct {
		flag, what string
		ns         []int
		lo, hi     int
		want       string
	}{
		{"partitions", "partition count", c.Partitions, 1, MaxPartitions, fmt.Sprintf("counts from 1 to %d, such as 1,3,12", MaxPartitions)},
		{"record-size", "size", c.RecordSizes, 0, MaxRecordSize, fmt.Sprintf("value sizes in bytes from 1 to %d, or 0 for the rows as they are", MaxRecordSize)},
		{"producers", "producer count", c.Producers, 1, MaxProducers, fmt.Sprintf("counts from 1 to %d, such as 1,2,4,8", MaxProducers)},
	} {
		if len(l.ns) == 0 {
			return fmt.Errorf("--%s: no %s given", l.flag, l.what)
		}
		for _, n := range l.ns {
			if n < l.lo || n > l.hi {
				return fmt.Errorf("--%s %d: want a comma list of %s", l.flag, n, l.want)
			}
		}
	}
	for _, v := range []struct {
		flag  string
		n, lo int
	}{{"repeat", c.Repeat, 1}, {"records", c.Records, 0}, {"warmup", c.Warmup, 0}, {"java-records", c.JavaRecords, 0}} {
		if v.n < v.lo {
			return fmt.Errorf("--%s %d: must be at least %d", v.flag, v.n, v.lo)
		}
	}
	if c.Timeout <= 0 {
		return fmt.Errorf("--timeout %s: must be more than 0", c.Timeout)
	}
	if _, err := csvload.ParseValueMode(c.Value); err != nil {
		return err
	}
	if _, err := c.Sweeps(); err != nil {
		return err
	}
	if c.NoFlush && (c.VsJava || c.VsKcat) {
		return fmt.Errorf("%s with --no-flush: the comparison needs every record delivered; run them separately",
			map[bool]string{true: "--vs-java", false: "--vs-kcat"}[c.VsJava])
	}
	if (c.Processes || c.VsJava || c.VsKcat) && c.Worker == nil {
		return errors.New("--processes, --vs-java and --vs-kcat need a worker command (Config.Worker)")
	}
	if _, err := exec.LookPath(c.Kcat); c.VsKcat && err != nil {
		return fmt.Errorf("--vs-kcat: %w (install kcat, e.g. apt-get install kcat, or name it with --kcat)", err)
	}
	if c.Pin != nil {
		if err := c.Pin.Validate(runtime.NumCPU()); err != nil {
			return err
		}
	}
	if st, err := os.Stat(c.Input); err != nil {
		return fmt.Errorf("--input: %w", err)
	} else if st.IsDir() {
		return fmt.Errorf("--input %s is a directory, want a CSV file", c.Input)
	}
	return nil
}

// Sweeps expands the sweep dimensions into every settings combination,
// each validated.
func (c Config) Sweeps() ([]Settings, error) {
	var out []Settings
	for _, acks := range c.Acks {
		for _, idem := range c.Idempotence {
			on, ok := map[string]bool{"on": true, "off": false, "auto": acks == "all"}[idem]
			if !ok {
				return nil, fmt.Errorf("--idempotence %q: want on, off or auto", idem)
			}
			for _, part := range c.Partitioners {
				for _, l := range c.Lingers {
					for _, b := range c.BatchBytes {
						for _, comp := range c.Compressions {
							s := Settings{Acks: acks, Idempotence: on, Partitioner: part, Linger: l,
								BatchBytes: b, Compression: comp, MaxInFlight: c.MaxInFlight, Topics: c.Topics, NoFlush: c.NoFlush}
							if err := s.Validate(); err != nil {
								return nil, err
							}
							out = append(out, s)
						}
					}
				}
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no settings to run: --acks, --idempotence, --partitioner, --linger, --batch-size and --compression each need a value")
	}
	return out, nil
}

// source is how the bench and every worker load the input.
func (c Config) source() Source {
	return Source{Path: c.Input, KeyColumn: c.KeyColumn, Value: c.Value, SkipBad: c.SkipBad, Limit: c.Records}
}

// sizeBudget is SizeBudget, or the input's bytes when it is 0.
func (c Config) sizeBudget(inputBytes int64) int64 {
	if c.SizeBudget > 0 {
		return c.SizeBudget
	}
	return inputBytes
}

// topicsFor names the topics of a partition count: as given when only one
// count is swept, else suffixed with the count.
func (c Config) topicsFor(partitions int) []string {
	if len(c.Partitions) == 1 {
		return c.Topics
	}
	out := make([]string, len(c.Topics))
	for i, t := range c.Topics {
		out[i] = fmt.Sprintf("%s-p%d", t, partitions)
	}
	return out
}
