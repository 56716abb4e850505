package group

import (
	"cmp"
	"math"
	"slices"
	"testing"
)

func at(ms float64) int64 { return int64(ms * 1e6) }

func p(slot string, ms float64, seq int64, producedMs float64) entry {
	return entry{Slot: slot, Line: Line{T: at(ms), Kind: "p", Topic: "o", Seq: seq, Produced: at(producedMs)}}
}

func change(slot, kind string, ms float64, gen int32, parts ...int32) entry {
	return entry{Slot: slot, Line: Line{T: at(ms), Kind: kind, Gen: gen, Parts: map[string][]int32{"o": parts}}}
}

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 0.001 {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// An eager rebalance at 1000 ms: both members revoke everything, the group
// processes nothing from 1000 to 1300, and the partitions come back
// swapped. Every metric is read off this log by hand.
func eagerLog() window {
	es := []entry{
		change("a", "assigned", 0, 1, 0), change("b", "assigned", 0, 1, 1),
	}
	seq := int64(0)
	for ms := 100.0; ms <= 1000; ms += 100 {
		es = append(es, p("a", ms, seq, ms-5), p("b", ms+50, seq+1, ms+45))
		seq += 2
	}
	// The event at 1020; revocations at 1100, assignments at 1300 swapped.
	es = append(es, change("a", "revoked", 1100, 1, 0), change("b", "revoked", 1100, 1, 1),
		change("a", "assigned", 1300, 2, 1), change("b", "assigned", 1300, 2, 0))
	// Processing resumes at 1300.
	es = append(es, p("a", 1300, seq, 1095), p("b", 1350, seq+1, 1100))
	seq += 2
	for ms := 1400.0; ms <= 2000; ms += 100 {
		es = append(es, p("a", ms, seq, ms-5), p("b", ms+50, seq+1, ms+45))
		seq += 2
	}
	// One duplicate, and seq 41 produced but never processed.
	es = append(es, p("b", 2060, 3, 1))
	return window{entries: es, partitions: []string{"o-0", "o-1"}, produced: int(seq) + 1,
		start: 0, streamStart: 0, event: at(1020), streamEnd: at(2050), drained: at(2100)}
}

func TestMetricsOfAnEagerRebalanceReadOffTheLog(t *testing.T) {
	m := analyze(eagerLog())
	// Last processing before the pause: b at 1050; next: a at 1300.
	near(t, "group max gap", m.GroupMaxGapMs, 250)
	// Before the window (500..20 ms before the event) records came every 50 ms.
	near(t, "baseline gap", m.BaselineGapMs, 0) // window 500..20: ends before it starts
	near(t, "owned again", m.OwnedAgainMs, 280) // 1300 - 1020
	near(t, "longest unowned", m.LongestUnownedMs, 200)
	near(t, "unowned partition-seconds", m.UnownedPartitionSec, 0.4)
	near(t, "max latency", m.MaxLatencyMs, 250) // b: produced at 1100, processed at 1350
	if m.Moved != 2 || m.Revoked != 2 || m.Rebalances != 1 || m.AssignmentChanges != 4 {
		t.Errorf("moved %d revoked %d rebalances %d changes %d, want 2 2 1 4", m.Moved, m.Revoked, m.Rebalances, m.AssignmentChanges)
	}
	if m.Duplicated != 1 || m.Lost != 1 || m.Processed != 36 {
		t.Errorf("processed %d duplicated %d lost %d, want 36 1 1", m.Processed, m.Duplicated, m.Lost)
	}
	gaps := map[string]float64{}
	for _, g := range m.MemberGaps {
		gaps[g.Member] = g.MaxGapMs
	}
	near(t, "a's gap", gaps["a"], 300) // 1000 -> 1300
	near(t, "b's gap", gaps["b"], 300) // 1050 -> 1350
}

// A changed log changes the metrics: a cooperative handover of one
// partition keeps the group processing, and only that partition waits.
func TestCooperativeHandoverPausesOnlyTheMovedPartition(t *testing.T) {
	w := eagerLog()
	var es []entry
	for _, e := range w.entries {
		if e.T >= at(1100) && e.T <= at(1300) && e.Kind != "p" {
			continue
		}
		es = append(es, e)
	}
	// b gives o-1 to a at 1100 and keeps processing o-0... here b simply
	// loses o-1; a gains it 100 ms later.
	es = append(es, change("b", "revoked", 1100, 2, 1), change("a", "assigned", 1200, 3, 1))
	slices.SortStableFunc(es, func(a, b entry) int { return cmp.Compare(a.T, b.T) })
	w.entries = es
	m := analyze(w)
	near(t, "longest unowned", m.LongestUnownedMs, 100)
	near(t, "owned again", m.OwnedAgainMs, 180)
	if m.Moved != 1 || m.Revoked != 1 || m.Rebalances != 2 {
		t.Errorf("moved %d revoked %d rebalances %d, want 1 1 2", m.Moved, m.Revoked, m.Rebalances)
	}
}

// A killed member's partitions stay unowned until the survivor gets them;
// a partition still unowned at the drain reads -1.
func TestKilledMemberOwnsNothingFromItsExit(t *testing.T) {
	es := []entry{change("a", "assigned", 0, 1, 0), change("b", "assigned", 0, 1, 1),
		p("a", 100, 0, 90), p("b", 100, 1, 95),
		{Slot: "b", Line: Line{T: at(500), Kind: "exit"}},
		change("a", "revoked", 3000, 1, 0), change("a", "assigned", 3100, 2, 0, 1),
		p("a", 3200, 2, 600)}
	w := window{entries: es, partitions: []string{"o-0", "o-1"}, produced: 3, event: at(480), streamStart: 0, streamEnd: at(3300), drained: at(3300)}
	m := analyze(w)
	near(t, "owned again", m.OwnedAgainMs, 3100-480)
	near(t, "longest unowned", m.LongestUnownedMs, 2600)
	near(t, "max latency", m.MaxLatencyMs, 2600)
	if m.Lost != 0 || m.Moved != 1 || m.Revoked != 2 {
		t.Errorf("lost %d moved %d revoked %d, want 0 1 2", m.Lost, m.Moved, m.Revoked)
	}
	for _, g := range m.MemberGaps {
		if g.Member == "b" {
			near(t, "b's gap until it died", g.MaxGapMs, 400) // 100 -> 500
		}
	}
	w.entries = es[:5]
	w.drained = at(2000)
	if m := analyze(w); m.OwnedAgainMs != -1 {
		t.Errorf("owned again with o-1 still unowned at the drain: %v, want -1", m.OwnedAgainMs)
	}
}

func TestMaxGapCountsTheWindowEdges(t *testing.T) {
	ts := []int64{at(10), at(20), at(90)}
	if g := maxGap(ts, at(0), at(100)); g != at(70) {
		t.Errorf("gap %v, want 70 ms", float64(g)/1e6)
	}
	if g := maxGap(nil, at(0), at(100)); g != at(100) {
		t.Errorf("nothing processed: gap %v, want the whole window", float64(g)/1e6)
	}
	if g := maxGap(ts, at(100), at(50)); g != 0 {
		t.Errorf("empty window: %v", g)
	}
}
