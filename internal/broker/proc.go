package broker

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, 100 on every Linux we run on.
const clockTicks = 100

// procStat holds the /proc/<pid>/stat fields we use.
type procStat struct {
	state     byte
	utime     uint64 // ticks
	stime     uint64 // ticks
	startTime uint64 // ticks after boot: with the pid, a process identity
}

func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	// The command name may hold spaces and parens: fields start after the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return procStat{}, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+2:])
	if len(f) < 20 {
		return procStat{}, fmt.Errorf("short /proc/%d/stat", pid)
	}
	// f[0] is field 3 (state); utime is field 14, stime 15, starttime 22.
	var ps procStat
	ps.state = f[0][0]
	ps.utime, _ = strconv.ParseUint(f[11], 10, 64)
	ps.stime, _ = strconv.ParseUint(f[12], 10, 64)
	ps.startTime, _ = strconv.ParseUint(f[19], 10, 64)
	return ps, nil
}

// ProcessAlive reports whether pid runs and is the process recorded with
// startTime (0: any), so a recycled pid is never mistaken for our broker,
// nor signalled.
func ProcessAlive(pid int, startTime uint64) bool {
	if pid <= 0 {
		return false
	}
	ps, err := readProcStat(pid)
	if err != nil || ps.state == 'Z' || ps.state == 'X' {
		return false
	}
	return startTime == 0 || ps.startTime == startTime
}

// CPUSeconds returns user+system CPU seconds used so far by pid.
func CPUSeconds(pid int) (float64, error) {
	ps, err := readProcStat(pid)
	if err != nil {
		return 0, err
	}
	return float64(ps.utime+ps.stime) / clockTicks, nil
}

// Spawn starts argv in dir (env nil: this process's) in its own session, so
// it outlives this command and our terminal's signals, with its output in
// the file out (appended to with appendOut, else truncated), and returns its
// pid and /proc start time (0 when unread).
func Spawn(argv, env []string, dir, out string, appendOut bool) (pid int, startTime uint64, err error) {
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if appendOut {
		flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	}
	f, err := os.OpenFile(out, flags, 0o644)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	// Not CommandContext: the process must outlive this command.
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env, cmd.Dir = env, dir
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	if ps, err := readProcStat(cmd.Process.Pid); err == nil {
		startTime = ps.startTime
	}
	// Reap it if it dies while we wait, so a liveness check sees it gone;
	// after we exit, init adopts it.
	go func() { _ = cmd.Wait() }()
	return cmd.Process.Pid, startTime, nil
}

// Proc is a process kpar started, as recorded: its pid and /proc start time.
type Proc struct {
	Pid       int
	StartTime uint64
}

func (p Proc) alive() bool { return ProcessAlive(p.Pid, p.StartTime) }

// Terminate sends SIGTERM to each of ps still running as recorded, waits up
// to grace for them to exit, SIGKILLs what remains and waits up to 10 s for
// it to go. It returns the pids it sent SIGTERM.
func Terminate(ps []Proc, grace time.Duration) []int {
	var stopped []int
	for _, p := range ps {
		if p.alive() {
			_ = syscall.Kill(p.Pid, syscall.SIGTERM)
			stopped = append(stopped, p.Pid)
		}
	}
	for deadline := time.Now().Add(grace); slices.ContainsFunc(ps, Proc.alive) && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	for _, p := range ps {
		if p.alive() {
			_ = syscall.Kill(p.Pid, syscall.SIGKILL)
		}
	}
	// A SIGKILLed JVM with a large heap takes a moment to exit; Down checked
	// at once and reported "did not stop" for a node a loaded machine had
	// not finished killing (seen in the 3-node lab test).
	for killed := time.Now().Add(10 * time.Second); slices.ContainsFunc(ps, Proc.alive) && time.Now().Before(killed); {
		time.Sleep(50 * time.Millisecond)
	}
	return stopped
}
