package produce

import (
	"fmt"
	"strings"
)

// The text lines `kpar bench produce` prints as the run goes, each computed
// from data only.

// ReadyLine describes the input, the broker and topic's partitions.
func ReadyLine(r Result, topic string) string {
	parts := r.Partitions[topic]
	return fmt.Sprintf("input %s: %d records, %.1f MB, loaded in %.2fs; broker %s (CPU %s); %d partitions",
		r.Input.File, r.Input.Records, float64(r.Input.PayloadBytes)/1e6, r.Input.LoadSeconds, strings.Join(r.Broker.Seeds, ","), r.Broker.CPU, parts)
}

// SweepLine names a sweep as it begins.
func SweepLine(s Settings, mode string) string { return fmt.Sprintf("\n%s (%s)", s.Label(), mode) }

// StepLine is one step: rates, latency, cores busy and delivery counts.
func StepLine(st Step) string {
	broker := "unknown"
	if st.BrokerCPUSeconds != nil && st.ElapsedSeconds > 0 {
		broker = fmt.Sprintf("%.2f", *st.BrokerCPUSeconds/st.ElapsedSeconds)
	}
	machine := "?"
	if st.MachineBusyCPUSeconds != nil && st.ElapsedSeconds > 0 {
		machine = fmt.Sprintf("%.2f", *st.MachineBusyCPUSeconds/st.ElapsedSeconds)
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
	return line
}

// SaturationLine is a finished sweep's verdict.
func SaturationLine(sw Sweep) string {
	if sw.Saturation.Reached {
		return fmt.Sprintf("  saturation at %d producers (%d adds %+.1f%%); likely bottleneck: %s (%s)",
			sw.Saturation.Producers, sw.Saturation.NextProducers, sw.Saturation.Gain*100, sw.Bottleneck.Kind, sw.Bottleneck.Reason)
	}
	return fmt.Sprintf("  no saturation up to %d producers; at the largest step: %s (%s)", sw.Saturation.Producers, sw.Bottleneck.Kind, sw.Bottleneck.Reason)
}

// JavaStartLine announces the Java comparison.
func JavaStartLine(records int, s Settings) string {
	return fmt.Sprintf("\nvs Java: %d records, %s, unkeyed (ProducerPerformance sends no keys)", records, s.Label())
}

// JavaLines are the comparison's result: each tool's rate and CPU, and the ratios.
func JavaLines(j JavaComparison) string {
	return fmt.Sprintf("  kpar (Go)            %9.0f rec/s  %6.2f CPU-s per million records (process %.2f CPU-s, wall %.1fs)\n", j.GoRecordsPerSec, j.GoCPUPerMillion, j.Go.ProcessCPUSeconds, j.Go.WallSeconds) +
		fmt.Sprintf("  ProducerPerformance  %9.0f rec/s  %6.2f CPU-s per million records (process %.2f CPU-s, wall %.1fs)\n", j.JavaRecordsPerSec, j.JavaCPUPerMillion, j.Java.CPUSeconds, j.Java.WallSeconds) +
		fmt.Sprintf("  Go/Java: %.2fx records/s, %.2fx CPU-s per million records", j.RecordsPerSecRatio, j.CPUPerMillionRatio)
}
