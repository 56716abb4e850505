package soak

import (
	"testing"
	"time"
)

// The default schedule of a 10-minute soak holds what the soak's target
// asks for (at least 20 consumer kills, 5 broker kills, 5 freezes and 5
// network faults) for every seed tried, with the faults one at a time.
func TestTenMinutesOfTheDefaultScheduleHoldTheTargetMix(t *testing.T) {
	def := DefaultConfig()
	for seed := int64(1); seed <= 30; seed++ {
		plan := Plan(seed, 10*time.Minute, def.Interval, def.Strategies, Nodes)
		n := map[string]int{}
		for i, p := range plan {
			n[p.Kind]++
			if i > 0 && p.At < plan[i-1].At+Gap(plan[i-1].Kind, def.Interval) {
				t.Fatalf("seed %d: %s at %s starts before %s at %s is over", seed, p.Kind, p.At, plan[i-1].Kind, plan[i-1].At)
			}
		}
		net := n[NetDelay] + n[NetDrop] + n[NetPartition]
		if n[ConsumerKill] < 20 || n[BrokerKill] < 5 || n[BrokerFreeze] < 5 || net < 5 {
			t.Errorf("seed %d: %d consumer kills, %d broker kills, %d freezes, %d network faults in 10 minutes at --interval %s; want at least 20, 5, 5, 5",
				seed, n[ConsumerKill], n[BrokerKill], n[BrokerFreeze], net, def.Interval)
		}
	}
}

// Every broker kill is followed by KillQuiet without any fault, and ends
// that long before production stops, so a recovery of up to 30 s is always
// observed whole.
func TestABrokerKillGetsItsRecoveryWindowAlone(t *testing.T) {
	for _, d := range []time.Duration{90 * time.Second, 3 * time.Minute, 10 * time.Minute} {
		for seed := int64(1); seed <= 30; seed++ {
			plan := Plan(seed, d, 3*time.Second, []string{"lib-key"}, Nodes)
			for i, p := range plan {
				if p.Kind != BrokerKill {
					continue
				}
				if p.At+KillQuiet > d {
					t.Errorf("duration %s seed %d: kill at %s leaves %s before production stops", d, seed, p.At, d-p.At)
				}
				if i+1 < len(plan) && plan[i+1].At-p.At < KillQuiet {
					t.Errorf("duration %s seed %d: kill at %s, then %s %s later", d, seed, p.At, plan[i+1].Kind, plan[i+1].At-p.At)
				}
			}
		}
	}
	if KillQuiet < 30*time.Second+time.Duration(recoveryWindow*float64(time.Second)) {
		t.Fatalf("KillQuiet %s cannot show a recovery of 30 s measured over %.0f s", KillQuiet, recoveryWindow)
	}
}
