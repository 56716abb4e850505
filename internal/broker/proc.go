package broker

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
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

// alive reports whether pid is running and is the same process we started
// (same start time), so a recycled pid is never mistaken for our broker.
func alive(pid int, startTime uint64) bool {
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

func signal(pid int, sig syscall.Signal) error { return syscall.Kill(pid, sig) }

// ProcStartTime returns pid's /proc start time (ticks after boot): with the
// pid, the identity other packages record for a process they started
// (internal/trogdor's JVMs), as Up does for the broker's.
func ProcStartTime(pid int) (uint64, error) {
	ps, err := readProcStat(pid)
	return ps.startTime, err
}

// ProcessAlive reports whether pid runs and is the process recorded with
// startTime (0: any), so a recycled pid is never signalled.
func ProcessAlive(pid int, startTime uint64) bool { return alive(pid, startTime) }
