// Package proc runs child processes, one way for every measurement: each
// in its own process group (so a signal reaches the children and JVMs it
// starts), its rusage once it exits, a bounded tail of its stderr for
// error messages, group signals, and one idempotent Wait; a cancelled
// context SIGKILLs the group. child.go is the protocol every `kpar child
// <name>` speaks.
package proc

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Options are how a process is started; the zero value discards stdout.
type Options struct {
	Env       []string          // added to the inherited environment
	Dir       string            // working directory ("": the parent's)
	Stdin     bool              // a pipe for Send (a child's commands); closed once the process exits
	OnLine    func(line []byte) // called with each stdout line (the slice is reused after it returns)
	Stdout    io.Writer         // stdout as bytes, instead of OnLine
	Stderr    io.Writer         // stderr too, beside the tail
	OnErrLine func(line []byte) // called with each stderr line, beside the tail
	Tail      int               // bytes of stderr kept for errors (default 32 KiB)
}

// Process is one started child.
type Process struct {
	Name    string
	Started time.Time

	cmd      *exec.Cmd
	stdin    io.WriteCloser
	stdinMu  sync.Mutex
	tail     *tailBuf
	done     chan struct{}
	err      error
	wall     time.Duration
	signaled atomic.Bool
}

// Start starts argv as name (the name errors use) in its own process group.
func Start(ctx context.Context, name string, argv []string, o Options) (*Process, error) {
	if len(argv) == 0 {
		return nil, fmt.Errorf("start %s: no command", name)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Dir = o.Dir
	if len(o.Env) > 0 {
		cmd.Env = append(os.Environ(), o.Env...)
	}
	cmd.WaitDelay = 5 * time.Second // a grandchild holding our pipes open cannot hang Wait
	if o.Tail <= 0 {
		o.Tail = 32 << 10
	}
	p := &Process{Name: name, cmd: cmd, tail: &tailBuf{max: o.Tail}, done: make(chan struct{})}
	cmd.Stderr = p.tail
	ws := []io.Writer{p.tail}
	if o.Stderr != nil {
		ws = append(ws, o.Stderr)
	}
	if o.OnErrLine != nil {
		ws = append(ws, &lineWriter{f: o.OnErrLine})
	}
	if len(ws) > 1 {
		cmd.Stderr = io.MultiWriter(ws...)
	}
	var lw *lineWriter
	switch {
	case o.OnLine != nil:
		lw = &lineWriter{f: o.OnLine}
		cmd.Stdout = lw
	case o.Stdout != nil:
		cmd.Stdout = o.Stdout
	}
	if o.Stdin {
		var err error
		if p.stdin, err = cmd.StdinPipe(); err != nil {
			return nil, err
		}
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p.Started = time.Now()
	go func() {
		p.err = cmd.Wait()
		if lw != nil && len(lw.buf) > 0 { // a last line without its newline
			lw.f(lw.buf)
		}
		p.wall = time.Since(p.Started)
		if p.stdin != nil {
			p.stdinMu.Lock()
			p.stdin.Close()
			p.stdinMu.Unlock()
		}
		close(p.done)
	}()
	if ctx.Done() != nil {
		go func() {
			select {
			case <-ctx.Done():
				p.Signal(syscall.SIGKILL)
			case <-p.done:
			}
		}()
	}
	return p, nil
}

// Pid is the process's id (and its group's).
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed once the process has exited and its output is read.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits for the process to exit and returns its exit error; it may be
// called any number of times, from any goroutine.
func (p *Process) Wait() error {
	<-p.done
	return p.err
}

// Signaled reports whether we signalled the process (Signal, Kill, Stop, a
// cancelled context): its exit is then not its own doing.
func (p *Process) Signaled() bool { return p.signaled.Load() }

// Signal sends sig to the process's group: the process and whatever it
// started (SIGKILL ends them all, SIGSTOP and SIGCONT pause and resume
// them all). SIGTERM and SIGINT go to the process alone: a graceful stop is
// its to pass on (a JVM it started is asked to close, not signalled).
func (p *Process) Signal(sig syscall.Signal) error {
	if sig != syscall.SIGCONT {
		p.signaled.Store(true)
	}
	if sig == syscall.SIGTERM || sig == syscall.SIGINT {
		return syscall.Kill(p.cmd.Process.Pid, sig)
	}
	return syscall.Kill(-p.cmd.Process.Pid, sig)
}

// Kill SIGKILLs the group and waits for the process to exit.
func (p *Process) Kill() {
	p.signaled.Store(true)
	if !p.Exited() {
		_ = p.Signal(syscall.SIGKILL)
	}
	<-p.done
}

// Stop asks the process to end (SIGTERM) and SIGKILLs its group after grace.
func (p *Process) Stop(grace time.Duration) {
	if p.Exited() {
		p.signaled.Store(true)
		return
	}
	_ = p.Signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		p.Kill()
	}
}

// Send writes line and a newline on the process's stdin (Options.Stdin).
func (p *Process) Send(line string) error {
	p.stdinMu.Lock()
	defer p.stdinMu.Unlock()
	if p.stdin == nil {
		return fmt.Errorf("%s: no stdin", p.Name)
	}
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		return fmt.Errorf("%s: write to its stdin: %w", p.Name, err)
	}
	return nil
}

// Usage is what the kernel counted for an exited process.
type Usage struct {
	CPUSeconds float64 // user + sys over its life
	PeakRSSKiB int64   // maxrss (KiB on Linux)
	Wall       time.Duration
}

// Usage returns the process's rusage; zero until it has exited.
func (p *Process) Usage() Usage {
	if !p.Exited() || p.cmd.ProcessState == nil {
		return Usage{}
	}
	u := Usage{Wall: p.wall}
	if ru, ok := p.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		u.PeakRSSKiB, u.CPUSeconds = ru.Maxrss, cpuSeconds(ru)
	}
	return u
}

// SelfCPU is this process's CPU time so far (user + system), in seconds; 0
// when the kernel does not say.
func SelfCPU() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return cpuSeconds(&ru)
}

func cpuSeconds(ru *syscall.Rusage) float64 {
	return time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime)).Seconds()
}

// ExitCode is the exit code (-1 while running or when killed by a signal).
func (p *Process) ExitCode() int {
	if !p.Exited() || p.cmd.ProcessState == nil {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// ExitSignal is the signal that ended the process (0: it exited by itself
// or still runs).
func (p *Process) ExitSignal() syscall.Signal {
	if !p.Exited() || p.cmd.ProcessState == nil {
		return 0
	}
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return ws.Signal()
	}
	return 0
}

// Tail is the last of its stderr, at most n lines (0: all kept), trimmed.
func (p *Process) Tail(n int) string {
	s := strings.TrimSpace(p.tail.String())
	if n <= 0 {
		return s
	}
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Err is the error for a process that failed: its exit error with the tail
// of its stderr; nil when it exited cleanly.
func (p *Process) Err() error {
	if err := p.Wait(); err != nil {
		if t := p.Tail(20); t != "" {
			return fmt.Errorf("%s: %w: %s", p.Name, err, t)
		}
		return fmt.Errorf("%s: %w", p.Name, err)
	}
	return nil
}

// Output runs argv to its end, its stdout and stderr interleaved into
// what it returns (as a tool's log reads); err is its exit error.
func Output(ctx context.Context, name string, argv []string, o Options) ([]byte, *Process, error) {
	var out lockedBuffer
	o.Stdout, o.Stderr, o.OnLine = &out, &out, nil
	p, err := Start(ctx, name, argv, o)
	if err != nil {
		return nil, nil, err
	}
	err = p.Wait()
	return out.bytes(), p, err
}

// lockedBuffer is a bytes.Buffer for two writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(b)
}

func (l *lockedBuffer) bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

// tailBuf keeps about the last max bytes written.
type tailBuf struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuf) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max/2:]...)
	}
	return len(b), nil
}

func (t *tailBuf) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// lineWriter calls f with each complete line written to it.
type lineWriter struct {
	f   func([]byte)
	buf []byte
}

func (w *lineWriter) Write(b []byte) (int, error) {
	w.buf = append(w.buf, b...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.f(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) == 0 {
		w.buf = nil
	}
	return len(b), nil
}
