package scenario

import (
	"reflect"
	"testing"
)

func TestParseCombinesFaultsAndRejectsUnknownOnes(t *testing.T) {
	s, err := Parse("ooo+crash+ooo")
	if err != nil || !s.Has(OOO) || !s.Has(Crash) || s.Has(Rebalance) || len(s.Faults) != 2 {
		t.Fatalf("ooo+crash+ooo: %+v, %v", s, err)
	}
	if s, err := Parse("none"); err != nil || len(s.Faults) != 0 {
		t.Fatalf("none: %+v, %v", s, err)
	}
	if _, err := Parse("ooo+typo"); err == nil {
		t.Fatal("an unknown fault must be refused")
	}
}

func TestCrashPointsAreSeededIncreasingAndInsideTheRun(t *testing.T) {
	a := CrashPoints(11, 3000, 4)
	if !reflect.DeepEqual(a, CrashPoints(11, 3000, 4)) {
		t.Fatal("same seed, different crash points")
	}
	if reflect.DeepEqual(a, CrashPoints(12, 3000, 4)) {
		t.Fatal("the seed does not move the crash points")
	}
	for i, c := range a {
		if c < 300 || c > 2400 || (i > 0 && c <= a[i-1]) {
			t.Fatalf("crash points %v: want increasing, within 10%%..80%% of 3000", a)
		}
	}
}

func TestSlowStallsTheWholePoolForLongerThanTheRebalanceTimeout(t *testing.T) {
	s, err := Parse("ooo+slow")
	if err != nil || !s.Has(Slow) {
		t.Fatalf("ooo+slow: %+v, %v", s, err)
	}
	at, count, lat, rt := SlowPlan(3000, 16)
	if at != 750 || count != 16 {
		t.Fatalf("slow stretch at %d for %d invocations, want 750 and the pool size 16", at, count)
	}
	if lat <= rt {
		t.Fatalf("slow handlers take %s, not longer than the rebalance timeout %s", lat, rt)
	}
}

func TestKillIsASecondWayToRunTheCrashSchedule(t *testing.T) {
	s, err := Parse("ooo+kill")
	if err != nil || !s.Has(Kill) || s.Has(Crash) || !s.Kills() {
		t.Fatalf("ooo+kill: %+v, %v", s, err)
	}
	if s, _ := Parse("ooo+crash"); !s.Kills() {
		t.Fatal("crash kills too")
	}
	if s, _ := Parse("ooo+rebalance"); s.Kills() {
		t.Fatal("rebalance kills nothing")
	}
	if _, err := Parse("crash+kill"); err == nil {
		t.Fatal("crash and kill share one schedule: combining them must be refused")
	}
}
