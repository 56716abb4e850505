package produce

import (
	"fmt"
	"slices"
	"sort"
)

// SaturationGain is the least relative gain one more producer step must
// add; below it the sweep has saturated.
const SaturationGain = 0.10

// Saturation names where adding producers stopped paying.
type Saturation struct {
	Reached bool `json:"reached"`
	// Producers is the last count worth having: the step before the first
	// one that added less than SaturationGain. When not reached, the
	// largest count measured.
	Producers int `json:"producers"`
	// NextProducers and Gain describe the step that did not pay.
	NextProducers int     `json:"next_producers,omitempty"`
	Gain          float64 `json:"gain"`
}

// FindSaturation scans steps in producer order.
func FindSaturation(steps []Step) Saturation {
	s := sortedSteps(steps)
	if len(s) == 0 {
		return Saturation{}
	}
	for i := 1; i < len(s); i++ {
		prev := s[i-1].RecordsPerSec
		if gain := s[i].RecordsPerSec/prev - 1; prev > 0 && gain < SaturationGain {
			return Saturation{Reached: true, Producers: s[i-1].Producers, NextProducers: s[i].Producers, Gain: gain}
		}
	}
	last := s[len(s)-1]
	sat := Saturation{Producers: last.Producers}
	if len(s) > 1 && s[len(s)-2].RecordsPerSec > 0 {
		sat.Gain = last.RecordsPerSec/s[len(s)-2].RecordsPerSec - 1
	}
	return sat
}

// Bottleneck is a best guess at what limits throughput, with the numbers
// behind it.
type Bottleneck struct {
	Kind   string `json:"kind"` // "broker-cpu", "client-cpu", "machine-cpu", "partitions", "latency", "unknown"
	Reason string `json:"reason"`
	// Cores used on average over the step that was judged.
	BrokerCores *float64 `json:"broker_cores"`
	BenchCores  float64  `json:"bench_cores"`
	// OtherCores is the rest of the machine's load (nil when unknown).
	OtherCores *float64 `json:"other_cores"`
	Producers  int      `json:"producers"`
}

// FindBottleneck judges the step where the sweep saturated (or the largest
// one) on a machine with cores CPUs and partitions target partitions. It is
// a heuristic from CPU shares, stated as such in its reason.
func FindBottleneck(steps []Step, sat Saturation, cores int, partitions int) Bottleneck {
	i := slices.IndexFunc(steps, func(s Step) bool { return s.Producers == sat.Producers })
	if i < 0 || steps[i].ElapsedSeconds <= 0 || cores <= 0 {
		return Bottleneck{Kind: "unknown", Reason: "no step to judge"}
	}
	st := steps[i]
	b := Bottleneck{Producers: st.Producers, BenchCores: st.BenchCPUSeconds / st.ElapsedSeconds}
	c := float64(cores)
	if st.BrokerCPUSeconds == nil {
		b.Kind, b.Reason = "unknown", fmt.Sprintf("the bench used %.2f of %d cores; broker CPU is unknown (not a broker kpar started), so the broker side cannot be judged", b.BenchCores, cores)
		if b.BenchCores >= 0.8*c {
			b.Kind, b.Reason = "client-cpu", fmt.Sprintf("the bench used %.2f of %d cores; broker CPU is unknown (not a broker kpar started)", b.BenchCores, cores)
		}
		return b
	}
	bc := *st.BrokerCPUSeconds / st.ElapsedSeconds
	b.BrokerCores = &bc
	total := bc + b.BenchCores
	others := 0.0
	if st.MachineBusyCPUSeconds != nil {
		if o := *st.MachineBusyCPUSeconds/st.ElapsedSeconds - total; o > 0 {
			others = o
		}
		b.OtherCores = &others
	}
	switch {
	case total < 0.85*c && total+others >= 0.85*c:
		b.Kind, b.Reason = "machine-cpu", fmt.Sprintf("broker %.2f + bench %.2f + other processes %.2f cores of %d: the machine is full, and other load takes %.0f%% of it", bc, b.BenchCores, others, cores, 100*others/c)
	case total >= 0.85*c:
		// Broker and bench share the machine: whichever uses more is what
		// adding producers mostly starves.
		side := map[bool]string{false: "the broker", true: "the bench"}[b.BenchCores > bc]
		b.Kind, b.Reason = "machine-cpu", fmt.Sprintf("broker %.2f + bench %.2f cores of %d: the CPUs are full and %s uses more of them", bc, b.BenchCores, cores, side)
	case bc >= 0.7*c:
		b.Kind, b.Reason = "broker-cpu", fmt.Sprintf("the broker used %.2f of %d cores", bc, cores)
	case b.BenchCores >= 0.7*c:
		b.Kind, b.Reason = "client-cpu", fmt.Sprintf("the bench used %.2f of %d cores", b.BenchCores, cores)
	case st.Producers >= partitions:
		b.Kind, b.Reason = "partitions", fmt.Sprintf("%d producers on %d partitions with CPU to spare (broker %.2f, bench %.2f of %d cores): by elimination the partitions, which the bench does not measure directly", st.Producers, partitions, bc, b.BenchCores, cores)
	default:
		b.Kind, b.Reason = "latency", fmt.Sprintf("CPU to spare (broker %.2f, bench %.2f of %d cores) with fewer producers than partitions: by elimination the round trips (linger, in-flight limit, acks), which the bench does not measure directly", bc, b.BenchCores, cores)
	}
	return b
}

func sortedSteps(steps []Step) []Step {
	s := append([]Step(nil), steps...)
	sort.Slice(s, func(i, j int) bool { return s[i].Producers < s[j].Producers })
	return s
}
