package compare

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/kpar/kpar/internal/clock"
)

// ChildOutput is the one JSON line a Go contender's process prints.
// Window is the process's clock (internal/clock: distinct records, the
// warm-up, events A and B); Records, Seconds, FirstRecordS and SteadyPerS
// are its n, TotalS, FirstS and PerS. CPUSeconds is the process's own CPU
// over the run (the parent keeps the whole life's, from rusage, as the
// comparable figure).
type ChildOutput struct {
	Window       clock.Window `json:"window"`
	Records      int64        `json:"records"`
	Seconds      float64      `json:"seconds"`        // start to event B
	FirstRecordS float64      `json:"first_record_s"` // start to the first handled record (group join, first fetch)
	SteadyPerS   float64      `json:"steady_records_per_s"`
	MeanHandler  float64      `json:"mean_handler_ms"` // 0 for a no-op handler
	CPUSeconds   float64      `json:"cpu_seconds"`
	// FetchMaxBytes and FetchMaxPartitionBytes are the client's
	// kgo.FetchMaxBytes and FetchMaxPartitionBytes as it reports them
	// (kpar and the plain loops): the plain loop runs once more with
	// kpar's, and PC's capped runs get both.
	FetchMaxBytes          int32 `json:"fetch_max_bytes,omitempty"`
	FetchMaxPartitionBytes int32 `json:"fetch_max_partition_bytes,omitempty"`
	// Order is the per-key order of an io run (traced runs only).
	Order *Order `json:"order,omitempty"`
	// Share contenders: member clients in the process, and processings
	// of records the broker delivered more than once.
	Members     int   `json:"members,omitempty"`
	Redelivered int64 `json:"redelivered,omitempty"`
}

// cpuNow is this process's user+sys CPU so far.
func cpuNow() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime)).Seconds()
}

// RunKparChild is `kpar child compare-kpar`: it consumes spec.Records
// distinct records with kpar's parallel consumer under key order
// (runKparGroup, traced for Order when spec.Trace), or in share mode when
// spec.ShareGroup is set, and writes one ChildOutput line to stdout.
func RunKparChild(ctx context.Context, spec KparSpec, stdout io.Writer) error {
	if spec.ShareGroup != "" {
		out, err := runKparShare(ctx, spec)
		if err != nil {
			return err
		}
		return json.NewEncoder(stdout).Encode(out)
	}
	var tr *tracer
	if spec.Trace {
		tr = newTracer(spec.Records + spec.Records/10 + int64(spec.Concurrency))
	}
	out, err := runKparGroup(ctx, spec, tr)
	if err != nil {
		return err
	}
	if tr != nil {
		out.Order = tr.order() // the consumer was closed: every handler is done
	}
	return json.NewEncoder(stdout).Encode(out)
}

// RunPlainChild is `kpar child compare-plain`: a plain franz-go poll loop
// (kgo's defaults, no group) over spec.Records records, one ChildOutput
// line to stdout.
func RunPlainChild(ctx context.Context, spec PlainSpec, stdout io.Writer) error {
	out, err := runPlainLoop(ctx, spec)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(out)
}

// ErrChildTimeout: a child process outlived Config.Timeout and was killed.
var ErrChildTimeout = errors.New("did not finish within the timeout and was killed")

// proc is what the parent sees of a finished child.
type proc struct {
	out        ChildOutput
	peakRSSKiB int64   // rusage maxrss (KiB on Linux)
	cpuSeconds float64 // rusage user+sys, the whole process life
	wall       float64
}

// runChild runs the process name (argv), bounded by timeout, and parses
// its last stdout line.
func runChild(ctx context.Context, name string, argv []string, timeout time.Duration) (proc, error) {
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(rctx, argv[0], argv[1:]...)
	cmd.WaitDelay = 5 * time.Second
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		tail := strings.TrimSpace(stderr.String())
		if len(tail) > 2000 {
			tail = "..." + tail[len(tail)-2000:]
		}
		switch {
		case ctx.Err() != nil:
			return proc{}, fmt.Errorf("%s: %w", name, ctx.Err())
		case rctx.Err() != nil:
			return proc{}, fmt.Errorf("%s %w (%v): %s", name, ErrChildTimeout, timeout, tail)
		}
		return proc{}, fmt.Errorf("%s (%s): %w: %s", name, strings.Join(argv, " "), err, tail)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var o ChildOutput
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &o); err != nil || o.Records <= 0 {
		return proc{}, fmt.Errorf("%s (%s) printed no result line (%v): %q", name, strings.Join(argv, " "), err, out.String())
	}
	p := proc{out: o, wall: wall.Seconds()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		p.peakRSSKiB = ru.Maxrss
		p.cpuSeconds = time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime)).Seconds()
	}
	return p, nil
}
