package compare

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kpar/kpar/internal/broker"
	"github.com/kpar/kpar/internal/clock"
	"github.com/kpar/kpar/internal/proc"
	"github.com/kpar/kpar/internal/results"
)

// SharePerfClass is Kafka's share consumer benchmark (kafka-tools), the
// Java reference of the share contenders' no-op rate.
const SharePerfClass = "org.apache.kafka.tools.ShareConsumerPerformance"

// JavaShare is one ShareConsumerPerformance run: its summary line, parsed
// by column name, and the JVM's rusage.
type JavaShare struct {
	Threads int   `json:"threads"` // --threads: share consumers in the JVM
	Records int64 `json:"records"` // data.consumed.in.nMsg
	// RecordsPerS is its nMsg.sec: records over its start.time to
	// end.time, the group join and first fetch included (it prints no
	// steady rate), so it compares with a Side's Records / Seconds.
	RecordsPerS float64 `json:"records_per_s"`
	MBPerS      float64 `json:"mb_per_s"`
	FetchTimeMs float64 `json:"fetch_time_ms"`
	// CPUSeconds and PeakRSSKiB: the JVM's whole life, from rusage, as
	// every other contender's.
	CPUSeconds    float64  `json:"cpu_seconds"`
	CPUPerMillion float64  `json:"cpu_s_per_million"`
	PeakRSSKiB    int64    `json:"peak_rss_kib"`
	WallSeconds   float64  `json:"wall_seconds"`
	Header        string   `json:"header"` // the column line as printed
	Line          string   `json:"line"`   // the summary line as printed
	Args          []string `json:"args"`
}

// ErrNoShareSummary: the tool printed no header and summary line.
var ErrNoShareSummary = errors.New("ShareConsumerPerformance printed no summary line")

// parseSharePerf finds the column line ("start.time, end.time, ...") and
// reads the line after it by column name: the tool orders its columns
// differently from ConsumerPerformance (nMsg.sec before
// data.consumed.in.nMsg), and naming them keeps a reordering from being
// read as other figures.
func parseSharePerf(out []byte) (JavaShare, error) {
	var cols []string
	var j JavaShare
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		fs := strings.Split(line, ",")
		for i := range fs {
			fs[i] = strings.TrimSpace(fs[i])
		}
		if len(fs) > 1 && fs[0] == "start.time" {
			cols, j.Header = fs, line
			continue
		}
		if cols == nil || len(fs) != len(cols) {
			continue
		}
		var recs float64
		for _, c := range []struct {
			name string
			into *float64
		}{{"data.consumed.in.nMsg", &recs}, {"nMsg.sec", &j.RecordsPerS}, {"MB.sec", &j.MBPerS}, {"fetch.time.ms", &j.FetchTimeMs}} {
			name, into, i := c.name, c.into, slices.Index(cols, c.name)
			if i < 0 {
				return JavaShare{}, fmt.Errorf("%w: no column %s in %q", ErrNoShareSummary, name, j.Header)
			}
			var err error
			if *into, err = strconv.ParseFloat(fs[i], 64); err != nil {
				return JavaShare{}, fmt.Errorf("%w: column %s is %q", ErrNoShareSummary, name, fs[i])
			}
		}
		j.Records, j.Line = int64(recs), line
	}
	if j.Line == "" {
		return JavaShare{}, ErrNoShareSummary
	}
	return j, nil
}

// javaShareArgs is the java command line of one run. The locale is fixed:
// a German JVM prints 26188,29, which must not parse as anything.
func javaShareArgs(classPath string, seeds []string, topic, group string, records int64, threads int) []string {
	return []string{"-cp", classPath, "-Duser.language=en", "-Duser.country=US", SharePerfClass,
		"--bootstrap-server", strings.Join(seeds, ","), "--topic", topic, "--group", group,
		"--num-records", strconv.FormatInt(records, 10), "--threads", strconv.Itoa(threads), "--timeout", "60000"}
}

// recordedArgs is the command line as the result records it: the jars under
// the cache named by $KPAR_CACHE, not by this machine's directory.
func recordedArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = results.Label(a, broker.CacheDir(), "$KPAR_CACHE")
	}
	return out
}

// runJavaShare runs the tool, bounded by timeout, on a share group that
// already reads from the earliest offset.
func runJavaShare(ctx context.Context, java string, args []string, threads int, timeout time.Duration) (JavaShare, error) {
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, p, err := proc.Output(rctx, "ShareConsumerPerformance", append([]string{java}, args...), proc.Options{})
	if err != nil {
		if rctx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("%w (%v)", ErrChildTimeout, timeout)
		}
		return JavaShare{}, fmt.Errorf("ShareConsumerPerformance: %w: %s", err, tailOf(string(out), 1500))
	}
	j, err := parseSharePerf(out)
	if err != nil {
		return JavaShare{}, fmt.Errorf("%w; output: %s", err, tailOf(string(out), 1500))
	}
	u := p.Usage()
	j.PeakRSSKiB, j.CPUSeconds = u.PeakRSSKiB, u.CPUSeconds
	j.Threads, j.WallSeconds, j.Args = threads, u.Wall.Seconds(), recordedArgs(args)
	j.CPUPerMillion = clock.PerMillion(j.CPUSeconds, j.Records)
	return j, nil
}

func tailOf(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
