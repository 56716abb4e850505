package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Files are the names Write produces inside the output directory.
var Files = []string{"results.json", "steps.csv", "summary.md",
	"throughput.svg", "throughput.png", "broker_cpu.svg", "broker_cpu.png", "latency.svg", "latency.png"}

// Write writes every output file into dir. Each file is written to a
// temporary name and renamed, and results.json is renamed last, so a
// results.json in dir always belongs to a finished run.
func Write(dir string, r *Results) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--out %s: %w", dir, err)
	}
	type pending struct{ tmp, final string }
	var done []pending
	fail := func(err error) error {
		for _, p := range done {
			os.Remove(p.tmp)
		}
		return err
	}
	tmpName := func(name string) string {
		ext := filepath.Ext(name)
		return filepath.Join(dir, "."+strings.TrimSuffix(name, ext)+".tmp"+ext)
	}
	write := func(name string, b []byte) error {
		p := pending{tmpName(name), filepath.Join(dir, name)}
		if err := os.WriteFile(p.tmp, b, 0o644); err != nil {
			return err
		}
		done = append(done, p)
		return nil
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fail(err)
	}
	if err := write("steps.csv", []byte(StepsCSV(r))); err != nil {
		return fail(err)
	}
	if err := write("summary.md", []byte(Summary(r))); err != nil {
		return fail(err)
	}
	for _, ch := range charts(r) {
		for _, ext := range []string{".svg", ".png"} {
			p := pending{tmpName(ch.name + ext), filepath.Join(dir, ch.name+ext)}
			if err := ch.plot.Save(chartW, chartH, p.tmp); err != nil {
				return fail(fmt.Errorf("chart %s%s: %w", ch.name, ext, err))
			}
			done = append(done, p)
		}
	}
	if err := write("results.json", append(js, '\n')); err != nil {
		return fail(err)
	}
	for _, p := range done {
		if err := os.Rename(p.tmp, p.final); err != nil {
			return fail(err)
		}
	}
	return nil
}

// StepsCSV is one row per sweep step.
func StepsCSV(r *Results) string {
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
