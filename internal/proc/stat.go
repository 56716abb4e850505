package proc

import (
	"os"
	"strconv"
	"strings"
)

// MachineBusy reads /proc/stat: the machine's busy CPU seconds so far (the
// "cpu" line: every process's, other people's too; nil when unreadable)
// and each CPU's (the cpuN lines, indexed by number; nil without them).
func MachineBusy() (machine *float64, cores []float64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil, nil
	}
	return ParseStat(string(b))
}

// ParseStat reads /proc/stat's text as MachineBusy does; cores is nil
// when a cpuN line is malformed.
func ParseStat(stat string) (machine *float64, cores []float64) {
	for _, line := range strings.Split(stat, "\n") {
		f := strings.Fields(line)
		if len(f) < 8 || !strings.HasPrefix(f[0], "cpu") {
			continue
		}
		busy, ok := busySeconds(f[1:])
		if f[0] == "cpu" {
			if ok {
				machine = &busy
			}
			continue
		}
		n, err := strconv.Atoi(f[0][3:])
		if !ok || err != nil || n < 0 || n > 4096 {
			return machine, nil
		}
		for len(cores) <= n {
			cores = append(cores, 0)
		}
		cores[n] = busy
	}
	return machine, cores
}

// busySeconds sums a /proc/stat line's busy ticks: idle (4th) and iowait
// (5th) are not busy, and guest time is already counted in user.
func busySeconds(ticks []string) (float64, bool) {
	var busy uint64
	for i, v := range ticks {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, false
		}
		if i != 3 && i != 4 && i < 8 {
			busy += n
		}
	}
	return float64(busy) / 100, true // USER_HZ is 100 on Linux
}
