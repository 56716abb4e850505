package trogdor

import (
	"slices"
	"time"

	"github.com/kpar/kpar/internal/broker"
	"github.com/kpar/kpar/internal/proc"
)

// cpuProbe reads the CPU seconds of the broker JVMs (when they are the
// ones 'kpar broker up' started and the sweep's brokers) and of the agent
// JVMs (when they run on this host).
type cpuProbe struct {
	brokers, agents []int
}

// newCPUProbe finds the pids it can read.
func newCPUProbe(seeds []string, agents []Process, shared bool) cpuProbe {
	var p cpuProbe
	if st, err := broker.LoadState(broker.Home()); err == nil {
		boot := st.Bootstrap()
		ours := len(seeds) > 0
		for _, s := range seeds {
			ours = ours && slices.Contains(boot, s)
		}
		for _, n := range st.Nodes {
			if ours && n.Alive() {
				p.brokers = append(p.brokers, n.Pid)
			}
		}
	}
	for _, a := range agents {
		if shared && a.Alive() {
			p.agents = append(p.agents, a.Pid)
		}
	}
	return p
}

// cpuReading is one read of the counters.
type cpuReading struct {
	at                      time.Time
	broker, agents, machine *float64
}

func sum(pids []int) *float64 {
	if len(pids) == 0 {
		return nil
	}
	var s float64
	for _, pid := range pids {
		v, err := broker.CPUSeconds(pid)
		if err != nil {
			return nil
		}
		s += v
	}
	return &s
}

func (p cpuProbe) read() cpuReading {
	return cpuReading{at: time.Now(), broker: sum(p.brokers), agents: sum(p.agents), machine: machineBusyNow()}
}

// since is the average cores used from a until now.
func (p cpuProbe) since(a cpuReading) *CPU {
	b := p.read()
	wall := b.at.Sub(a.at)
	if wall <= 0 || (b.broker == nil && b.agents == nil && b.machine == nil) {
		return nil
	}
	avg := func(x, y *float64) *float64 {
		if x == nil || y == nil {
			return nil
		}
		v := (*y - *x) / wall.Seconds()
		return &v
	}
	return &CPU{WallMs: wall.Milliseconds(), BrokerCores: avg(a.broker, b.broker), AgentCores: avg(a.agents, b.agents), MachineCores: avg(a.machine, b.machine)}
}

// machineBusyNow is the host's busy CPU seconds so far (every process,
// other people's too), nil when unreadable.
func machineBusyNow() *float64 {
	m, _ := proc.MachineBusy()
	return m
}
