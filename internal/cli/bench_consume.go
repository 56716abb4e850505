package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kpar/kpar/internal/consumebench"
	"github.com/kpar/kpar/parallel"
)

type benchConsumeFlags struct {
	prefix      string
	partitions  int32
	keys        int
	valueSize   int
	records     int64
	sleep       time.Duration
	concurrency int
	order       string
	cpuRecords  int64
	cpuConc     int
	rssRecords  int64
	maxBuffered int
	perPart     int
	only        string
	ioBuffered  int
	ioPerPart   int
	json        bool
	cpuProfile  string
	fetchMax    int32
	out         string
}

// benchConsumeReport is the --json output (schema versioned for the lab).
type benchConsumeReport struct {
	Schema  string                  `json:"schema"` // v2: first_record_s, fetch_max_bytes, gogc, started, cpus; v3: steady_records_per_s, steady_efficiency_vs_ideal
	Brokers []string                `json:"brokers"`
	Started time.Time               `json:"started"`
	CPUs    int                     `json:"cpus"`
	IO      *ioReport               `json:"io,omitempty"`
	CPU     *cpuReport              `json:"cpu_light,omitempty"`
	RSS     *consumebench.RSSResult `json:"rss,omitempty"`
	Note    string                  `json:"note"`
}

type ioReport struct {
	Partitions  int32               `json:"partitions"`
	Keys        int                 `json:"keys"`
	Concurrency int                 `json:"concurrency"`
	SleepMs     float64             `json:"sleep_ms"`
	Order       string              `json:"order"`
	Result      consumebench.Result `json:"result"`
	IdealPerS   float64             `json:"ideal_per_s"`          // min(concurrency, keys) / sleep
	IdealMeasPS float64             `json:"ideal_measured_per_s"` // same with the measured mean handler time
	Efficiency  float64             `json:"efficiency_vs_ideal"`  // rate / ideal_per_s, whole run
	// SteadyEfficiency is the rate from the first record on over the ideal:
	// the ideal is a steady-state rate, the group join a one-off cost.
	SteadyEfficiency float64 `json:"steady_efficiency_vs_ideal"`
	CPUCores         float64 `json:"cpu_cores_used"` // cpu seconds / wall seconds
	BoundBy          string  `json:"bound_by"`
}

type cpuReport struct {
	Parallel consumebench.Result `json:"parallel"`
	// Plain is the faster of the two plain loops: with kgo's default
	// FetchMaxBytes (PlainDefault) and with the parallel run's
	// (PlainSameFetch). Ratio is against it: the conservative reference.
	Plain          consumebench.Result `json:"plain"`
	PlainDefault   consumebench.Result `json:"plain_default_fetch"`
	PlainSameFetch consumebench.Result `json:"plain_same_fetch"`
	Ratio          float64             `json:"ratio"`
}

func newBenchConsumeCmd(g *globals) *cobra.Command {
	f := &benchConsumeFlags{}
	c := &cobra.Command{
		Use:   "consume",
		Short: "Measure the parallel consumer: I/O-bound rate, no-op rate vs plain franz-go, peak RSS",
		Long: `Runs against a real broker (never kfake). Three measurements:
  io   records with a sleeping handler under key order, against the ideal
       min(concurrency, keys)/sleep;
  cpu  a no-op handler against a plain franz-go poll loop over the same topic,
       in the same run;
  rss  peak RSS (VmHWM) of a child process consuming a large backlog under the
       configured buffer bounds.
Topics are created once (named after their sizes) and reused. Timings on a
shared machine are noisy: repeat runs before trusting a difference.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runBenchConsume(cmd, g, f) },
	}
	fl := c.Flags()
	fl.StringVar(&f.prefix, "topic-prefix", "kpar-bench-consume", "prefix of the bench topics")
	fl.Int32Var(&f.partitions, "partitions", 12, "partitions per bench topic")
	fl.IntVar(&f.keys, "keys", 1000, "distinct record keys")
	fl.IntVar(&f.valueSize, "value-size", 100, "record value bytes")
	fl.Int64Var(&f.records, "records", 200_000, "io: records to consume")
	fl.DurationVar(&f.sleep, "sleep", 5*time.Millisecond, "io: handler latency")
	fl.IntVar(&f.concurrency, "concurrency", 500, "io: max concurrency")
	fl.StringVar(&f.order, "order", "key", "io: ordering (key, partition, none)")
	fl.IntVar(&f.ioBuffered, "io-max-buffered", 60_000, "io: MaxBuffered bound (large: polls fill it partition by partition)")
	fl.IntVar(&f.ioPerPart, "io-max-buffered-per-partition", 5_000, "io: MaxBufferedPerPartition bound")
	fl.Int64Var(&f.cpuRecords, "cpu-records", 2_000_000, "cpu: records consumed by each side")
	fl.IntVar(&f.cpuConc, "cpu-concurrency", 8, "cpu: max concurrency of the no-op run")
	fl.Int64Var(&f.rssRecords, "rss-records", 2_000_000, "rss: backlog consumed by the child")
	fl.IntVar(&f.maxBuffered, "max-buffered", 10_000, "cpu/rss: MaxBuffered bound")
	fl.IntVar(&f.perPart, "max-buffered-per-partition", 2_000, "cpu/rss: MaxBufferedPerPartition bound")
	fl.StringVar(&f.only, "only", "io,cpu,rss", "comma-separated measurements to run")
	fl.BoolVar(&f.json, "json", false, "print the report as JSON")
	fl.Int32Var(&f.fetchMax, "fetch-max-bytes", 0, "cpu/rss: kgo.FetchMaxBytes for the parallel consumer (0: the library's default, MaxBuffered x 100 B, 1-50 MiB)")
	fl.StringVar(&f.out, "out", "", "also write consume.json and consume.md into this directory (only once every measurement finished)")
	fl.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the measurements (this process) to this file")
	return c
}

func runBenchConsume(cmd *cobra.Command, g *globals, f *benchConsumeFlags) error {
	seeds, err := g.seeds()
	if err != nil {
		return err
	}
	order, err := parallel.ParseOrder(f.order)
	if err != nil {
		return fmt.Errorf("--order: %w", err)
	}
	switch {
	case f.partitions < 1:
		return fmt.Errorf("--partitions %d: must be >= 1", f.partitions)
	case f.keys < 1:
		return fmt.Errorf("--keys %d: must be >= 1", f.keys)
	case f.records < 1 || f.cpuRecords < 1 || f.rssRecords < 1:
		return fmt.Errorf("--records, --cpu-records and --rss-records must be >= 1")
	case f.concurrency < 1 || f.cpuConc < 1:
		return fmt.Errorf("--concurrency and --cpu-concurrency must be >= 1")
	}
	big := fmt.Sprintf("%s-big-%dp-%dv", f.prefix, f.partitions, f.valueSize)
	ctx := cmd.Context()
	if os.Getenv(consumebench.ChildEnv) == "1" { // re-executed child of the rss measurement
		return consumebench.ChildMain(ctx, seeds, big, f.rssRecords, consumebench.ParallelSpec{Order: parallel.OrderKey,
			Concurrency: f.cpuConc, MaxBuffered: f.maxBuffered, PerPart: f.perPart, FetchMaxBytes: f.fetchMax})
	}
	want := map[string]bool{}
	for _, s := range strings.Split(f.only, ",") {
		s = strings.TrimSpace(s)
		if s != "io" && s != "cpu" && s != "rss" {
			return fmt.Errorf("--only %q: unknown measurement %q (want io, cpu, rss)", f.only, s)
		}
		want[s] = true
	}
	logf := func(format string, args ...any) { fmt.Fprintf(cmd.ErrOrStderr(), "kpar: "+format+"\n", args...) }
	if f.cpuProfile != "" {
		pf, err := os.Create(f.cpuProfile)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	rep := benchConsumeReport{Schema: "kpar.bench.consume/v3", Brokers: seeds, Started: time.Now().UTC(),
		CPUs: runtime.NumCPU(), Note: "single run on a shared machine; timings are noisy"}

	if want["io"] {
		topic := fmt.Sprintf("%s-io-%dp-%dk-%dv", f.prefix, f.partitions, f.keys, f.valueSize)
		logf("io: preparing %d records in %s", f.records, topic)
		// 10% headroom, as for the cpu topic below: measure a backlog.
		if _, err := consumebench.Prepare(ctx, seeds, topic, f.partitions, f.records+f.records/10, f.keys, f.valueSize); err != nil {
			return err
		}
		logf("io: consuming with %d goroutines, %v handler, %s order", f.concurrency, f.sleep, order)
		res, err := consumebench.RunParallel(ctx, seeds, topic, f.records, consumebench.ParallelSpec{
			Order: order, Concurrency: f.concurrency, Sleep: f.sleep, MaxBuffered: f.ioBuffered, PerPart: f.ioPerPart})
		if err != nil {
			return err
		}
		lanes := f.concurrency
		bound := "concurrency"
		if order == parallel.OrderKey && f.keys < lanes {
			lanes, bound = f.keys, "keys"
		}
		if order == parallel.OrderPartition && int(f.partitions) < lanes {
			lanes, bound = int(f.partitions), "partitions"
		}
		io := &ioReport{Partitions: f.partitions, Keys: f.keys, Concurrency: f.concurrency,
			SleepMs: float64(f.sleep) / 1e6, Order: order.String(), Result: res,
			IdealPerS:   float64(lanes) / f.sleep.Seconds(),
			IdealMeasPS: float64(lanes) / (res.MeanHandler / 1e3),
			CPUCores:    res.CPUSeconds / res.Seconds}
		io.Efficiency = res.RecordsPerS / io.IdealPerS
		io.SteadyEfficiency = res.SteadyPerS / io.IdealPerS
		switch {
		case io.SteadyEfficiency >= 0.9:
			io.BoundBy = bound + " / handler latency (the ideal)"
		case io.CPUCores > 0.8*float64(runtime.NumCPU()):
			io.BoundBy = fmt.Sprintf("CPU (%.2f of %d cores busy)", io.CPUCores, runtime.NumCPU())
		case res.SteadyPerS >= 0.9*io.IdealMeasPS:
			io.BoundBy = fmt.Sprintf("handler latency: sleep(%v) takes %.2f ms here", f.sleep, res.MeanHandler)
		default:
			io.BoundBy = "neither CPU nor the ideal: fetch/dispatch latency"
		}
		rep.IO = io
	}
	if want["cpu"] || want["rss"] {
		n := max(f.cpuRecords, f.rssRecords)
		if !want["rss"] {
			n = f.cpuRecords
		}
		// 10% more than any run consumes: the runs measure a backlog, not
		// the log's end, where a partition resumed from backpressure waits
		// out the fetch long-poll (FetchMaxWait) of the others, all idle.
		n += n / 10
		logf("preparing %d records in %s", n, big)
		if _, err := consumebench.Prepare(ctx, seeds, big, f.partitions, n, f.keys, f.valueSize); err != nil {
			return err
		}
	}
	if want["cpu"] {
		logf("cpu: plain franz-go poll loop over %d records, kgo's default fetch size", f.cpuRecords)
		plainDef, err := consumebench.RunPlain(ctx, seeds, big, f.cpuRecords, 0)
		if err != nil {
			return err
		}
		same := f.fetchMax
		if same <= 0 {
			same = parallel.DefaultFetchMaxBytes(f.maxBuffered)
		}
		logf("cpu: plain franz-go poll loop over %d records, FetchMaxBytes %d as the parallel run", f.cpuRecords, same)
		plainSame, err := consumebench.RunPlain(ctx, seeds, big, f.cpuRecords, same)
		if err != nil {
			return err
		}
		plain := plainDef
		if plainSame.RecordsPerS > plain.RecordsPerS {
			plain = plainSame
		}
		logf("cpu: parallel consumer, no-op handler, over %d records", f.cpuRecords)
		par, err := consumebench.RunParallel(ctx, seeds, big, f.cpuRecords, consumebench.ParallelSpec{
			Order: parallel.OrderKey, Concurrency: f.cpuConc, MaxBuffered: f.maxBuffered, PerPart: f.perPart,
			FetchMaxBytes: f.fetchMax})
		if err != nil {
			return err
		}
		rep.CPU = &cpuReport{Parallel: par, Plain: plain, PlainDefault: plainDef, PlainSameFetch: plainSame,
			Ratio: par.RecordsPerS / plain.RecordsPerS}
	}
	if want["rss"] {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		logf("rss: child consumes %d records with MaxBuffered=%d, per partition %d", f.rssRecords, f.maxBuffered, f.perPart)
		args := append([]string{"--brokers", strings.Join(seeds, ",")}, os.Args[1:]...)
		r, err := consumebench.MeasureRSS(ctx, exe, args)
		if err != nil {
			return err
		}
		rep.RSS = &r
	}
	if f.out != "" {
		if err := writeConsumeOut(f.out, &rep); err != nil {
			return err
		}
		logf("wrote %s and %s", filepath.Join(f.out, "consume.json"), filepath.Join(f.out, "consume.md"))
	}
	out := cmd.OutOrStdout()
	if f.json {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Fprintf(out, "brokers %s (%s)\n", strings.Join(seeds, ","), rep.Note)
	if io := rep.IO; io != nil {
		fmt.Fprintf(out, "io:  %d records, %d partitions, %d keys, %s order, concurrency %d, handler sleep %v\n",
			io.Result.Records, io.Partitions, io.Keys, io.Order, io.Concurrency, f.sleep)
		fmt.Fprintf(out, "     %.0f rec/s over the whole %.2fs run (%.1f%% of the ideal %.0f rec/s), of which %.0f ms went to the group join and first fetch\n",
			io.Result.RecordsPerS, io.Result.Seconds, 100*io.Efficiency, io.IdealPerS, 1e3*io.Result.FirstS)
		fmt.Fprintf(out, "     %.0f rec/s from the first record on -> %.1f%% of ideal (target 90%%)\n",
			io.Result.SteadyPerS, 100*io.SteadyEfficiency)
		fmt.Fprintf(out, "     measured mean handler %.2f ms (ideal at that latency %.0f rec/s); CPU %.2f cores of %d\n",
			io.Result.MeanHandler, io.IdealMeasPS, io.CPUCores, runtime.NumCPU())
		fmt.Fprintf(out, "     bound by: %s (MaxBuffered %d, per partition %d)\n", io.BoundBy, f.ioBuffered, f.ioPerPart)
	}
	if c := rep.CPU; c != nil {
		fmt.Fprintf(out, "cpu: plain franz-go %.0f rec/s (%.2fs, cpu %.2fs) with kgo's default fetch size, %.0f rec/s (%.2fs, cpu %.2fs) with the parallel run's\n",
			c.PlainDefault.RecordsPerS, c.PlainDefault.Seconds, c.PlainDefault.CPUSeconds,
			c.PlainSameFetch.RecordsPerS, c.PlainSameFetch.Seconds, c.PlainSameFetch.CPUSeconds)
		fmt.Fprintf(out, "     parallel no-op %.0f rec/s (%.2fs, cpu %.2fs), order key, concurrency %d\n",
			c.Parallel.RecordsPerS, c.Parallel.Seconds, c.Parallel.CPUSeconds, f.cpuConc)
		fmt.Fprintf(out, "     ratio parallel/faster plain = %.1f%%; first poll returned after %.0f ms (faster plain), first record after %.0f ms (parallel: group join)\n",
			100*c.Ratio, 1e3*c.Plain.FirstS, 1e3*c.Parallel.FirstS)
	}
	if r := rep.RSS; r != nil {
		fetch := "library default"
		if r.FetchMax > 0 {
			fetch = fmt.Sprintf("%d B", r.FetchMax)
		}
		gogc := r.GOGC
		if gogc == "" {
			gogc = "default"
		}
		fmt.Fprintf(out, "rss: child consumed a %d-record backlog in %.2fs with MaxBuffered=%d, per partition %d, FetchMaxBytes %s, GOGC %s: peak RSS %.1f MiB\n",
			r.Records, r.Seconds, r.MaxBuffered, r.PerPart, fetch, gogc, float64(r.PeakRSSKiB)/1024)
	}
	return nil
}

// writeConsumeOut writes consume.md and consume.json into dir, each through
// a temporary file and a rename, consume.json last: a consume.json in dir
// always belongs to a finished run.
func writeConsumeOut(dir string, rep *benchConsumeReport) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--out %s: %w", dir, err)
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	files := []struct {
		name string
		data []byte
	}{{"consume.md", []byte(consumeMarkdown(rep))}, {"consume.json", append(js, '\n')}}
	var tmps []string
	defer func() {
		for _, t := range tmps {
			os.Remove(t) // gone already when renamed
		}
	}()
	for _, f := range files {
		tmp := filepath.Join(dir, "."+f.name+".tmp")
		if err := os.WriteFile(tmp, f.data, 0o644); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		tmps = append(tmps, tmp)
	}
	for i, f := range files {
		if err := os.Rename(tmps[i], filepath.Join(dir, f.name)); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	}
	return nil
}

// consumeMarkdown is the summary of a report: every figure and every
// sentence's verdict is computed from the report's data.
func consumeMarkdown(rep *benchConsumeReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Parallel consumer bench\n\n")
	fmt.Fprintf(&b, "Brokers %s, %d CPUs, started %s. %s.\n\n", strings.Join(rep.Brokers, ","), rep.CPUs,
		rep.Started.Format(time.RFC3339), rep.Note)
	if io := rep.IO; io != nil {
		r := io.Result
		verdict := "meets"
		if io.SteadyEfficiency < 0.9 {
			verdict = "misses"
		}
		fmt.Fprintf(&b, "## I/O-bound\n\n")
		fmt.Fprintf(&b, "%d records, %d partitions, %d keys, %s order, concurrency %d, handler sleep %.1f ms: "+
			"**%.0f records/s** from the first record to the last, %.1f%% of the ideal %.0f records/s, which %s the 90%% target. "+
			"Counting the %.0f ms group join and first fetch, the whole %.2f s run averaged %.0f records/s (%.1f%%). ",
			r.Records, io.Partitions, io.Keys, io.Order, io.Concurrency, io.SleepMs, r.SteadyPerS,
			100*io.SteadyEfficiency, io.IdealPerS, verdict, 1e3*r.FirstS, r.Seconds, r.RecordsPerS, 100*io.Efficiency)
		if r.MeanHandler > 0 {
			fmt.Fprintf(&b, "The handler's sleep took %.2f ms on average here, so the ideal at the measured latency is %.0f records/s, "+
				"of which the steady rate reached %.1f%%. ", r.MeanHandler, io.IdealMeasPS, 100*r.SteadyPerS/io.IdealMeasPS)
		}
		fmt.Fprintf(&b, "The consumer used %.2f CPU cores. Bound by: %s.\n\n", io.CPUCores, io.BoundBy)
	}
	if c := rep.CPU; c != nil {
		verdict := "meets"
		if c.Ratio < 0.7 {
			verdict = "misses"
		}
		fmt.Fprintf(&b, "## CPU-light (no-op handler)\n\n")
		fmt.Fprintf(&b, "Plain franz-go poll loop: %.0f records/s with kgo's default fetch size and %.0f records/s with the parallel run's; "+
			"the faster, %s, is the reference (%.2f s, %.2f CPU-s). Parallel consumer: **%.0f records/s** "+
			"(%.2f s, %.2f CPU-s), **%.1f%%** of the plain loop, which %s the 70%% target. ",
			c.PlainDefault.RecordsPerS, c.PlainSameFetch.RecordsPerS, c.Plain.Name,
			c.Plain.Seconds, c.Plain.CPUSeconds, c.Parallel.RecordsPerS, c.Parallel.Seconds,
			c.Parallel.CPUSeconds, 100*c.Ratio, verdict)
		fmt.Fprintf(&b, "Per record the parallel consumer spent %.0f ns of CPU against %.0f ns for the plain loop.\n\n",
			1e9*c.Parallel.CPUSeconds/float64(c.Parallel.Records), 1e9*c.Plain.CPUSeconds/float64(c.Plain.Records))
	}
	if r := rep.RSS; r != nil {
		fetch := "the library's default FetchMaxBytes"
		if r.FetchMax > 0 {
			fetch = fmt.Sprintf("FetchMaxBytes %d", r.FetchMax)
		}
		gogc := "default GOGC"
		if r.GOGC != "" {
			gogc = "GOGC=" + r.GOGC
		}
		fmt.Fprintf(&b, "## Memory under a backlog\n\n")
		fmt.Fprintf(&b, "A child process consumed a %d-record backlog in %.2f s with MaxBuffered=%d, MaxBufferedPerPartition=%d, "+
			"%s and %s: **peak RSS %.1f MiB**.\n", r.Records, r.Seconds, r.MaxBuffered, r.PerPart, fetch, gogc,
			float64(r.PeakRSSKiB)/1024)
	}
	return b.String()
}
