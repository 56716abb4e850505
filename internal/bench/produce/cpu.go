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

// coreBusy returns each CPU's busy seconds so far (every process's), from
// the cpuN lines of /proc/stat, indexed by CPU number.
func coreBusy() ([]float64, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil, false
	}
	return parseCoreBusy(string(b))
}

func parseCoreBusy(stat string) ([]float64, bool) {
	var out []float64
	for _, line := range strings.Split(stat, "\n") {
		f := strings.Fields(line)
		if len(f) < 8 || !strings.HasPrefix(f[0], "cpu") || f[0] == "cpu" {
			continue
		}
		n, err := strconv.Atoi(f[0][3:])
		if err != nil || n < 0 || n > 4096 {
			return nil, false
		}
		var busy uint64
		for i, v := range f[1:] {
			x, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return nil, false
			}
			if i == 3 || i == 4 || i >= 8 {
				continue
			}
			busy += x
		}
		for len(out) <= n {
			out = append(out, 0)
		}
		out[n] = float64(busy) / 100
	}
	return out, len(out) > 0
}

// loopback returns the bytes received and sent on the loopback interface
// so far, from /proc/net/dev. Every local connection crosses lo: the
// bench's, broker-to-broker replication on a local cluster, and anyone
// else's on the machine.
func loopback() (rx, tx int64, ok bool) {
	b, err := os.ReadFile("/proc/net/dev")
	if err != nil {
		return 0, 0, false
	}
	return parseNetDev(string(b), "lo")
}

// parseNetDev finds iface's line ("  lo: rxbytes rxpackets ... (8 rx
// fields) txbytes ...") in /proc/net/dev's text.
func parseNetDev(text, iface string) (rx, tx int64, ok bool) {
	for _, line := range strings.Split(text, "\n") {
		name, rest, found := strings.Cut(line, ":")
		if !found || strings.TrimSpace(name) != iface {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 9 {
			return 0, 0, false
		}
		r, err1 := strconv.ParseInt(f[0], 10, 64)
		t, err2 := strconv.ParseInt(f[8], 10, 64)
		if err1 != nil || err2 != nil {
			return 0, 0, false
		}
		return r, t, true
	}
	return 0, 0, false
}
