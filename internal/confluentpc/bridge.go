package confluentpc

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The lab bridge: PC consumes, orders, retries and commits in a JVM
// (assets/LabBridge.java) while the handler runs in Go, in the lab worker
// that started the JVM: each record crosses a pipe as one request line
// and waits for its reply line (the protocol: LabBridge.java's header and
// DESIGN.md).

// labBridgeClass is the bridge's main class (default package).
const labBridgeClass = "LabBridge"

// BridgeRecord is one record PC asks the Go handler to process. Key and
// Value are nil when the record's are null.
type BridgeRecord struct {
	ID        uint64
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte
	Value     []byte
}

// ErrBridgeLine is wrapped by every malformed protocol line.
var ErrBridgeLine = errors.New("pc lab bridge: malformed line")

// DecodeRequest parses one request line (without the newline).
func DecodeRequest(line string) (BridgeRecord, error) {
	f := strings.Split(line, " ")
	if len(f) != 7 || f[0] != "R" {
		return BridgeRecord{}, fmt.Errorf("%w: want R id topic partition offset key value, got %q", ErrBridgeLine, line)
	}
	id, idErr := strconv.ParseUint(f[1], 10, 64)
	p, pErr := strconv.ParseInt(f[3], 10, 32)
	o, oErr := strconv.ParseInt(f[4], 10, 64)
	k, kErr := decodeBytes(f[5])
	v, vErr := decodeBytes(f[6])
	for i, err := range []error{idErr, pErr, oErr, kErr, vErr} {
		if err != nil {
			what := []string{"id", "partition", "offset", "key", "value"}[i]
			return BridgeRecord{}, fmt.Errorf("%w: %s in %q: %v", ErrBridgeLine, what, line, err)
		}
	}
	return BridgeRecord{ID: id, Topic: f[2], Partition: int32(p), Offset: o, Key: k, Value: v}, nil
}

func decodeBytes(s string) ([]byte, error) {
	switch {
	case s == "-":
		return nil, nil
	case strings.HasPrefix(s, "+"):
		b, err := base64.StdEncoding.DecodeString(s[1:])
		if b == nil && err == nil {
			b = []byte{} // empty, not null
		}
		return b, err
	}
	return nil, errors.New(`want "-" or "+" and base64`)
}

// EncodeReply renders the reply to request id (without the newline): "ok",
// or "fail" and err's message on one line.
func EncodeReply(id uint64, err error) string {
	if err == nil {
		return strconv.FormatUint(id, 10) + " ok"
	}
	msg := strings.Join(strings.Fields(err.Error()), " ")
	if msg == "" {
		msg = "failed"
	}
	return strconv.FormatUint(id, 10) + " fail " + msg
}

// replier writes reply lines; handler goroutines share it.
type replier struct {
	mu sync.Mutex
	w  io.Writer
}

func (r *replier) line(s string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, err := io.WriteString(r.w, s+"\n")
	return err
}

// serve reads the JVM's stdout until EOF: each request runs handle in its
// own goroutine (PC bounds how many are outstanding: one per PC thread) and
// its reply is written to w; other lines go to other (PC's logs belong on
// stderr, so these are rare). It returns once r is exhausted and every
// handler returned.
func serve(r io.Reader, w *replier, handle func(BridgeRecord) error, other func(string)) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "R ") {
			other(line)
			continue
		}
		req, err := DecodeRequest(line)
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A failed write means the JVM is gone; it no longer waits.
			_ = w.line(EncodeReply(req.ID, handle(req)))
		}()
	}
	return sc.Err()
}

// BridgeConfig starts one LabBridge JVM. Durations are sent in whole
// milliseconds (CloseTimeout in whole seconds, rounded up).
type BridgeConfig struct {
	Java      string // java binary (Classpath's first result)
	Classpath string // Classpath's second result
	JVMFlags  []string

	Seeds      []string
	Topic      string
	Group      string
	InstanceID string // group.instance.id; "" = dynamic member
	// ClientConfig is a Java client properties file of security settings
	// (TLS, SASL; the password in it), added to the consumer's; "" = none.
	// The JVM deletes it once read.
	ClientConfig string

	Ordering       Ordering
	MaxConcurrency int
	// Group timeouts as the Java consumer names them: session.timeout.ms,
	// max.poll.interval.ms (the classic protocol's rebalance timeout) and
	// heartbeat.interval.ms. Zero keeps the Java defaults.
	SessionTimeout    time.Duration
	MaxPollInterval   time.Duration
	HeartbeatInterval time.Duration
	// CommitInterval is PC's commitInterval (0: PC's 5 s); RetryDelay its
	// retry delay (0: PC's 1 s).
	CommitInterval time.Duration
	RetryDelay     time.Duration
	// CloseTimeout bounds closeDrainFirst once the bridge is asked to stop
	// (default 10 s); the JVM is killed if it has not exited 5 s after.
	CloseTimeout time.Duration

	// Stderr receives the JVM's stderr (PC's WARN logs) and any stray
	// stdout line. Nil discards them.
	Stderr io.Writer
}

func (c BridgeConfig) closeTimeout() time.Duration {
	if c.CloseTimeout <= 0 {
		return 10 * time.Second
	}
	return c.CloseTimeout
}

// args is the JVM's command line after the java binary.
func (c BridgeConfig) args() []string {
	a := append([]string{}, c.JVMFlags...)
	a = append(a, "-cp", c.Classpath, labBridgeClass,
		"--bootstrap", strings.Join(c.Seeds, ","), "--topic", c.Topic, "--group", c.Group,
		"--instance-id", c.InstanceID, "--ordering", string(c.Ordering),
		"--max-concurrency", strconv.Itoa(max(1, c.MaxConcurrency)),
		"--close-timeout-s", strconv.FormatInt(int64((c.closeTimeout()+time.Second-1)/time.Second), 10))
	a = flagIf(a, c.ClientConfig != "", "--client-config", c.ClientConfig)
	for _, d := range []struct {
		flag string
		d    time.Duration
	}{
		{"--session-timeout-ms", c.SessionTimeout}, {"--max-poll-interval-ms", c.MaxPollInterval},
		{"--heartbeat-ms", c.HeartbeatInterval}, {"--commit-interval-ms", c.CommitInterval},
		{"--retry-delay-ms", c.RetryDelay},
	} {
		a = flagIf(a, d.d > 0, d.flag, strconv.FormatInt(d.d.Milliseconds(), 10))
	}
	return a
}

// RunBridge starts LabBridge and serves PC's handler calls with handle
// until ctx ends, then asks PC to close (drain first, bounded by
// CloseTimeout), keeps serving until the JVM exits, and waits for every
// handler call to return. An exit of the JVM before ctx ends is an error.
//
// The JVM gets SIGKILL when the thread that started it dies (Pdeathsig;
// that thread is locked until the JVM exited), so a SIGKILL of this process
// kills PC at once too, as a crash of a Java consumer process would.
func RunBridge(ctx context.Context, cfg BridgeConfig, handle func(BridgeRecord) error) error {
	if cfg.Java == "" || cfg.Classpath == "" {
		return errors.New("pc lab bridge: no java binary or class path (see pc.Classpath)")
	}
	stderr := cfg.Stderr
	if stderr == nil {
		stderr = io.Discard
	}
	// Pdeathsig fires when the forking *thread* exits; keep it alive.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cmd := exec.Command(cfg.Java, cfg.args()...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pc lab bridge: start java: %w", err)
	}
	w := &replier{w: stdin}
	served := make(chan error, 1)
	go func() {
		err := serve(stdout, w, handle, func(l string) { fmt.Fprintln(stderr, "labbridge stdout:", l) })
		if err != nil {
			// A protocol error: the JVM would wait for replies forever.
			_ = cmd.Process.Kill()
		}
		served <- err
	}()
	exited := make(chan error, 1)
	var serveErr error
	go func() {
		// Wait closes stdout, so reading must be done first.
		serveErr = <-served
		exited <- cmd.Wait()
	}()

	select {
	case err := <-exited:
		stdin.Close()
		return fmt.Errorf("pc lab bridge: the JVM exited before it was asked to stop: %v (serve: %v)", err, serveErr)
	case <-ctx.Done():
	}
	_ = w.line("close")
	var exitErr error
	select {
	case exitErr = <-exited:
	case <-time.After(cfg.closeTimeout() + 5*time.Second):
		_ = cmd.Process.Kill()
		<-exited
		exitErr = fmt.Errorf("did not exit within %v of close and was killed", cfg.closeTimeout()+5*time.Second)
	}
	stdin.Close()
	if exitErr != nil {
		return fmt.Errorf("pc lab bridge: closing: %v", exitErr)
	}
	return serveErr
}
