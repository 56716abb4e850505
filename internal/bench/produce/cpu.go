package produce

import (
	"os"
	"strconv"
	"strings"

	"github.com/kpar/kpar/internal/proc"
)

// BrokerCPU reads the CPU seconds of the broker JVMs. A nil func means the
// broker's CPU is unknown (a remote broker, or not one kpar started).
type BrokerCPU func() (float64, error)

// reading is the counters a window takes before and after the measured
// interval; nil where one was unreadable.
type reading struct {
	self float64
	// broker is the broker JVMs' CPU seconds; machine the busy CPU seconds
	// of the whole machine (every process, including other people's: on a
	// shared host that is what tells "our CPUs are full" from "the machine
	// is full"); cores each CPU's, by number.
	broker, machine *float64
	cores           []float64
	// rx and tx are the loopback interface's bytes. Every local connection
	// crosses lo: the bench's, broker-to-broker replication on a local
	// cluster, and anyone else's on the machine.
	rx, tx *int64
}

// read takes the counters now, brokerCPU (nil: unknown) among them.
func read(brokerCPU BrokerCPU) reading {
	r := reading{self: proc.SelfCPU()}
	if brokerCPU != nil {
		if v, err := brokerCPU(); err == nil {
			r.broker = &v
		}
	}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		r.machine, r.cores = parseStat(string(b))
	}
	if b, err := os.ReadFile("/proc/net/dev"); err == nil {
		if rx, tx, ok := parseNetDev(string(b), "lo"); ok {
			r.rx, r.tx = &rx, &tx
		}
	}
	return r
}

// delta is b-a, nil when either is unknown.
func delta[T int64 | float64](a, b *T) *T {
	if a == nil || b == nil {
		return nil
	}
	d := *b - *a
	return &d
}

// into sets st's CPU and loopback figures from the readings a (before) and
// b (after); the bench's own CPU is this process's.
func (a reading) into(st *Step, b reading) {
	st.BenchCPUSeconds = b.self - a.self
	st.BrokerCPUSeconds, st.MachineBusyCPUSeconds = delta(a.broker, b.broker), delta(a.machine, b.machine)
	st.LoopbackRxBytes, st.LoopbackTxBytes = delta(a.rx, b.rx), delta(a.tx, b.tx)
	if len(b.cores) > 0 && len(b.cores) == len(a.cores) {
		st.CoreBusySeconds = make([]float64, len(b.cores))
		for i := range b.cores {
			st.CoreBusySeconds[i] = b.cores[i] - a.cores[i]
		}
	}
}

// parseStat reads /proc/stat's text: the machine's busy CPU seconds (the
// "cpu" line; nil without it) and each CPU's (the cpuN lines, indexed by
// number; nil without them or when one is malformed).
func parseStat(stat string) (machine *float64, cores []float64) {
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
		return r, t, err1 == nil && err2 == nil
	}
	return 0, 0, false
}
