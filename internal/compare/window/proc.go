package window

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one consumer process: its progress lines are read as they come,
// the tail of its stderr is kept for errors.
type proc struct {
	name    string
	cmd     *exec.Cmd
	started time.Time
	stderr  *tailBuf
	stdin   io.WriteCloser // the release line goes here; its end tells a stuck process the driver is gone

	mu   sync.Mutex
	last progressLine
	seen bool

	done    chan struct{} // closed once the process has exited
	waitErr error
	stopped bool // we signalled it
}

func startProc(name string, cmd *exec.Cmd) (*proc, error) {
	p := &proc{name: name, cmd: cmd, stderr: &tailBuf{max: 32 << 10}, done: make(chan struct{})}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	cmd.Stderr = p.stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p.started = time.Now()
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			var pl progressLine
			if json.Unmarshal(sc.Bytes(), &pl) == nil && pl.Kind == "progress" {
				p.mu.Lock()
				p.last, p.seen = pl, true
				p.mu.Unlock()
			}
		}
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// progress returns the last progress line, if any came.
func (p *proc) progress() (progressLine, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last, p.seen
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// unexpected is the error for a process that exited before we stopped it
// (nil when it exited cleanly by itself).
func (p *proc) unexpected() error {
	if p.stopped || p.waitErr == nil {
		return nil
	}
	return fmt.Errorf("%s exited unexpectedly: %v; stderr tail:\n%s", p.name, p.waitErr, tailLines(p.stderr.String(), 20))
}

// release lets the process's stuck records finish: the release line on its
// stdin (the only thing that does).
func (p *proc) release() error {
	if _, err := io.WriteString(p.stdin, ReleaseLine+"\n"); err != nil {
		if err := p.unexpected(); err != nil && p.exited() {
			return err
		}
		return fmt.Errorf("release the stuck records of %s: %w", p.name, err)
	}
	return nil
}

// kill SIGKILLs the process and waits for it to exit.
func (p *proc) kill() {
	p.stopped = true
	if !p.exited() {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-p.done
}

// stop asks the process to end (SIGTERM: kpar drains and commits, the JVM
// exits) and SIGKILLs it after grace.
func (p *proc) stop(grace time.Duration) {
	p.stopped = true
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.kill()
	}
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

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// errEarly is a stuck record in the processed log before the release: the
// library handed it to the handler a second time while the first call was
// still held (the gate holds only the first call per partition).
var errEarly = errors.New("a stuck record was processed before the release")
