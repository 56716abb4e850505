package produce

import (
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/kpar/kpar/internal/clock"
)

// Sample is what one producer measured over its slice.
type Sample struct {
	Producer     int     `json:"producer"`
	Records      int64   `json:"records"`       // records handed to Produce
	Acked        int64   `json:"acked"`         // delivery reports without error
	Failed       int64   `json:"failed"`        // delivery reports with an error
	NoReport     int64   `json:"no_report"`     // no delivery report when the producer stopped (no-flush)
	PayloadBytes int64   `json:"payload_bytes"` // key+value bytes of acked records
	WireOut      int64   `json:"wire_out_bytes"`
	WireIn       int64   `json:"wire_in_bytes"`
	ElapsedNs    int64   `json:"elapsed_ns"`  // first Produce to last delivery report (see Latency)
	CPUSeconds   float64 `json:"cpu_seconds"` // own CPU over the run (process workers only)
	FirstError   string  `json:"first_error,omitempty"`
	// Latency is the produce-to-delivery-report histogram in microseconds;
	// an acked record's report is timed when the client read its
	// acknowledgement (reports.promise), a failed one's when it failed.
	Latency *hdrhistogram.Snapshot `json:"latency_us"`
}

// Step is one point of a sweep: a producer count, aggregated over the
// producers, from the median of the repeats.
type Step struct {
	Producers         int       `json:"producers"`
	Mode              string    `json:"mode"` // "in-process" or "processes"
	Records           int64     `json:"records"`
	Acked             int64     `json:"acked"`
	Failed            int64     `json:"failed"`
	NoReport          int64     `json:"no_report"`
	ReachedTopic      int64     `json:"reached_topic"` // end-offset growth of the target topics
	FirstError        string    `json:"first_error,omitempty"`
	ElapsedSeconds    float64   `json:"elapsed_seconds"`
	RecordsPerSec     float64   `json:"records_per_sec"`
	MBPerSec          float64   `json:"mb_per_sec"` // payload MB (1e6 bytes) per second
	PerProducerRecSec []float64 `json:"per_producer_records_per_sec"`
	PerProducerMBSec  []float64 `json:"per_producer_mb_per_sec"`
	LatencyP50Ms      float64   `json:"latency_p50_ms"`
	LatencyP99Ms      float64   `json:"latency_p99_ms"`
	LatencyP999Ms     float64   `json:"latency_p999_ms"`
	WireOutBytes      int64     `json:"wire_out_bytes"`
	WireInBytes       int64     `json:"wire_in_bytes"`
	BenchCPUSeconds   float64   `json:"bench_cpu_seconds"`
	// BrokerCPUSeconds is nil when the broker is not one kpar started here.
	BrokerCPUSeconds *float64 `json:"broker_cpu_seconds"`
	// MachineBusyCPUSeconds is every process's CPU on the host over the
	// step (nil when /proc/stat is unreadable): on a shared machine the
	// difference to bench+broker is other people's load.
	MachineBusyCPUSeconds *float64 `json:"machine_busy_cpu_seconds"`
	// RepeatRecordsPerSec holds every repeat's rate; the step is the median one.
	RepeatRecordsPerSec []float64 `json:"repeat_records_per_sec"`
	// CoreBusySeconds is each CPU's busy time over the step, every process
	// included, indexed by CPU number (nil when /proc/stat is unreadable).
	CoreBusySeconds []float64 `json:"core_busy_cpu_seconds,omitempty"`
	// LoopbackRxBytes and LoopbackTxBytes are what crossed the loopback
	// interface over the step (/proc/net/dev; nil when unreadable): the
	// clients' bytes, replication between local brokers, and other local
	// traffic on the machine.
	LoopbackRxBytes *int64 `json:"loopback_rx_bytes"`
	LoopbackTxBytes *int64 `json:"loopback_tx_bytes"`
}

// BrokerCPUPerMillion is the broker's CPU seconds per million acked
// records; false when the broker's CPU is unknown.
func (s Step) BrokerCPUPerMillion() (float64, bool) {
	if s.BrokerCPUSeconds == nil || s.Acked == 0 {
		return 0, false
	}
	return clock.PerMillion(*s.BrokerCPUSeconds, s.Acked), true
}

// WireMBPerSec is the clients' bytes on the wire, both directions, per second.
func (s Step) WireMBPerSec() float64 {
	return clock.Ratio(float64(s.WireOutBytes+s.WireInBytes)/1e6, s.ElapsedSeconds)
}

// LoopbackMBPerSec is the loopback interface's received bytes per second
// (on lo every byte sent is also received, so rx alone counts each once).
func (s Step) LoopbackMBPerSec() (float64, bool) {
	if s.LoopbackRxBytes == nil {
		return 0, false
	}
	return s.perSec(float64(*s.LoopbackRxBytes) / 1e6)
}

// perSec is v over the step's elapsed time (CPU seconds: the cores busy);
// false when the step has no elapsed time.
func (s Step) perSec(v float64) (float64, bool) {
	return clock.Ratio(v, s.ElapsedSeconds), s.ElapsedSeconds > 0
}

// cores is the cores busy of secs CPU seconds over the step (false when
// secs is unknown).
func (s Step) cores(secs *float64) (float64, bool) {
	if secs == nil {
		return 0, false
	}
	return s.perSec(*secs)
}

// BenchCPUPerMillion is the bench's CPU seconds per million acked records.
func (s Step) BenchCPUPerMillion() float64 { return clock.PerMillion(s.BenchCPUSeconds, s.Acked) }

// aggregate folds producer samples into a step.
func aggregate(producers int, mode string, samples []Sample, wall time.Duration) Step {
	st := Step{Producers: producers, Mode: mode, ElapsedSeconds: wall.Seconds()}
	h := newHist()
	var bytes int64
	for _, s := range samples {
		st.Records += s.Records
		st.Acked += s.Acked
		st.Failed += s.Failed
		st.NoReport += s.NoReport
		st.WireOutBytes += s.WireOut
		st.WireInBytes += s.WireIn
		st.BenchCPUSeconds += s.CPUSeconds
		bytes += s.PayloadBytes
		if st.FirstError == "" {
			st.FirstError = s.FirstError
		}
		el := time.Duration(s.ElapsedNs).Seconds()
		st.PerProducerRecSec = append(st.PerProducerRecSec, clock.Ratio(float64(s.Acked), el))
		st.PerProducerMBSec = append(st.PerProducerMBSec, clock.Ratio(float64(s.PayloadBytes)/1e6, el))
		if s.Latency != nil {
			h.Merge(hdrhistogram.Import(s.Latency))
		}
	}
	st.RecordsPerSec = clock.Ratio(float64(st.Acked), st.ElapsedSeconds)
	st.MBPerSec = clock.Ratio(float64(bytes)/1e6, st.ElapsedSeconds)
	st.LatencyP50Ms = float64(h.ValueAtQuantile(50)) / 1000
	st.LatencyP99Ms = float64(h.ValueAtQuantile(99)) / 1000
	st.LatencyP999Ms = float64(h.ValueAtQuantile(99.9)) / 1000
	return st
}

// newHist covers 1µs to 5 minutes at 3 significant digits.
func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(1, 300_000_000, 3) }
