package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/kpar/kpar/internal/broker"
	"github.com/kpar/kpar/internal/csvsrc"
	"github.com/kpar/kpar/internal/javaperf"
	"github.com/kpar/kpar/internal/producebench"
	"github.com/kpar/kpar/internal/report"
	"github.com/spf13/cobra"
)

// produceFlags are `kpar bench produce`'s flags as typed; sweepable ones
// are comma lists, parsed by settings().
type produceFlags struct {
	input, topic, topics, producers, acks, idempotence, partitioner string
	linger, batch, compression, keyColumn, value, out               string
	partitions                                                      int32
	repeat, warmup, records, maxInFlight, javaRecords               int
	processes, skipBad, jsonOut, vsJava, noFlush                    bool
	timeout                                                         time.Duration
}

const workerCmd = "__worker"

func newBenchProduceCmd(g *globals) *cobra.Command {
	var f produceFlags
	c := &cobra.Command{
		Use:   "produce",
		Short: "Producer scaling bench: 1 to N producers from a CSV, with the settings users argue about",
		Long: `Send a CSV dataset to Kafka with 1, 2, 4, 8... independent producers (each its
own franz-go client fed its own slice of the rows) and measure, per step:
records/s and MB/s (total and per producer), produce latency p50/p99/p99.9
from an HDR histogram, the bench's CPU, the broker's CPU (read from /proc when
the broker is the one 'kpar broker up' started; "unknown" otherwise), bytes on
the wire, and acked vs failed deliveries checked against the topic's end
offsets. The sweep names its saturation point (where one more producer step
adds under 10%) and the likely bottleneck.

Settings flags take comma lists and sweep every combination:
  --acks 1,all --compression none,lz4   runs 4 sweeps.

--vs-java runs Apache Kafka's ProducerPerformance (kafka-tools jar, needs
java 17+) on the same payloads, broker and settings, and prints the Go/Java
ratios for records/s and CPU-seconds per million records.

--no-flush exits each producer without Flush and reports how many records had
no delivery report and how many actually reached the topic.

Results go to --out: results.json (versioned schema), steps.csv, charts
(SVG+PNG) and summary.md. Nothing is written unless the run completes.`,
		Example: `  kpar gen csv --rows 1000000
  kpar bench produce --input events.csv --producers 1,2,4,8 --vs-java
  kpar bench produce --input events.csv --acks 1,all --compression none,zstd --records 200000
  kpar bench produce --input events.csv --processes --producers 1,2,4
  kpar bench produce --input events.csv --no-flush --producers 1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBenchProduce(cmd.Context(), g, &f, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.input, "input", "events.csv", "CSV file to send: a header row, then one record per row (make one with 'kpar gen csv')")
	fl.StringVar(&f.topic, "topic", "kpar-produce", "topic to produce to; created with --partitions partitions if missing")
	fl.StringVar(&f.topics, "topics", "", "two (or more) topics written at once, records alternating between them; replaces --topic")
	fl.Int32Var(&f.partitions, "partitions", 12, "partitions for topics the bench creates (an existing topic keeps its count)")
	fl.StringVar(&f.producers, "producers", "1,2,4,8", "producer counts to sweep; each producer is its own client with its own slice of the rows")
	fl.IntVar(&f.repeat, "repeat", 1, "runs per step; the step reports the median by records/s")
	fl.IntVar(&f.warmup, "warmup", 50_000, "records sent by one producer before each sweep and not counted (connections, JIT of the broker, page cache); 0 skips")
	fl.BoolVar(&f.processes, "processes", false, "run each producer as its own OS process instead of a client in this process")
	fl.StringVar(&f.acks, "acks", "all", "acks to sweep: 0 (fire and forget), 1 (leader wrote it), all (every in-sync replica)")
	fl.StringVar(&f.idempotence, "idempotence", "auto", "idempotent producing to sweep: on, off, or auto (on for acks=all, off otherwise); on needs acks=all")
	fl.StringVar(&f.partitioner, "partitioner", "uniform-bytes", "partitioners to sweep: sticky-key (hash the key, Kafka murmur2), round-robin, uniform-bytes (KIP-794: fill one partition's batch, then move; keys still hash), manual (record i to partition i mod N)")
	fl.StringVar(&f.linger, "linger", "5ms", "linger to sweep: how long a batch waits for more records (Kafka 4 default 5ms, franz-go 10ms)")
	fl.StringVar(&f.batch, "batch-size", "1000000", "max batch bytes to sweep (Java batch.size, franz-go ProducerBatchMaxBytes); Java's default is 16384")
	fl.StringVar(&f.compression, "compression", "none", "compression to sweep: none, snappy, lz4, zstd")
	fl.IntVar(&f.maxInFlight, "max-in-flight", 5, "produce requests in flight per broker without idempotence (idempotent producing is capped at 5); Java's default is 5")
	fl.StringVar(&f.keyColumn, "key-column", "", "header column whose field is the record key (e.g. customer_id); empty sends unkeyed records")
	fl.StringVar(&f.value, "value", "raw", "record value: raw (the row's bytes as in the file) or json (an object of the row, all strings)")
	fl.IntVar(&f.records, "records", 0, "use only the first N good rows (0: all)")
	fl.BoolVar(&f.skipBad, "skip-bad", false, "skip malformed rows (ragged, broken quotes) and count them, instead of stopping at the first with file:line")
	fl.StringVar(&f.out, "out", "results/produce", "directory for results.json, steps.csv, charts and summary.md")
	fl.BoolVar(&f.jsonOut, "json", false, "print the results JSON on stdout instead of the step table")
	fl.BoolVar(&f.vsJava, "vs-java", false, "also run Kafka's ProducerPerformance on the same payloads and settings (first sweep) and print Go/Java ratios")
	fl.IntVar(&f.javaRecords, "java-records", 0, "records for the --vs-java comparison (0: all the input)")
	fl.BoolVar(&f.noFlush, "no-flush", false, "exit each producer without Flush: measures how many records had no delivery report and how many reached the topic")
	fl.DurationVar(&f.timeout, "timeout", 15*time.Second, "how long to wait for the broker to answer before giving up")

	c.AddCommand(&cobra.Command{
		Use:    workerCmd,
		Hidden: true,
		Short:  "one producer of a --processes run (spec on stdin, result JSON on stdout)",
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return producebench.RunWorker(cmd.Context(), os.Stdin, os.Stdout)
		},
	})
	return c
}

// settings expands the sweepable flags into every combination, validated.
func (f *produceFlags) settings() ([]producebench.Settings, error) {
	topics := []string{f.topic}
	if f.topics != "" {
		topics = splitList(f.topics)
	}
	if len(topics) == 0 || topics[0] == "" {
		return nil, errors.New("--topic: no topic given")
	}
	var lingers []time.Duration
	for _, v := range splitList(f.linger) {
		d, err := time.ParseDuration(v)
		if err != nil {
			return nil, fmt.Errorf("--linger %q: want a duration such as 0s, 5ms or 50ms", v)
		}
		lingers = append(lingers, d)
	}
	var batches []int32
	for _, v := range splitList(f.batch) {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("--batch-size %q: want bytes as an integer, such as 16384 or 1000000", v)
		}
		batches = append(batches, int32(n))
	}
	var out []producebench.Settings
	for _, acks := range splitList(f.acks) {
		for _, idem := range splitList(f.idempotence) {
			var on bool
			switch idem {
			case "on":
				on = true
			case "off":
			case "auto":
				on = acks == "all"
			default:
				return nil, fmt.Errorf("--idempotence %q: want on, off or auto", idem)
			}
			for _, part := range splitList(f.partitioner) {
				for _, l := range lingers {
					for _, b := range batches {
						for _, comp := range splitList(f.compression) {
							s := producebench.Settings{Acks: acks, Idempotence: on, Partitioner: part, Linger: l,
								BatchBytes: b, Compression: comp, MaxInFlight: f.maxInFlight, Topics: topics, NoFlush: f.noFlush}
							if err := s.Validate(); err != nil {
								return nil, err
							}
							out = append(out, s)
						}
					}
				}
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no settings to run: --acks, --idempotence, --partitioner, --linger, --batch-size and --compression each need a value")
	}
	return out, nil
}

func (f *produceFlags) producerCounts() ([]int, error) {
	var out []int
	for _, v := range splitList(f.producers) {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 256 {
			return nil, fmt.Errorf("--producers %q: want a comma list of counts from 1 to 256, such as 1,2,4,8", v)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("--producers: no producer count given")
	}
	return out, nil
}

func runBenchProduce(ctx context.Context, g *globals, f *produceFlags, stdout, stderr io.Writer) error {
	started := time.Now()
	// Everything that can be checked without the broker is checked first.
	sweeps, err := f.settings()
	if err != nil {
		return err
	}
	counts, err := f.producerCounts()
	if err != nil {
		return err
	}
	if f.repeat < 1 {
		return fmt.Errorf("--repeat %d: want at least 1", f.repeat)
	}
	if f.partitions < 1 {
		return fmt.Errorf("--partitions %d: want at least 1", f.partitions)
	}
	if f.records < 0 || f.warmup < 0 || f.javaRecords < 0 {
		return errors.New("--records, --warmup and --java-records must be 0 or more")
	}
	if _, err := csvsrc.ParseValueMode(f.value); err != nil {
		return err
	}
	if f.vsJava && f.noFlush {
		return errors.New("--vs-java with --no-flush: the comparison needs every record delivered; run them separately")
	}
	seeds, err := g.seeds()
	if err != nil {
		return err
	}
	if st, err := os.Stat(f.input); err != nil {
		return fmt.Errorf("--input: %w", err)
	} else if st.IsDir() {
		return fmt.Errorf("--input %s is a directory, want a CSV file", f.input)
	}
	src := producebench.Source{Path: f.input, KeyColumn: f.keyColumn, Value: f.value, SkipBad: f.skipBad, Limit: f.records}
	loadStart := time.Now()
	data, err := src.Load()
	if err != nil {
		return err
	}
	loadSecs := time.Since(loadStart).Seconds()
	if data.Skipped > 0 {
		fmt.Fprintf(stderr, "kpar: skipped %d malformed rows (--skip-bad); first: %s\n", data.Skipped, data.FirstBad[0])
	}

	if err := broker.Probe(ctx, seeds, f.timeout); err != nil {
		return fmt.Errorf("broker %s: %w", strings.Join(seeds, ","), err)
	}
	binfo, brokerCPU := localBrokerCPU(seeds)

	exe, err := os.Executable()
	if err != nil {
		return err
	}
	opts := []producebench.Opt{producebench.WithWorkers([]string{exe, "bench", "produce", workerCmd}, src)}
	if brokerCPU != nil {
		opts = append(opts, producebench.WithBrokerCPU(brokerCPU))
	}
	bar := newProgress(stderr, stdout, "records", int64(len(sweeps))*(int64(f.warmup)+int64(len(counts)*f.repeat*data.Len())))
	defer bar.stop()
	if !f.processes {
		opts = append(opts, producebench.WithProgress(bar.add))
	}
	b, err := producebench.New(seeds, data, opts...)
	if err != nil {
		return err
	}
	defer b.Close()
	tctx, cancel := context.WithTimeout(ctx, f.timeout)
	parts, err := b.EnsureTopics(tctx, sweeps[0].Topics, f.partitions)
	cancel()
	if err != nil {
		return err
	}

	res := &report.Results{
		Schema: report.Schema, SchemaVersion: report.SchemaVersion, Started: started,
		Command: os.Args,
		Host:    report.Host{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH},
		Broker:  binfo,
		Input: report.Input{File: f.input, Records: data.Len(), PayloadBytes: data.Bytes, KeyColumn: f.keyColumn, Value: f.value,
			SkippedRows: data.Skipped, FirstBadRows: data.FirstBad, LoadSeconds: loadSecs, LoadRecordsSec: float64(data.Len()) / loadSecs},
		Repeat: f.repeat, Partitions: parts,
	}
	warm := f.warmup
	if warm > data.Len() {
		warm = data.Len()
	}
	res.WarmupRecords = warm
	for t, n := range parts {
		if n != f.partitions {
			res.Notes = append(res.Notes, fmt.Sprintf("topic %s already existed with %d partitions (not --partitions %d); it was used as is", t, n, f.partitions))
		}
	}
	mode := "in-process"
	if f.processes {
		mode = "processes"
	}
	text := stdout
	if f.jsonOut {
		text = io.Discard
	}
	fmt.Fprintf(text, "input %s: %d records, %.1f MB, loaded in %.2fs; broker %s (CPU %s); %d partitions\n",
		f.input, data.Len(), float64(data.Bytes)/1e6, loadSecs, strings.Join(seeds, ","), binfo.CPU, parts[sweeps[0].Topics[0]])
	for _, s := range sweeps {
		fmt.Fprintf(text, "\n%s (%s)\n", s.Label(), mode)
		if warm > 0 {
			ws := s
			ws.NoFlush = false
			if _, err := b.Step(ctx, producebench.Run{Settings: ws, Partitions: parts, Producers: 1, Processes: f.processes, Limit: warm}); err != nil {
				return fmt.Errorf("warm-up: %w", err)
			}
			if f.processes {
				bar.add(int64(warm))
			}
		}
		sw := report.Sweep{Label: s.Label(), Mode: mode, Settings: s}
		for _, n := range counts {
			st, err := b.Repeat(ctx, producebench.Run{Settings: s, Partitions: parts, Producers: n, Processes: f.processes}, f.repeat)
			if err != nil {
				return fmt.Errorf("%d producers: %w", n, err)
			}
			if f.processes {
				bar.add(int64(f.repeat) * st.Records)
			}
			sw.Steps = append(sw.Steps, st)
			fmt.Fprintln(text, stepLine(st))
		}
		sw.Saturation = producebench.FindSaturation(sw.Steps)
		sw.Bottleneck = producebench.FindBottleneck(sw.Steps, sw.Saturation, runtime.NumCPU(), parts[s.Topics[0]])
		res.Sweeps = append(res.Sweeps, sw)
		if sw.Saturation.Reached {
			fmt.Fprintf(text, "  saturation at %d producers (%d adds %+.1f%%); likely bottleneck: %s (%s)\n",
				sw.Saturation.Producers, sw.Saturation.NextProducers, sw.Saturation.Gain*100, sw.Bottleneck.Kind, sw.Bottleneck.Reason)
		} else {
			fmt.Fprintf(text, "  no saturation up to %d producers; at the largest step: %s (%s)\n", sw.Saturation.Producers, sw.Bottleneck.Kind, sw.Bottleneck.Reason)
		}
	}
	if f.vsJava {
		bar.stop()
		j, err := runVsJava(ctx, b, f, sweeps[0], parts, data, seeds, text)
		if err != nil {
			return fmt.Errorf("--vs-java: %w", err)
		}
		res.Java = j
		if len(sweeps) > 1 {
			res.Notes = append(res.Notes, "--vs-java compared the first settings combination only: "+sweeps[0].Label())
		}
	}
	bar.stop()
	res.Finished = time.Now()
	if err := report.Write(f.out, res); err != nil {
		return err
	}
	if f.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	fmt.Fprintf(stdout, "\nresults: %s (summary.md, results.json, steps.csv, charts) in %.0fs\n", f.out, time.Since(started).Seconds())
	return nil
}

func stepLine(st producebench.Step) string {
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

// localBrokerCPU returns broker info and, when seeds name the broker that
// `kpar broker up` recorded, a reader of its JVMs' CPU seconds.
func localBrokerCPU(seeds []string) (report.Broker, producebench.BrokerCPU) {
	info := report.Broker{Seeds: seeds, CPU: "unknown"}
	st, err := broker.LoadState(broker.Home())
	if err != nil {
		return info, nil
	}
	local := map[string]bool{}
	for _, a := range st.Bootstrap() {
		local[a] = true
		local[strings.Replace(a, "127.0.0.1", "localhost", 1)] = true
	}
	for _, s := range seeds {
		if !local[s] {
			return info, nil
		}
	}
	var pids []int
	for _, n := range st.Nodes {
		if n.Alive() {
			pids = append(pids, n.Pid)
		}
	}
	if len(pids) == 0 {
		return info, nil
	}
	info.Local, info.PIDs, info.CPU = true, pids, "proc"
	return info, func() (float64, error) {
		var sum float64
		for _, p := range pids {
			v, err := broker.CPUSeconds(p)
			if err != nil {
				return 0, err
			}
			sum += v
		}
		return sum, nil
	}
}

func runVsJava(ctx context.Context, b *producebench.Bench, f *produceFlags, s producebench.Settings, parts map[string]int32,
	data *csvsrc.Dataset, seeds []string, text io.Writer) (*report.JavaComparison, error) {
	java, err := broker.JavaBin()
	if err != nil {
		return nil, err
	}
	cp, err := broker.ClassPath(ctx)
	if err != nil {
		return nil, err
	}
	n := data.Len()
	if f.javaRecords > 0 && f.javaRecords < n {
		n = f.javaRecords
	}
	// One topic for both tools: ProducerPerformance writes to one.
	s.Topics = s.Topics[:1]
	dir, err := os.MkdirTemp("", "kpar-java-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	payload := filepath.Join(dir, "payloads.txt")
	skipped, err := javaperf.WritePayloadFile(payload, data.Values[:n])
	if err != nil {
		return nil, err
	}
	if skipped == n {
		return nil, errors.New("every value holds a line break: none can be a --payload-file line")
	}
	fmt.Fprintf(text, "\nvs Java: %d records, %s, unkeyed (ProducerPerformance sends no keys)\n", n, s.Label())
	g, err := b.RunAnchor(ctx, s, parts, n, true)
	if err != nil {
		return nil, err
	}
	if g.Failed > 0 {
		return nil, fmt.Errorf("go anchor: %d records failed: %s", g.Failed, g.FirstError)
	}
	jr, err := javaperf.Run(ctx, javaperf.Config{Java: java, ClassPath: cp, Seeds: seeds, Topic: s.Topics[0], Records: n,
		PayloadFile: payload, Props: s.JavaProps()})
	if err != nil {
		return nil, err
	}
	j := &report.JavaComparison{Topic: s.Topics[0], Records: n, Settings: s, Java: jr, Go: g, PayloadsSkipped: skipped}
	j.Compute()
	fmt.Fprintf(text, "  kpar (Go)            %9.0f rec/s  %6.2f CPU-s per million records (process %.2f CPU-s, wall %.1fs)\n",
		j.GoRecordsPerSec, j.GoCPUPerMillion, g.ProcessCPUSeconds, g.WallSeconds)
	fmt.Fprintf(text, "  ProducerPerformance  %9.0f rec/s  %6.2f CPU-s per million records (process %.2f CPU-s, wall %.1fs)\n",
		j.JavaRecordsPerSec, j.JavaCPUPerMillion, jr.CPUSeconds, jr.WallSeconds)
	fmt.Fprintf(text, "  Go/Java: %.2fx records/s, %.2fx CPU-s per million records\n", j.RecordsPerSecRatio, j.CPUPerMillionRatio)
	return j, nil
}
