package produce

import (
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"

	"github.com/kpar/kpar/internal/render"
	"github.com/kpar/kpar/internal/results"
)

// Files are the names written into --out: the data file, then the views
// (ceiling.svg and ceiling.png too when two or more partition counts ran).
var Files = []string{Kind.File, "steps.csv", "summary.md",
	"throughput.svg", "throughput.png", "broker_cpu.svg", "broker_cpu.png",
	"broker_cpu_per_million.svg", "broker_cpu_per_million.png", "latency.svg", "latency.png",
	"network.svg", "network.png", "cores.svg", "cores.png"}

// Views are the files computed from r alone: the document (summary.md and
// its charts, SVG and PNG) and steps.csv, for results.Write beside the data
// file.
func Views(r Result) []results.View {
	return append(render.Views(Doc(r)), results.View{Name: "steps.csv", Bytes: []byte(StepsCSV(r))})
}

// StepsCSV is one row per sweep step. Columns after repeat_records_per_s
// came with schema v3.
func StepsCSV(r Result) string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write([]string{"sweep", "mode", "producers", "records", "acked", "failed", "no_report", "reached_topic",
		"elapsed_s", "records_per_s", "mb_per_s", "p50_ms", "p99_ms", "p999_ms",
		"wire_out_bytes", "wire_in_bytes", "bench_cpu_s", "broker_cpu_s", "machine_busy_cpu_s", "repeat_records_per_s",
		"partitions", "record_size", "bench_cpu_s_per_million", "broker_cpu_s_per_million",
		"loopback_rx_bytes", "loopback_tx_bytes", "loopback_mb_per_s", "wire_mb_per_s", "core_busy_cpu_s",
		"broker_share_of_pinned_cpus", "bench_share_of_pinned_cpus"})
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	opt := func(v float64, ok bool) string { return map[bool]string{true: f(v)}[ok] }
	list := func(vs []float64, prec int) string {
		var s []string
		for _, v := range vs {
			s = append(s, strconv.FormatFloat(v, 'f', prec, 64))
		}
		return strings.Join(s, " ")
	}
	for _, sw := range r.Sweeps {
		shares := map[int]CoreStep{}
		if sw.Cores != nil {
			for _, cs := range sw.Cores.Steps {
				shares[cs.Producers] = cs
			}
		}
		for _, s := range sw.Steps {
			cs, pinned := shares[s.Producers]
			w.Write([]string{sw.Label, s.Mode, strconv.Itoa(s.Producers), fmt.Sprint(s.Records), fmt.Sprint(s.Acked),
				fmt.Sprint(s.Failed), fmt.Sprint(s.NoReport), fmt.Sprint(s.ReachedTopic), f(s.ElapsedSeconds),
				f(s.RecordsPerSec), f(s.MBPerSec), f(s.LatencyP50Ms), f(s.LatencyP99Ms), f(s.LatencyP999Ms),
				fmt.Sprint(s.WireOutBytes), fmt.Sprint(s.WireInBytes), f(s.BenchCPUSeconds), opt(deref(s.BrokerCPUSeconds)),
				opt(deref(s.MachineBusyCPUSeconds)), list(s.RepeatRecordsPerSec, 0),
				strconv.Itoa(sw.Partitions), strconv.Itoa(sw.RecordSize), f(s.BenchCPUPerMillion()), opt(s.BrokerCPUPerMillion()),
				optInt(s.LoopbackRxBytes), optInt(s.LoopbackTxBytes), opt(s.LoopbackMBPerSec()), f(s.WireMBPerSec()), list(s.CoreBusySeconds, 2),
				opt(cs.BrokerShare, pinned), opt(cs.BenchShare, pinned)})
		}
	}
	w.Flush()
	return b.String()
}

// deref is *p and whether p was set.
func deref[T any](p *T) (T, bool) {
	if p == nil {
		var zero T
		return zero, false
	}
	return *p, true
}

// optInt is *p, or "" when unknown.
func optInt(p *int64) string {
	if v, ok := deref(p); ok {
		return fmt.Sprint(v)
	}
	return ""
}
