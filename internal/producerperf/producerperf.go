// Package producerperf runs Apache Kafka's own ProducerPerformance (the
// kafka-producer-perf-test tool from kafka-tools) as the anchor every kpar
// producer figure is compared with, and measures its CPU from the child's
// rusage.
package producerperf

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/kpar/kpar/internal/proc"
)

// MainClass is ProducerPerformance's entry point in kafka-tools.
const MainClass = "org.apache.kafka.tools.ProducerPerformance"

// Config is one ProducerPerformance run.
type Config struct {
	Java        string // java binary
	ClassPath   string // must include kafka-tools
	Seeds       []string
	Topic       string
	Records     int
	PayloadFile string            // one payload per line
	Props       map[string]string // producer properties (acks, linger.ms, ...)
	// ConfigFile is a properties file given with --producer.config: the
	// security settings, whose password must not be on the command line.
	ConfigFile string
}

// Result is what the tool printed on its last line plus our CPU reading.
type Result struct {
	Records       int64   `json:"records"`
	RecordsPerSec float64 `json:"records_per_sec"`
	MBPerSec      float64 `json:"mb_per_sec"`
	AvgLatencyMs  float64 `json:"avg_latency_ms"`
	MaxLatencyMs  float64 `json:"max_latency_ms"`
	P50Ms         float64 `json:"p50_ms"`
	P95Ms         float64 `json:"p95_ms"`
	P99Ms         float64 `json:"p99_ms"`
	P999Ms        float64 `json:"p999_ms"`
	// CPUSeconds is the JVM's user+system CPU over its whole life,
	// including start-up and reading the payload file.
	CPUSeconds  float64  `json:"cpu_seconds"`
	WallSeconds float64  `json:"wall_seconds"`
	LastLine    string   `json:"last_line"`
	Args        []string `json:"args"`
}

// Args builds the java command line.
func (c Config) Args() []string {
	args := []string{"-cp", c.ClassPath, "-Duser.language=en", "-Duser.country=US", "-Xmx512M", MainClass,
		"--topic", c.Topic,
		"--num-records", strconv.Itoa(c.Records),
		"--throughput", "-1",
		"--payload-file", c.PayloadFile,
		"--producer-props", "bootstrap.servers=" + strings.Join(c.Seeds, ","),
	}
	for _, k := range slices.Sorted(maps.Keys(c.Props)) {
		args = append(args, k+"="+c.Props[k])
	}
	if c.ConfigFile != "" {
		args = append(args, "--producer.config", c.ConfigFile)
	}
	return args
}

// Run runs the tool and parses its summary line.
func Run(ctx context.Context, c Config) (Result, error) {
	args := c.Args()
	out, p, err := proc.Output(ctx, "ProducerPerformance", append([]string{c.Java}, args...), proc.Options{})
	if err != nil {
		return Result{}, fmt.Errorf("ProducerPerformance failed (%v): %s", err, Tail(out))
	}
	r, perr := ParseSummary(out)
	if perr != nil {
		return Result{}, fmt.Errorf("%w; output: %s", perr, Tail(out))
	}
	u := p.Usage()
	r.CPUSeconds, r.WallSeconds = u.CPUSeconds, u.Wall.Seconds()
	r.Args = args
	return r, nil
}

// summary matches ProducerPerformance's final line, e.g.
// "1000000 records sent, 250000.0 records/sec (38.15 MB/sec), 12.34 ms avg
// latency, 345.00 ms max latency, 10 ms 50th, 30 ms 95th, 50 ms 99th, 80 ms 99.9th."
var summary = regexp.MustCompile(`^(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99\.9th\.?$`)

// ErrNoSummary means the output has no final summary line.
var ErrNoSummary = errors.New("ProducerPerformance printed no summary line")

// ParseSummary finds the last summary line in the tool's output.
func ParseSummary(out []byte) (Result, error) {
	var m []string
	for _, line := range strings.Split(string(out), "\n") {
		if mm := summary.FindStringSubmatch(strings.TrimSpace(line)); mm != nil {
			m = mm
		}
	}
	if m == nil {
		return Result{}, ErrNoSummary
	}
	f := func(i int) float64 { v, _ := strconv.ParseFloat(m[i], 64); return v }
	return Result{Records: int64(f(1)), RecordsPerSec: f(2), MBPerSec: f(3), AvgLatencyMs: f(4), MaxLatencyMs: f(5),
		P50Ms: f(6), P95Ms: f(7), P99Ms: f(8), P999Ms: f(9), LastLine: m[0]}, nil
}

// WritePayloadFile writes values one per line, the format --payload-file
// reads. Values holding a line break would be split by the tool, so they
// are reported rather than silently changing the record count.
func WritePayloadFile(path string, values [][]byte) (skipped int, err error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for _, v := range values {
		if bytes.ContainsAny(v, "\r\n") {
			skipped++
			continue
		}
		w.Write(v)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, err
	}
	return skipped, f.Close()
}

// Tail is the last 1500 bytes of a tool's output, trimmed, for an error.
func Tail(out []byte) string {
	s := strings.TrimSpace(string(out))
	if len(s) > 1500 {
		return "..." + s[len(s)-1500:]
	}
	return s
}
