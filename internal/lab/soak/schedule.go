package soak

import (
	"time"

	"github.com/kpar/kpar/internal/lab/workload"
)

// Fault kinds.
const (
	ConsumerKill = "consumer-kill" // SIGKILL a static member, restart it at once
	Join         = "join"          // a dynamic member joins
	Leave        = "leave"         // the member the last join added leaves (SIGTERM)
	BrokerKill   = "broker-kill"   // SIGKILL a node, start it again on its data after the hold
	BrokerFreeze = "broker-freeze" // SIGSTOP a node, SIGCONT after the hold
	LeaderMove   = "leader-move"   // a partition's replicas reordered (AlterPartitionAssignments), preferred leader elected
	NetDelay     = "net-delay"     // 200 ms added to every chunk to and from one broker
	NetDrop      = "net-drop"      // 5% of the chunks to and from one broker reset their connection
	NetPartition = "net-partition" // nothing reaches one broker from the clients
)

// cycle is one round of the schedule, shuffled per round. Five rounds
// (--duration 10m) are the mix the soak's targets ask for: 20 consumer
// kills, 5 broker kills, 5 freezes, 15 network faults.
var cycle = []string{ConsumerKill, ConsumerKill, Join, BrokerKill, BrokerFreeze, LeaderMove, ConsumerKill, Leave, NetDelay, NetDrop, NetPartition, ConsumerKill}

// holds: how long a fault lasts before it is healed.
var holds = map[string]time.Duration{
	BrokerKill: 8 * time.Second, BrokerFreeze: 6 * time.Second,
	NetDelay: 6 * time.Second, NetDrop: 6 * time.Second, NetPartition: 6 * time.Second,
	ConsumerKill: time.Second,
}

// KillQuiet is how long after a broker kill's start the next fault waits:
// the 30 s recovery target plus the rate window and margin, so a recovery
// is never cut short by the next fault.
const KillQuiet = 40 * time.Second

// Planned is one fault of the schedule.
type Planned struct {
	At       time.Duration // after the run started
	Kind     string
	Strategy string // consumer faults
	Node     int    // broker and network faults: node id (1-based)
	Hold     time.Duration
}

// Gap is the time from a fault's start to the next one's: the interval, at
// least the fault's hold, KillQuiet after a broker kill.
func Gap(kind string, interval time.Duration) time.Duration {
	g := max(interval, holds[kind])
	if kind == BrokerKill {
		g = max(g, KillQuiet)
	}
	return g
}

// Plan is the seeded schedule: a quiet warm-up (a tenth of the run, 15 to
// 30 s), then one fault per Gap, each healed 15 s before production stops,
// and no broker kill later than KillQuiet before the end.
func Plan(seed int64, duration, interval time.Duration, strategies []string, nodes int) []Planned {
	var out []Planned
	warm := min(max(15*time.Second, duration/10), 30*time.Second)
	if duration < 60*time.Second {
		warm = duration / 4
	}
	end := duration - min(15*time.Second, duration/4)
	for i, at := 0, warm; ; i++ {
		kind := shuffled(seed, i/len(cycle))[i%len(cycle)]
		hold := holds[kind]
		if at+hold > end {
			break
		}
		if kind == BrokerKill && at+KillQuiet > duration {
			continue
		}
		p := Planned{At: at, Kind: kind, Hold: hold}
		p.Strategy = strategies[workload.Uint64(seed, 11, uint64(i))%uint64(len(strategies))]
		p.Node = 1 + int(workload.Uint64(seed, 12, uint64(i))%uint64(nodes))
		out = append(out, p)
		at += Gap(kind, interval)
	}
	// A leave with no joined member to take away becomes a join.
	extra := map[string]int{}
	for i := range out {
		switch out[i].Kind {
		case Join:
			extra[out[i].Strategy]++
		case Leave:
			if extra[out[i].Strategy] == 0 {
				out[i].Kind = Join
				extra[out[i].Strategy]++
			} else {
				extra[out[i].Strategy]--
			}
		}
	}
	return out
}

// shuffled is the cycle in the seeded order of round r (Fisher-Yates on
// the stateless dice).
func shuffled(seed int64, r int) []string {
	k := append([]string(nil), cycle...)
	for i := len(k) - 1; i > 0; i-- {
		j := int(workload.Uint64(seed, 10, uint64(r), uint64(i)) % uint64(i+1))
		k[i], k[j] = k[j], k[i]
	}
	return k
}

// IsBroker reports whether kind needs a broker's pid.
func IsBroker(kind string) bool { return kind == BrokerKill || kind == BrokerFreeze }

// IsNetwork reports whether kind needs the proxies.
func IsNetwork(kind string) bool { return kind == NetDelay || kind == NetDrop || kind == NetPartition }
