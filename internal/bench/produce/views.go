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
var Files = []string{DataFile, "steps.csv", "summary.md",
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
	for _, sw := range r.Sweeps {
		shares := map[int]CoreStep{}
		if sw.Cores != nil {
			for _, cs := range sw.Cores.Steps {
				shares[cs.Producers] = cs
			}
		}
		for _, s := range sw.Steps {
			broker := ""
			if s.BrokerCPUSeconds != nil {
				broker = f(*s.BrokerCPUSeconds)
			}
			machine := ""
			if s.MachineBusyCPUSeconds != nil {
				machine = f(*s.MachineBusyCPUSeconds)
			}
			var reps []string
			for _, v := range s.RepeatRecordsPerSec {
				reps = append(reps, strconv.FormatFloat(v, 'f', 0, 64))
			}
			opt := func(v float64, ok bool) string {
				if !ok {
					return ""
				}
				return f(v)
			}
			optInt := func(p *int64) string {
				if p == nil {
					return ""
				}
				return fmt.Sprint(*p)
			}
			var cores []string
			for _, c := range s.CoreBusySeconds {
				cores = append(cores, strconv.FormatFloat(c, 'f', 2, 64))
			}
			cs, pinned := shares[s.Producers]
			w.Write([]string{sw.Label, s.Mode, strconv.Itoa(s.Producers), fmt.Sprint(s.Records), fmt.Sprint(s.Acked),
				fmt.Sprint(s.Failed), fmt.Sprint(s.NoReport), fmt.Sprint(s.ReachedTopic), f(s.ElapsedSeconds),
				f(s.RecordsPerSec), f(s.MBPerSec), f(s.LatencyP50Ms), f(s.LatencyP99Ms), f(s.LatencyP999Ms),
				fmt.Sprint(s.WireOutBytes), fmt.Sprint(s.WireInBytes), f(s.BenchCPUSeconds), broker, machine, strings.Join(reps, " "),
				strconv.Itoa(sw.Partitions), strconv.Itoa(sw.RecordSize), f(s.BenchCPUPerMillion()), opt(s.BrokerCPUPerMillion()),
				optInt(s.LoopbackRxBytes), optInt(s.LoopbackTxBytes), opt(s.LoopbackMBPerSec()), f(s.WireMBPerSec()), strings.Join(cores, " "),
				opt(cs.BrokerShare, pinned), opt(cs.BenchShare, pinned)})
		}
	}
	w.Flush()
	return b.String()
}
