package produce

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/kpar/kpar/internal/clock"
)

// The partition sweep, the acks cost and the pinned-core verdict: judged
// once here from the sweeps, read by the views.

// CeilingPoint is the best step of one partition count.
type CeilingPoint struct {
	Partitions    int     `json:"partitions"`
	RecordsPerSec float64 `json:"records_per_sec"`
	MBPerSec      float64 `json:"mb_per_sec"`
	Producers     int     `json:"producers"` // the producer count that reached it
}

// Ceiling is how the best rate over producer counts (the ceiling) moves
// with the partition count, for one settings combination and record size.
type Ceiling struct {
	Label      string         `json:"label"`
	Mode       string         `json:"mode"`
	RecordSize int            `json:"record_size"`
	Points     []CeilingPoint `json:"points"` // by partition count
	// StopsAt is the last partition count worth having: the smallest one
	// that no larger count beats by SaturationGain or more (0: the largest
	// count still did, by LastGain over the one before).
	StopsAt        int     `json:"stops_at"`
	NextPartitions int     `json:"next_partitions,omitempty"`
	Gain           float64 `json:"gain"`      // what NextPartitions added over StopsAt
	LastGain       float64 `json:"last_gain"` // what the largest count added
	Sentence       string  `json:"sentence"`
}

// ceilingLabel names a sweep's settings (topics aside) and record size:
// what a ceiling over its partition counts holds constant.
func ceilingLabel(sw Sweep) string {
	s := sw.Settings
	s.Topics = nil
	return s.Label() + sizeLabel(sw.RecordSize)
}

// FindCeilings groups the sweeps by everything but the partition count and,
// where two or more counts ran, finds where the ceiling stops moving.
func FindCeilings(sweeps []Sweep) []Ceiling {
	var order []string
	groups := map[string][]Sweep{}
	for _, sw := range sweeps {
		k := ceilingLabel(sw) + "|" + sw.Mode
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], sw)
	}
	var out []Ceiling
	for _, k := range order {
		g := groups[k]
		if len(g) < 2 {
			continue
		}
		c := Ceiling{Label: ceilingLabel(g[0]), Mode: g[0].Mode, RecordSize: g[0].RecordSize}
		for _, sw := range g {
			p := CeilingPoint{Partitions: sw.Partitions}
			for _, st := range sw.Steps {
				if st.RecordsPerSec > p.RecordsPerSec {
					p.RecordsPerSec, p.MBPerSec, p.Producers = st.RecordsPerSec, st.MBPerSec, st.Producers
				}
			}
			c.Points = append(c.Points, p)
		}
		sort.Slice(c.Points, func(i, j int) bool { return c.Points[i].Partitions < c.Points[j].Partitions })
		judgeCeiling(&c)
		out = append(out, c)
	}
	return out
}

func judgeCeiling(c *Ceiling) {
	pts := c.Points
	n := len(pts)
	first, last := pts[0], pts[n-1]
	if pts[n-2].RecordsPerSec > 0 {
		c.LastGain = last.RecordsPerSec/pts[n-2].RecordsPerSec - 1
	}
	// The ceiling stops moving at the smallest count that no larger count
	// beats by SaturationGain or more; a noisy dip between two counts does
	// not end it early.
	stop := n - 1
	for i := 0; i < n-1; i++ {
		best := 0.0
		for _, q := range pts[i+1:] {
			best = max(best, q.RecordsPerSec)
		}
		if pts[i].RecordsPerSec > 0 && best < pts[i].RecordsPerSec*(1+SaturationGain) {
			stop = i
			break
		}
	}
	if stop < n-1 {
		c.StopsAt, c.NextPartitions = pts[stop].Partitions, pts[stop+1].Partitions
		c.Gain = clock.Ratio(pts[stop+1].RecordsPerSec, pts[stop].RecordsPerSec) - 1
	}
	best := slices.MaxFunc(pts, func(a, b CeilingPoint) int { return cmp.Compare(a.RecordsPerSec, b.RecordsPerSec) })
	var b strings.Builder
	fmt.Fprintf(&b, "The ceiling (best of the producer counts) went from %s records/s at %s to %s at %s (%.2fx)",
		human(first.RecordsPerSec), plural(first.Partitions, "partition"), human(last.RecordsPerSec), plural(last.Partitions, "partition"), clock.Ratio(last.RecordsPerSec, first.RecordsPerSec))
	if best.Partitions != last.Partitions {
		fmt.Fprintf(&b, "; the highest was %s at %s", human(best.RecordsPerSec), plural(best.Partitions, "partition"))
	}
	if c.StopsAt > 0 {
		at := pts[stop]
		var after []string
		for _, p := range pts[stop+1:] {
			after = append(after, fmt.Sprintf("%d: %+.0f%%", p.Partitions, 100*(clock.Ratio(p.RecordsPerSec, at.RecordsPerSec)-1)))
		}
		fmt.Fprintf(&b, ". It stops moving at %s: no larger count beat it by %.0f%% or more (against %d: %s).",
			plural(c.StopsAt, "partition"), 100*SaturationGain, c.StopsAt, strings.Join(after, ", "))
		if last.RecordsPerSec < best.RecordsPerSec*(1-SaturationGain) {
			fmt.Fprintf(&b, " More partitions than that cost throughput here: %d ran at %.2fx the highest.", last.Partitions, clock.Ratio(last.RecordsPerSec, best.RecordsPerSec))
		}
	} else {
		fmt.Fprintf(&b, ". It was still moving at the largest count: %d added %+.1f%% over %d.", last.Partitions, 100*c.LastGain, pts[n-2].Partitions)
	}
	c.Sentence = b.String()
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func sizeLabel(size int) string {
	if size <= 0 {
		return ""
	}
	return fmt.Sprintf(" value=%dB", size)
}

// AcksPoint is acks=all against acks=1 at one producer count.
type AcksPoint struct {
	Producers        int     `json:"producers"`
	AllRecordsPerSec float64 `json:"all_records_per_sec"`
	OneRecordsPerSec float64 `json:"one_records_per_sec"`
	Ratio            float64 `json:"ratio"` // all / 1
	AllP99Ms         float64 `json:"all_p99_ms"`
	OneP99Ms         float64 `json:"one_p99_ms"`
}

// AcksCost is what waiting for every in-sync replica costs against the
// leader's ack alone, at replication factor ReplicationFactor.
type AcksCost struct {
	Label             string      `json:"label"` // what the two sweeps share
	Mode              string      `json:"mode"`
	Partitions        int         `json:"partitions"`
	RecordSize        int         `json:"record_size"`
	ReplicationFactor int         `json:"replication_factor"`
	Points            []AcksPoint `json:"points"`
	MinRatio          float64     `json:"min_ratio"`
	MaxRatio          float64     `json:"max_ratio"`
	Sentence          string      `json:"sentence"`
}

// FindAcksCosts pairs every acks=all sweep with the acks=1 sweep that
// differs from it only in acks (and so idempotence).
func FindAcksCosts(sweeps []Sweep, rf int) []AcksCost {
	key := func(sw Sweep) string {
		sw.Settings.Acks, sw.Settings.Idempotence = "", false
		return fmt.Sprintf("%s|%s|%d", ceilingLabel(sw), sw.Mode, sw.Partitions)
	}
	one := map[string]Sweep{}
	for _, sw := range sweeps {
		if sw.Settings.Acks == "1" {
			one[key(sw)] = sw
		}
	}
	var out []AcksCost
	for _, all := range sweeps {
		o, ok := one[key(all)]
		if !ok || all.Settings.Acks != "all" {
			continue
		}
		s := all.Settings
		s.Topics = nil
		// Label() starts "acks=X idem|noidem": the two fields the pair differs in.
		c := AcksCost{Label: strings.Join(strings.Fields(s.Label())[2:], " ") + sizeLabel(all.RecordSize) + fmt.Sprintf(" %s", plural(all.Partitions, "partition")),
			Mode: all.Mode, Partitions: all.Partitions, RecordSize: all.RecordSize, ReplicationFactor: rf}
		byN := map[int]Step{}
		for _, st := range o.Steps {
			byN[st.Producers] = st
		}
		var ratios []float64
		for _, st := range sortedSteps(all.Steps) {
			if ost, ok := byN[st.Producers]; ok && ost.RecordsPerSec > 0 {
				ratios = append(ratios, st.RecordsPerSec/ost.RecordsPerSec)
				c.Points = append(c.Points, AcksPoint{Producers: st.Producers, AllRecordsPerSec: st.RecordsPerSec, OneRecordsPerSec: ost.RecordsPerSec,
					Ratio: ratios[len(ratios)-1], AllP99Ms: st.LatencyP99Ms, OneP99Ms: ost.LatencyP99Ms})
			}
		}
		if len(c.Points) == 0 {
			continue
		}
		c.MinRatio, c.MaxRatio = slices.Min(ratios), slices.Max(ratios)
		first, last := c.Points[0], c.Points[len(c.Points)-1]
		what := map[bool]string{false: "waits for every in-sync replica", true: "has no follower to wait for at RF 1"}[rf == 1]
		c.Sentence = fmt.Sprintf("At RF %d, acks=all (which %s) ran at %.2fx to %.2fx acks=1's records/s: %.2fx at %s (%s vs %s records/s, p99 %.1f vs %.1f ms), %.2fx at %d (%s vs %s, p99 %.1f vs %.1f ms).",
			rf, what, c.MinRatio, c.MaxRatio, first.Ratio, plural(first.Producers, "producer"), human(first.AllRecordsPerSec), human(first.OneRecordsPerSec), first.AllP99Ms, first.OneP99Ms,
			last.Ratio, last.Producers, human(last.AllRecordsPerSec), human(last.OneRecordsPerSec), last.AllP99Ms, last.OneP99Ms)
		out = append(out, c)
	}
	return out
}

// CoreFull is the share of its pinned CPUs a side must use to count as
// saturated.
const CoreFull = 0.85

// CoreStep is one step's use of the pinned CPUs: Share is the side's own
// CPU over its CPUs' capacity; Busy counts every process on those CPUs.
type CoreStep struct {
	Producers   int      `json:"producers"`
	BrokerShare float64  `json:"broker_share"`
	BenchShare  float64  `json:"bench_share"`
	BrokerBusy  *float64 `json:"broker_cpus_busy"`
	BenchBusy   *float64 `json:"bench_cpus_busy"`
}

// CoreVerdict says which pinned side filled its CPUs first.
type CoreVerdict struct {
	// First is "broker", "client", "both" (at the same step), "others"
	// (the pinned CPUs were full while neither side used CoreFull of them:
	// other processes' work) or "neither".
	First     string     `json:"first"`
	Producers int        `json:"producers"` // the step where it happened (0: neither)
	Steps     []CoreStep `json:"steps"`
	Reason    string     `json:"reason"`
}

// FindCores judges a pinned sweep's steps in producer order.
func FindCores(steps []Step, p Pin) *CoreVerdict {
	v := &CoreVerdict{First: "neither"}
	// share is a side's own CPU seconds over its CPUs' capacity; busy
	// every process's on those CPUs (nil when unread).
	share := func(st Step, secs float64, cpus []int) float64 { return secs / st.ElapsedSeconds / float64(len(cpus)) }
	busy := func(st Step, cpus []int) *float64 {
		if len(st.CoreBusySeconds) == 0 {
			return nil
		}
		var sum float64
		for _, c := range cpus {
			if c < len(st.CoreBusySeconds) {
				sum += st.CoreBusySeconds[c]
			}
		}
		f := share(st, sum, cpus)
		return &f
	}
	full := func(p *float64) bool { return p != nil && *p >= CoreFull }
	for _, st := range sortedSteps(steps) {
		if st.ElapsedSeconds <= 0 {
			continue
		}
		cs := CoreStep{Producers: st.Producers, BenchShare: share(st, st.BenchCPUSeconds, p.Bench), BrokerBusy: busy(st, p.Broker), BenchBusy: busy(st, p.Bench)}
		if st.BrokerCPUSeconds != nil {
			cs.BrokerShare = share(st, *st.BrokerCPUSeconds, p.Broker)
		}
		v.Steps = append(v.Steps, cs)
		if b, c := cs.BrokerShare >= CoreFull, cs.BenchShare >= CoreFull; v.Producers == 0 {
			v.First = map[[2]bool]string{{true, true}: "both", {true, false}: "broker", {false, true}: "client", {false, false}: "neither"}[[2]bool{b, c}]
			if !b && !c && (full(cs.BrokerBusy) || full(cs.BenchBusy)) {
				v.First = "others"
			}
			if v.First != "neither" {
				v.Producers = st.Producers
			}
		}
	}
	if len(v.Steps) == 0 {
		v.Reason = "no step to judge"
		return v
	}
	at := v.Steps[len(v.Steps)-1]
	if i := slices.IndexFunc(v.Steps, func(cs CoreStep) bool { return cs.Producers == v.Producers }); i >= 0 {
		at = v.Steps[i]
	}
	v.Reason = coreReason(v.First, at, "CPU "+cpuList(p.Broker), "CPU "+cpuList(p.Bench))
	return v
}

// coreReason says why first filled first at step at, the sides' CPUs
// named bcpu and ccpu.
func coreReason(first string, at CoreStep, bcpu, ccpu string) string {
	others := func(share float64, busy *float64, cpus string) string {
		if busy != nil && *busy-share >= 0.1 {
			return fmt.Sprintf(" (%s was %.2f busy counting other processes)", cpus, *busy)
		}
		return ""
	}
	n := plural(at.Producers, "producer")
	switch first {
	case "broker":
		return fmt.Sprintf("the broker's %s filled first: %.2f of it at %s, while the client used %.2f of %s%s",
			bcpu, at.BrokerShare, n, at.BenchShare, ccpu, others(at.BenchShare, at.BenchBusy, ccpu))
	case "client":
		return fmt.Sprintf("the client's %s filled first: %.2f of it at %s, while the broker used %.2f of %s%s",
			ccpu, at.BenchShare, n, at.BrokerShare, bcpu, others(at.BrokerShare, at.BrokerBusy, bcpu))
	case "others":
		return fmt.Sprintf("the pinned CPUs were full (%.2f busy or more) before either side used that much of them: at %s %s was %s busy, the broker's own share %.2f; %s %s busy, the client's %.2f; other processes took the rest, so on this shared machine neither side reached its own limit",
			CoreFull, n, bcpu, fmtBusy(at.BrokerBusy), at.BrokerShare, ccpu, fmtBusy(at.BenchBusy), at.BenchShare)
	case "both":
		return fmt.Sprintf("both filled at the same step, %s: broker %.2f of %s, client %.2f of %s", n, at.BrokerShare, bcpu, at.BenchShare, ccpu)
	}
	return fmt.Sprintf("neither side reached %.2f of its CPUs; at %s the broker used %.2f of %s%s and the client %.2f of %s%s, so the limit is elsewhere (round trips, partitions, other load)",
		CoreFull, n, at.BrokerShare, bcpu, others(at.BrokerShare, at.BrokerBusy, bcpu), at.BenchShare, ccpu, others(at.BenchShare, at.BenchBusy, ccpu))
}

func fmtBusy(p *float64) string {
	if p == nil {
		return "?"
	}
	return fmt.Sprintf("%.2f", *p)
}
