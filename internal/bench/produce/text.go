package produce

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// The text lines `kpar bench produce` prints as the run goes, each computed
// from data only.

// ReadyLine describes the input, the broker and the topics' partitions.
func ReadyLine(r Result) string {
	var topics []string
	for _, t := range slices.Sorted(maps.Keys(r.Partitions)) {
		topics = append(topics, fmt.Sprintf("%s %d", t, r.Partitions[t]))
	}
	return fmt.Sprintf("input %s: %d records, %.1f MB, loaded in %.2fs; broker %s (%d node(s), CPU %s); RF %d; partitions: %s",
		r.Input.File, r.Input.Records, float64(r.Input.PayloadBytes)/1e6, r.Input.LoadSeconds, strings.Join(r.Broker.Seeds, ","),
		r.Broker.Nodes, r.Broker.CPU, r.ReplicationFactor, strings.Join(topics, ", "))
}

// PinLine says what was pinned.
func PinLine(p PinInfo) string {
	return fmt.Sprintf("pinned: broker pid(s) %v to CPU %s, the bench (pid %d, and its children) to CPU %s; restored after the run",
		p.BrokerPIDs, cpuList(p.Broker), p.BenchPID, cpuList(p.Bench))
}

// SweepLine names a sweep as it begins.
func SweepLine(sw Sweep) string {
	return fmt.Sprintf("\n%s (%s, %d records per step)", sw.Label, sw.Mode, sw.Records)
}

// StepLine is one step: rates, latency, cores busy and delivery counts.
func StepLine(st Step) string {
	broker, machine := "unknown", "?"
	if v, ok := st.cores(st.BrokerCPUSeconds); ok {
		broker = fmt.Sprintf("%.2f", v)
	}
	if v, ok := st.cores(st.MachineBusyCPUSeconds); ok {
		machine = fmt.Sprintf("%.2f", v)
	}
	line := fmt.Sprintf("  %3d producers  %9.0f rec/s  %6.1f MB/s  p50 %6.1f  p99 %7.1f  p99.9 %7.1f ms  cores: bench %.2f broker %s machine %s  acked %d/%d failed %d reached %d",
		st.Producers, st.RecordsPerSec, st.MBPerSec, st.LatencyP50Ms, st.LatencyP99Ms, st.LatencyP999Ms,
		st.BenchCPUSeconds/st.ElapsedSeconds, broker, machine, st.Acked, st.Records, st.Failed, st.ReachedTopic)
	if st.NoReport > 0 || st.LatencyP50Ms == 0 {
		// No-flush: rates and latency are not settled at exit; only counts mean something.
		line = fmt.Sprintf("  %3d producers  no flush: %d records produced, %d acked and %d failed at exit, %d with NO delivery report; %d reached the topic",
			st.Producers, st.Records, st.Acked, st.Failed, st.NoReport, st.ReachedTopic)
	}
	if st.FirstError != "" {
		line += "  first error: " + st.FirstError
	}
	if st.Failed > 0 {
		line += "  FAILED STEP: its rate is not that of a complete run"
	}
	return line
}

// SaturationLine is a finished sweep's verdict.
func SaturationLine(sw Sweep) string {
	line := fmt.Sprintf("  no saturation up to %d producers; at the largest step: %s (%s)", sw.Saturation.Producers, sw.Bottleneck.Kind, sw.Bottleneck.Reason)
	if sw.Saturation.Reached {
		line = fmt.Sprintf("  saturation at %d producers (%d adds %+.1f%%); likely bottleneck: %s (%s)",
			sw.Saturation.Producers, sw.Saturation.NextProducers, sw.Saturation.Gain*100, sw.Bottleneck.Kind, sw.Bottleneck.Reason)
	}
	if sw.Cores != nil {
		line += "\n  pinned cores: " + sw.Cores.Reason
	}
	return line
}

// JavaStartLine announces the anchors.
func JavaStartLine(records int, s Settings) string {
	return fmt.Sprintf("\nanchors: %d records, %s, unkeyed (ProducerPerformance sends no keys), each tool its own process reading the same payload file, one value a line", records, s.Label())
}
