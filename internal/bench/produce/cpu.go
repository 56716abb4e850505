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
	r.machine, r.cores = proc.MachineBusy()
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
