package produce

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// selfCPU returns this process's user+system CPU seconds so far.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return rusageSeconds(&ru)
}

func rusageSeconds(ru *syscall.Rusage) float64 {
	return time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime)).Seconds()
}

// BrokerCPU reads the CPU seconds of the broker JVMs. A nil func means the
// broker's CPU is unknown (a remote broker, or not one kpar started).
type BrokerCPU func() (float64, error)

// machineBusy returns the busy CPU seconds of the whole machine so far
// (every process, including other people's), from /proc/stat. On a shared
// host that is what tells "our CPUs are full" from "the machine is full".
func machineBusy() (float64, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, false
	}
	var busy uint64
	for i, v := range f[1:] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, false
		}
		// idle (4th) and iowait (5th) are not busy; guest time is already
		// counted in user.
		if i == 3 || i == 4 || i >= 8 {
			continue
		}
		busy += n
	}
	return float64(busy) / 100, true // USER_HZ is 100 on Linux
}
