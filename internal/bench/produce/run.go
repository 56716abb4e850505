package produce

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/kpar/kpar/internal/broker"
	"github.com/kpar/kpar/internal/javaperf"
	"github.com/kpar/kpar/internal/results"
)

// Run loads the input, creates the topics, and runs every settings
// combination over every producer count: a warm-up, then each step Repeat
// times (the median by records/s is kept), then the sweep's saturation and
// bottleneck; with VsJava, the Java anchor on the first combination. seeds
// must answer (the caller probed them). The Result is complete only when
// the error is nil.
func Run(ctx context.Context, cfg Config, seeds []string) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	sweeps, err := cfg.Sweeps()
	if err != nil {
		return Result{}, err
	}
	res := Result{Header: results.NewHeader(Schema, Version, cfg.Command),
		Host:   Host{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH},
		Repeat: cfg.Repeat}

	src := cfg.source()
	loadStart := time.Now()
	data, err := src.Load()
	if err != nil {
		return Result{}, err
	}
	loadSecs := time.Since(loadStart).Seconds()
	res.Input = Input{File: cfg.Input, Records: data.Len(), PayloadBytes: data.Bytes, KeyColumn: cfg.KeyColumn, Value: cfg.Value,
		SkippedRows: data.Skipped, FirstBadRows: data.FirstBad, LoadSeconds: loadSecs, LoadRecordsSec: float64(data.Len()) / loadSecs}

	var brokerCPU BrokerCPU
	res.Broker, brokerCPU = localBroker(seeds)
	var workerArgv []string
	if cfg.Processes || cfg.VsJava {
		workerArgv = cfg.WorkerArgv
	}
	progress := cfg.Progress
	if progress == nil {
		progress = func(int64) {}
	}
	inProcessProgress := progress
	if cfg.Processes {
		inProcessProgress = nil // workers report nothing until they finish
	}
	b, err := newBench(seeds, data, workerArgv, src, brokerCPU, inProcessProgress)
	if err != nil {
		return Result{}, err
	}
	defer b.Close()
	tctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	parts, err := b.EnsureTopics(tctx, sweeps[0].Topics, cfg.Partitions)
	cancel()
	if err != nil {
		return Result{}, err
	}
	res.Partitions = parts
	for _, t := range sweeps[0].Topics {
		if n := parts[t]; n != cfg.Partitions {
			res.Notes = append(res.Notes, fmt.Sprintf("topic %s already existed with %d partitions (not --partitions %d); it was used as is", t, n, cfg.Partitions))
		}
	}
	res.WarmupRecords = min(cfg.Warmup, data.Len())
	if cfg.OnReady != nil {
		cfg.OnReady(res)
	}

	mode := "in-process"
	if cfg.Processes {
		mode = "processes"
	}
	for _, s := range sweeps {
		if cfg.OnSweep != nil {
			cfg.OnSweep(s, mode)
		}
		if warm := res.WarmupRecords; warm > 0 {
			ws := s
			ws.NoFlush = false
			if _, err := b.Step(ctx, point{Settings: ws, Partitions: parts, Producers: 1, Processes: cfg.Processes, Limit: warm}); err != nil {
				return Result{}, fmt.Errorf("warm-up: %w", err)
			}
			if cfg.Processes {
				progress(int64(warm))
			}
		}
		sw := Sweep{Label: s.Label(), Mode: mode, Settings: s}
		for _, n := range cfg.Producers {
			st, err := b.Repeat(ctx, point{Settings: s, Partitions: parts, Producers: n, Processes: cfg.Processes}, cfg.Repeat)
			if err != nil {
				return Result{}, fmt.Errorf("%d producers: %w", n, err)
			}
			if cfg.Processes {
				progress(int64(cfg.Repeat) * st.Records)
			}
			sw.Steps = append(sw.Steps, st)
			if cfg.OnStep != nil {
				cfg.OnStep(st)
			}
		}
		sw.Saturation = FindSaturation(sw.Steps)
		sw.Bottleneck = FindBottleneck(sw.Steps, sw.Saturation, res.Host.Cores, parts[s.Topics[0]])
		res.Sweeps = append(res.Sweeps, sw)
		if cfg.OnSweepDone != nil {
			cfg.OnSweepDone(sw)
		}
	}
	if cfg.VsJava {
		j, err := runJava(ctx, b, cfg, sweeps[0], parts, seeds)
		if err != nil {
			return Result{}, fmt.Errorf("--vs-java: %w", err)
		}
		res.Java = &j
		if len(sweeps) > 1 {
			res.Notes = append(res.Notes, "--vs-java compared the first settings combination only: "+sweeps[0].Label())
		}
	}
	res.Finish()
	return res, nil
}

// ProgressTotal is how many delivery reports a run of cfg over records
// input rows makes, for a progress bar (warm-ups included, Java excluded).
func ProgressTotal(cfg Config, records int) int64 {
	sweeps, err := cfg.Sweeps()
	if err != nil {
		return 0
	}
	if cfg.Records > 0 && cfg.Records < records {
		records = cfg.Records
	}
	per := int64(min(cfg.Warmup, records)) + int64(len(cfg.Producers)*cfg.Repeat*records)
	return int64(len(sweeps)) * per
}

// runJava runs one Go producer process and ProducerPerformance on the same
// payloads, broker and settings s (first topic only: the Java tool writes
// to one), unkeyed, as ProducerPerformance sends no keys.
func runJava(ctx context.Context, b *bench, cfg Config, s Settings, parts map[string]int, seeds []string) (JavaComparison, error) {
	java, err := broker.JavaBin()
	if err != nil {
		return JavaComparison{}, err
	}
	cp, err := broker.ClassPath(ctx)
	if err != nil {
		return JavaComparison{}, err
	}
	n := b.data.Len()
	if cfg.JavaRecords > 0 && cfg.JavaRecords < n {
		n = cfg.JavaRecords
	}
	s.Topics = s.Topics[:1]
	dir, err := os.MkdirTemp("", "kpar-java-")
	if err != nil {
		return JavaComparison{}, err
	}
	defer os.RemoveAll(dir)
	payload := filepath.Join(dir, "payloads.txt")
	skipped, err := javaperf.WritePayloadFile(payload, b.data.Values[:n])
	if err != nil {
		return JavaComparison{}, err
	}
	if skipped == n {
		return JavaComparison{}, errors.New("every value holds a line break: none can be a --payload-file line")
	}
	if cfg.OnJava != nil {
		cfg.OnJava(n, s)
	}
	g, err := b.RunAnchor(ctx, s, parts, n, true)
	if err != nil {
		return JavaComparison{}, err
	}
	if g.Failed > 0 {
		return JavaComparison{}, fmt.Errorf("go anchor: %d records failed: %s", g.Failed, g.FirstError)
	}
	jr, err := javaperf.Run(ctx, javaperf.Config{Java: java, ClassPath: cp, Seeds: seeds, Topic: s.Topics[0], Records: n,
		PayloadFile: payload, Props: s.JavaProps()})
	if err != nil {
		return JavaComparison{}, err
	}
	j := JavaComparison{Topic: s.Topics[0], Records: n, Settings: s, Java: jr, Go: g, PayloadsSkipped: skipped}
	j.Compute()
	if cfg.OnJavaDone != nil {
		cfg.OnJavaDone(j)
	}
	return j, nil
}

// localBroker returns broker info and, when seeds name the broker that
// `kpar broker up` recorded, a reader of its JVMs' CPU seconds.
func localBroker(seeds []string) (Broker, BrokerCPU) {
	info := Broker{Seeds: seeds, CPU: "unknown"}
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
