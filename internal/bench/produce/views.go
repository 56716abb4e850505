package produce

import (
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"

	"github.com/kpar/kpar/internal/results"
)

// Files are the names written into --out: the data file, then the views.
var Files = []string{DataFile, "steps.csv", "summary.md",
	"throughput.svg", "throughput.png", "broker_cpu.svg", "broker_cpu.png", "latency.svg", "latency.png"}

// Views are the files computed from r alone: summary.md, steps.csv and the
// charts (SVG and PNG), for results.Write beside the data file.
func Views(r Result) []results.View {
	vs := []results.View{
		{Name: "steps.csv", Bytes: []byte(StepsCSV(r))},
		{Name: "summary.md", Bytes: []byte(Summary(r))},
	}
	for _, ch := range charts(r) {
		for _, ext := range []string{".svg", ".png"} {
			p := ch.plot
			vs = append(vs, results.View{Name: ch.name + ext, Save: func(path string) error {
				if err := p.Save(chartW, chartH, path); err != nil {
					return fmt.Errorf("chart: %w", err)
				}
				return nil
			}})
		}
	}
	return vs
}

// StepsCSV is one row per sweep step.
func StepsCSV(r Result) string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write([]string{"sweep", "mode", "producers", "records", "acked", "failed", "no_report", "reached_topic",
		"elapsed_s", "records_per_s", "mb_per_s", "p50_ms", "p99_ms", "p999_ms",
		"wire_out_bytes", "wire_in_bytes", "bench_cpu_s", "broker_cpu_s", "machine_busy_cpu_s", "repeat_records_per_s"})
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for _, sw := range r.Sweeps {
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
			w.Write([]string{sw.Label, s.Mode, strconv.Itoa(s.Producers), fmt.Sprint(s.Records), fmt.Sprint(s.Acked),
				fmt.Sprint(s.Failed), fmt.Sprint(s.NoReport), fmt.Sprint(s.ReachedTopic), f(s.ElapsedSeconds),
				f(s.RecordsPerSec), f(s.MBPerSec), f(s.LatencyP50Ms), f(s.LatencyP99Ms), f(s.LatencyP999Ms),
				fmt.Sprint(s.WireOutBytes), fmt.Sprint(s.WireInBytes), f(s.BenchCPUSeconds), broker, machine, strings.Join(reps, " ")})
		}
	}
	w.Flush()
	return b.String()
}
