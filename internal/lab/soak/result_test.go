package soak

import "testing"

// catchUp is 100 s of a steady 200 records/s input; strategy "a" processes
// 300 entries/s (a backlog) until 50 s, nothing from 50 to 62 s, then 250/s.
func catchUp() []Sample {
	var tl []Sample
	var n int64
	for s := 0; s <= 100; s++ {
		tl = append(tl, Sample{Sec: float64(s), Input: int64(200 * s), Entries: map[string]int64{"a": n}})
		switch {
		case s < 50:
			n += 300
		case s >= 62:
			n += 250
		}
	}
	return tl
}

// Recovery counts from the fault's start to the end of the first 2 s window
// after the healing at 90% of the rate before, that rate capped at the
// input's: a strategy that was catching up a backlog is back once it keeps
// up with what arrives.
func TestRecoveryIsBackToNinetyPercentOfTheRateBeforeCappedAtTheInput(t *testing.T) {
	r := Result{DurationSeconds: 100, Strategies: []string{"a"}, Timeline: catchUp(), Members: 2, Workers: 8,
		Faults: []Fault{{Planned: Planned{Kind: BrokerKill}, StartSec: 50, HealedSec: 58}, {Planned: Planned{Kind: ConsumerKill}, StartSec: 90, HealedSec: 91}}}
	analyze(&r, nil)
	e := r.Faults[0].Effects[0]
	if e.BaselinePerSec != 200 || e.RecoverySec != 13.5 || e.ObservedSec != 40 {
		t.Fatalf("broker kill at 50 s, processing again from 62 s: baseline %.0f/s, recovery %.1f s, observed %.0f s; want 200, 13.5 (the window 61.5-63.5 s, samples 62 and 63 s), 40",
			e.BaselinePerSec, e.RecoverySec, e.ObservedSec)
	}
}

// A recovery the next fault (or the end of production) cuts short is -1,
// with the span it was looked for, never a time measured across the next
// fault.
func TestRecoveryIsNotLookedForPastTheNextFaultOrTheEndOfProduction(t *testing.T) {
	r := Result{DurationSeconds: 100, Strategies: []string{"a"}, Timeline: catchUp(),
		Faults: []Fault{{Planned: Planned{Kind: BrokerKill}, StartSec: 50, HealedSec: 58}, {Planned: Planned{Kind: NetDelay}, StartSec: 62, HealedSec: 68}}}
	analyze(&r, nil)
	if e := r.Faults[0].Effects[0]; e.RecoverySec != -1 || e.ObservedSec != 12 {
		t.Fatalf("next fault at 62 s: recovery %.1f s observed %.0f s; want -1, 12", e.RecoverySec, e.ObservedSec)
	}
	r.DurationSeconds = 63
	r.Faults = r.Faults[:1]
	analyze(&r, nil)
	if e := r.Faults[0].Effects[0]; e.RecoverySec != -1 || e.ObservedSec != 13 {
		t.Fatalf("production ends at 63 s: recovery %.1f s observed %.0f s; want -1, 13", e.RecoverySec, e.ObservedSec)
	}
}
