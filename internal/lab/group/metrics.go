package group

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"time"
)

// entry is one line of a member's log, or an exit the orchestrator saw
// (Kind "exit": the process is gone, and with it whatever it owned).
type entry struct {
	Slot string
	Line
}

// window is what the metrics are computed over: the cell's log and its
// moments (Unix nanoseconds).
type window struct {
	entries     []entry
	partitions  []string // "topic-N", every partition of the input
	produced    int      // records in the stream, seq 0..produced-1
	start       int64    // the cell's start (the first member started)
	streamStart int64
	event       int64
	streamEnd   int64
	drained     int64
}

// lead is how far before the event the event's window opens, so a pause
// that starts with the event is measured from the last record before it.
const lead = int64(time.Second)

func partKey(topic string, part int32) string { return fmt.Sprintf("%s-%d", topic, part) }

// maxGap is the longest interval between consecutive times of ts inside
// [from, to], the window's edges counting as times: a member that
// processes nothing from the event to the end has a gap of the whole
// window.
func maxGap(ts []int64, from, to int64) int64 {
	if to <= from {
		return 0
	}
	prev, worst := from, int64(0)
	for _, t := range ts { // sorted
		if t < from || t > to {
			continue
		}
		worst = max(worst, t-prev)
		prev = t
	}
	return max(worst, to-prev)
}

// ownership replays the assignment changes and exits up to the drain into
// intervals: slot owned partition from..to (to = drained when still owned).
func (w window) ownership() []span {
	open := map[[2]string]int64{} // slot, partition -> since
	var out []span
	end := func(k [2]string, t int64) {
		if since, ok := open[k]; ok {
			out = append(out, span{k[0], k[1], since, t})
			delete(open, k)
		}
	}
	for _, e := range w.entries {
		if e.T > w.drained {
			break
		}
		for t, ps := range e.Parts {
			for _, n := range ps {
				k := [2]string{e.Slot, partKey(t, n)}
				if _, ok := open[k]; e.Kind == "assigned" && !ok {
					open[k] = e.T
				} else if e.Kind == "revoked" || e.Kind == "lost" {
					end(k, e.T)
				}
			}
		}
		for k := range open {
			if k[0] == e.Slot && e.Kind == "exit" {
				end(k, e.T)
			}
		}
	}
	for k, since := range open {
		out = append(out, span{k[0], k[1], since, w.drained})
	}
	slices.SortFunc(out, func(a, b span) int {
		return cmp.Or(cmp.Compare(a.from, b.from), cmp.Compare(a.slot+a.part, b.slot+b.part))
	})
	return out
}

type span struct {
	slot, part string
	from, to   int64
}

// ownersAt maps each partition to the slot owning it at t (the
// alphabetically first when the sampled parallel member overlaps a new
// owner for a moment).
func ownersAt(spans []span, t int64) map[string]string {
	m := map[string]string{}
	for _, s := range spans {
		if s.from <= t && t < s.to {
			if o, ok := m[s.part]; !ok || s.slot < o {
				m[s.part] = s.slot
			}
		}
	}
	return m
}

// unowned is, over the partitions' holes in ownership within (event,
// drained] (a partition unowned at the event counts from the event), the
// longest hole in ms, their sum in partition-seconds, and the time from the
// event until the last one closed: 0 without a hole, -1 when a partition
// had no owner at the drain. A handover at one instant leaves no hole.
func unowned(spans []span, partitions []string, event, drained int64) (longestMs, sumSec, ownedAgainMs float64) {
	open := false
	for _, p := range partitions {
		var ivs [][2]int64
		covered := false // owned at the drain
		for _, s := range spans {
			if s.part != p {
				continue
			}
			covered = covered || s.to >= drained
			if s.to > event && s.from < drained {
				ivs = append(ivs, [2]int64{max(s.from, event), min(s.to, drained)})
			}
		}
		open = open || !covered
		sort.Slice(ivs, func(i, j int) bool { return ivs[i][0] < ivs[j][0] })
		at := event // covered up to here
		hole := func(until int64) {
			if until > at {
				longestMs = max(longestMs, float64(until-at)/1e6)
				sumSec += float64(until-at) / 1e9
				ownedAgainMs = max(ownedAgainMs, float64(until-event)/1e6)
			}
		}
		for _, iv := range ivs {
			hole(iv[0])
			at = max(at, iv[1])
		}
		hole(drained)
	}
	if open {
		return longestMs, sumSec, -1
	}
	return longestMs, sumSec, ownedAgainMs
}

// analyze computes a cell's metrics from its log.
func analyze(w window) Metrics {
	var m Metrics
	from, to := w.event-lead, w.streamEnd
	var all []int64
	bySlot := map[string][]int64{}
	first := map[int64]int64{} // seq -> first processing
	firstAssigned, lastAssigned, lastExit := map[string]int64{}, map[string]int64{}, map[string]int64{}
	var slots []string
	for _, e := range w.entries {
		if !slices.Contains(slots, e.Slot) {
			slots = append(slots, e.Slot)
		}
		switch e.Kind {
		case "p":
			all = append(all, e.T)
			bySlot[e.Slot] = append(bySlot[e.Slot], e.T)
			if e.Seq >= 0 && e.Seq < int64(w.produced) {
				if _, ok := first[e.Seq]; ok {
					m.Duplicated++
				} else {
					first[e.Seq] = e.T
					if e.Produced >= from && e.T-e.Produced > int64(m.MaxLatencyMs*1e6) {
						m.MaxLatencyMs = float64(e.T-e.Produced) / 1e6
					}
				}
			}
		case "assigned":
			// A member given nothing yet (KIP-848 answers a join with an
			// empty assignment first) has no work to pause.
			if _, ok := firstAssigned[e.Slot]; !ok && len(e.Parts) > 0 {
				firstAssigned[e.Slot] = e.T
			}
			lastAssigned[e.Slot] = e.T
		case "exit":
			lastExit[e.Slot] = e.T
		}
	}
	m.Processed = len(first)
	m.Lost = w.produced - len(first)
	m.GroupMaxGapMs = float64(maxGap(all, from, to)) / 1e6
	if bs := w.streamStart + int64(500*time.Millisecond); bs < from {
		m.BaselineGapMs = float64(maxGap(all, bs, from)) / 1e6
	}
	slices.Sort(slots)
	for _, s := range slots {
		fa, ok := firstAssigned[s]
		if !ok {
			continue
		}
		lo, hi := max(from, fa), to
		// A member gone for good before the stream ended is measured until
		// it went; one that came back (a restart) through its absence.
		if ex, ok := lastExit[s]; ok && ex < hi && lastAssigned[s] <= ex {
			hi = ex
		}
		if hi > lo {
			m.MemberGaps = append(m.MemberGaps, MemberGap{Member: s, MaxGapMs: float64(maxGap(bySlot[s], lo, hi)) / 1e6})
		}
	}

	w.ownershipMetrics(&m)
	return m
}

// ownershipMetrics are the metrics of who owned what: owned again, unowned,
// moved, revoked, rebalances and assignment changes.
func (w window) ownershipMetrics(m *Metrics) {
	spans := w.ownership()
	m.LongestUnownedMs, m.UnownedPartitionSec, m.OwnedAgainMs = unowned(spans, w.partitions, w.event, w.drained)
	before, after := ownersAt(spans, w.event), ownersAt(spans, w.drained-1)
	for _, p := range w.partitions {
		if before[p] != after[p] {
			m.Moved++
		}
	}
	for _, s := range spans {
		if s.to > w.event && s.to < w.drained {
			m.Revoked++
		}
	}
	gensBefore, gensAfter := map[int32]bool{}, map[int32]bool{}
	for _, e := range w.entries {
		if e.Kind != "assigned" && e.Kind != "revoked" && e.Kind != "lost" {
			continue
		}
		switch {
		case e.T <= w.event:
			gensBefore[e.Gen] = true
		case e.T <= w.drained:
			m.AssignmentChanges++
			gensAfter[e.Gen] = true
		}
	}
	for g := range gensAfter {
		if !gensBefore[g] {
			m.Rebalances++
		}
	}
}

// timeline is the chart's data: ownership intervals and the group's
// processing rate, in seconds from the cell's start.
func (w window) timeline(marks []Mark) Timeline {
	sec := func(t int64) float64 { return float64(t-w.start) / 1e9 }
	tl := Timeline{Partitions: w.partitions, RateBucketSec: 0.1, Marks: marks}
	tl.StartSec = max(0, sec(w.streamStart)-1)
	for _, s := range w.ownership() {
		if !slices.Contains(tl.Members, s.slot) {
			tl.Members = append(tl.Members, s.slot)
		}
		tl.Ownership = append(tl.Ownership, Interval{Member: s.slot, Partition: slices.Index(w.partitions, s.part),
			From: sec(s.from), To: sec(s.to)})
	}
	slices.Sort(tl.Members)
	n := max(1, int((sec(w.drained)-tl.StartSec)/tl.RateBucketSec)+1)
	tl.Rate = make([]float64, n)
	for _, e := range w.entries {
		if i := int((sec(e.T) - tl.StartSec) / tl.RateBucketSec); e.Kind == "p" && i >= 0 && i < n {
			tl.Rate[i] += 1 / tl.RateBucketSec
		}
	}
	return tl
}
