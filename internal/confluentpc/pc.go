// Package confluentpc runs Confluent's Parallel Consumer (PC, Java) as a measured
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
package confluentpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kpar/kpar/internal/broker"
	"github.com/kpar/kpar/internal/proc"
)

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
	argv, cfg, err := Command(ctx, cfg)
	if err != nil {
		return Result{}, err
	}
	flags := append([]string{}, cfg.JVMFlags...)

	runCtx, cancel := context.WithTimeout(ctx, cfg.Timeout+exitGrace)
	defer cancel()
	var stdout bytes.Buffer
	p, err := proc.Start(runCtx, "pc harness", argv, proc.Options{Stdout: &stdout, Tail: 64 << 10})
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
				return Result{}, fmt.Errorf("%w: it refused its flags %q (a bug in package confluentpc); %s",
					ErrExit, cfg.harnessArgs(), errTail())
			}
		}
		return Result{}, fmt.Errorf("%w (%v); %s", ErrExit, runErr, errTail())
	}
	out, err := ParseLine(stdout.Bytes())
	if err != nil {
		return Result{}, fmt.Errorf("%w; stdout tail:\n%s\n%s", err, broker.TailLines(stdout.String(), 5), errTail())
	}
	if out.Records != int64(cfg.Records) {
		return Result{}, fmt.Errorf("%w: records %d, asked for %d", ErrNoJSON, out.Records, cfg.Records)
	}
	r := Result{HarnessOutput: out, WallSeconds: wall.Seconds(), JVMFlags: flags, Command: argv}
	u := p.Usage()
	r.PeakRSSKiB, r.ChildCPUSeconds = u.PeakRSSKiB, u.CPUSeconds
	return r, nil
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
	java, cp, err := Classpath(ctx, cfg.Progress)
	if err != nil {
		return nil, Config{}, err
	}
	argv := append(append([]string{java}, cfg.JVMFlags...), "-cp", cp, harnessClass)
	return append(argv, cfg.harnessArgs()...), cfg, nil
}
