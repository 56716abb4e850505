package compare

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"syscall"
	"time"

	"github.com/kpar/kpar/internal/clock"
	"github.com/kpar/kpar/internal/proc"
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

// childRun is what the parent sees of a finished child.
type childRun struct {
	out        ChildOutput
	peakRSSKiB int64   // rusage maxrss (KiB on Linux)
	cpuSeconds float64 // rusage user+sys, the whole process life
	wall       float64
}

// runChild runs the child name as label with spec, bounded by timeout,
// and parses its last stdout line.
func runChild(ctx context.Context, start proc.Starter, name, label string, spec any, timeout time.Duration) (childRun, error) {
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last []byte
	p, err := start(rctx, name, spec, proc.Options{OnLine: func(b []byte) { last = append(last[:0], b...) }})
	if err != nil {
		return childRun{}, fmt.Errorf("%s: %w", label, err)
	}
	if err := p.Wait(); err != nil {
		tail := p.Tail(0)
		if len(tail) > 2000 {
			tail = "..." + tail[len(tail)-2000:]
		}
		switch {
		case ctx.Err() != nil:
			return childRun{}, fmt.Errorf("%s: %w", label, ctx.Err())
		case rctx.Err() != nil:
			return childRun{}, fmt.Errorf("%s %w (%v): %s", label, ErrChildTimeout, timeout, tail)
		}
		return childRun{}, fmt.Errorf("%s (kpar child %s): %w: %s", label, name, err, tail)
	}
	var o ChildOutput
	if err := json.Unmarshal(last, &o); err != nil || o.Records <= 0 {
		return childRun{}, fmt.Errorf("%s (kpar child %s) printed no result line (%v): %q", label, name, err, last)
	}
	u := p.Usage()
	return childRun{out: o, wall: u.Wall.Seconds(), peakRSSKiB: u.PeakRSSKiB, cpuSeconds: u.CPUSeconds}, nil
}
