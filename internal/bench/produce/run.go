package produce

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kpar/kpar/internal/broker"
	"github.com/kpar/kpar/internal/clientsec"
	"github.com/kpar/kpar/internal/producerperf"
	"github.com/kpar/kpar/internal/progress"
)

// Run loads the input, creates the topics (one set per partition count,
// replication factor min(3, brokers)), pins the broker and the bench when
// asked, and runs every settings combination x record size x partition
// count over every producer count: a warm-up, then each step Repeat times
// (the median by records/s is kept), then the sweep's saturation,
// bottleneck and (pinned) core verdict; then the partition ceilings, the
// acks cost and, with VsJava or VsKcat, the anchors on the first
// combination. seeds must answer (the caller probed them). The Result is
// complete only when the error is nil.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	sweeps, err := cfg.Sweeps()
	if err != nil {
		return Result{}, err
	}
	res := Result{Header: Kind.Header(cfg.Command),
		Host:   Host{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH},
		Repeat: cfg.Repeat}
	// The input is read into memory outside any timed window.
	src, loadStart := cfg.source(), time.Now()
	data, err := src.Load()
	if err != nil {
		return Result{}, err
	}
	loadSecs := time.Since(loadStart).Seconds()
	res.Input = Input{File: cfg.Input, Records: data.Len(), PayloadBytes: data.Bytes, KeyColumn: cfg.KeyColumn, Value: cfg.Value,
		SkippedRows: data.Skipped, FirstBadRows: data.FirstBad, LoadSeconds: loadSecs, LoadRecordsSec: float64(data.Len()) / loadSecs}
	res.SizeBudget = cfg.sizeBudget(data.Bytes)

	var brokerCPU BrokerCPU
	res.Broker, brokerCPU = localBroker(cfg.Brokers)
	var delivered atomic.Int64
	total := ProgressTotal(cfg, data.Len(), data.Bytes)
	count := func(n int64) {
		cfg.Progress.Emit(progress.Event{Kind: progress.Records, Done: delivered.Add(n), Total: total})
	}
	inProcessCount := count
	if cfg.Processes {
		inProcessCount = nil // workers report nothing until they finish
	}
	b, err := newBench(cfg.Brokers, cfg.Opts(), data, cfg.Worker, src, brokerCPU, inProcessCount)
	if err != nil {
		return Result{}, err
	}
	defer b.Close()
	if err := createTopics(ctx, cfg, b, &res); err != nil {
		return Result{}, err
	}
	res.WarmupRecords = min(cfg.Warmup, data.Len())
	if res.Input.SkippedRows > 0 {
		cfg.Progress.Note("skipped %d malformed rows (--skip-bad); first: %s", res.Input.SkippedRows, res.Input.FirstBadRows[0])
	}
	cfg.Progress.Print(ReadyLine(res))

	restore, err := pinFor(cfg, &res)
	if err != nil {
		return Result{}, err
	}
	defer restore() // on a failure below; a no-op once restored
	if err := runSweeps(ctx, cfg, sweeps, b, &res, count); err != nil {
		return Result{}, err
	}
	// The anchors run pinned too: they are client processes and inherit
	// the bench's CPUs, which keeps them like for like.
	if err := runAnchors(ctx, cfg, sweeps[0], b, &res); err != nil {
		return Result{}, err
	}
	if res.Pinned != nil {
		if err := restore(); err != nil {
			return Result{}, fmt.Errorf("--pin: restoring the CPUs: %w", err)
		}
		res.Pinned.Restored = true
	}
	res = Rederive(res) // the ceilings, the acks cost and the anchors' verdicts, as a report reads them
	res.Finish()
	return res, nil
}

// pinFor pins the broker JVMs and the bench when cfg.Pin is set; restore
// gives them their CPUs back (a no-op once done, or when nothing was pinned).
func pinFor(cfg Config, res *Result) (restore func() error, err error) {
	if cfg.Pin == nil {
		return func() error { return nil }, nil
	}
	if !res.Broker.Local {
		return nil, errors.New("--pin: the broker is not one 'kpar broker up' started here, so there is no broker pid to pin (set KPAR_HOME to its home)")
	}
	info, undo, err := applyPin(*cfg.Pin, res.Broker.PIDs)
	if err != nil {
		undo()
		return nil, err
	}
	res.Pinned = &info
	cfg.Progress.Print(PinLine(info))
	return undo, nil
}

// createTopics creates the topics of every partition count with the
// replication factor the cluster allows, within cfg.Timeout, and notes a
// topic that already existed with another partition count.
func createTopics(ctx context.Context, cfg Config, b *bench, res *Result) error {
	tctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	md, err := b.adm.BrokerMetadata(tctx)
	if err != nil {
		return fmt.Errorf("broker metadata: %w", err)
	}
	// Every broker holds a copy, up to 3, so a 3-node cluster measures RF 3.
	res.Broker.Nodes, res.Partitions = len(md.Brokers), map[string]int{}
	rf := max(1, min(3, res.Broker.Nodes))
	if res.ReplicationFactor = rf; rf > 1 {
		b.settle = 700 * time.Millisecond
	}
	for _, np := range cfg.Partitions {
		topics := cfg.topicsFor(np)
		parts, err := b.EnsureTopics(tctx, topics, np, rf)
		if err != nil {
			return err
		}
		for _, t := range topics {
			res.Partitions[t] = parts[t]
			if parts[t] != np {
				res.Notes = append(res.Notes, fmt.Sprintf("topic %s already existed with %d partitions (not --partitions %d); it was used as is", t, parts[t], np))
			}
		}
	}
	return nil
}

// sweepRecords is how many records each step of a sweep at record size
// size sends.
func sweepRecords(cfg Config, rows int, inputBytes int64, size int) int {
	return recordsAt(rows, cfg.sizeBudget(inputBytes), size, slices.Max(cfg.Producers))
}

// SweepLabel names one sweep: settings, partitions, record size.
func SweepLabel(s Settings, partitions, size int) string {
	return s.Label() + " " + plural(partitions, "partition") + sizeLabel(size)
}

func runSweeps(ctx context.Context, cfg Config, sweeps []Settings, b *bench, res *Result, count func(int64)) error {
	mode := map[bool]string{false: "in-process", true: "processes"}[cfg.Processes]
	for _, s := range sweeps {
		for _, size := range cfg.RecordSizes {
			recs := sweepRecords(cfg, b.data.Len(), b.data.Bytes, size)
			for _, np := range cfg.Partitions {
				s.Topics = cfg.topicsFor(np)
				sw := Sweep{Label: SweepLabel(s, np, size), Mode: mode, Settings: s, Partitions: np, RecordSize: size, Records: recs}
				cfg.Progress.Print(SweepLine(sw))
				at := point{Settings: s, Partitions: res.Partitions, Producers: 1, Processes: cfg.Processes, Limit: min(res.WarmupRecords, recs), RecordSize: size}
				if at.Limit > 0 {
					at.Settings.NoFlush = false
					if _, err := b.Step(ctx, at); err != nil {
						return fmt.Errorf("warm-up: %w", err)
					}
					if cfg.Processes {
						count(int64(at.Limit))
					}
				}
				at.Settings, at.Limit = s, recs
				for _, n := range cfg.Producers {
					at.Producers = n
					st, err := b.Repeat(ctx, at, cfg.Repeat)
					if err != nil {
						return fmt.Errorf("%s, %d producers: %w", sw.Label, n, err)
					}
					if cfg.Processes {
						count(int64(cfg.Repeat) * st.Records)
					}
					sw.Steps = append(sw.Steps, st)
					cfg.Progress.Print(StepLine(st))
				}
				sw.judge(res.Host.Cores, res.Partitions[s.Topics[0]], cfg.Pin)
				res.Sweeps = append(res.Sweeps, sw)
				cfg.Progress.Print(SaturationLine(sw))
			}
		}
	}
	return nil
}

// ProgressTotal is how many delivery reports a run of cfg over records
// input rows of inputBytes key and value bytes makes, for a progress bar (warm-ups
// included, anchors excluded).
func ProgressTotal(cfg Config, records int, inputBytes int64) int64 {
	sweeps, err := cfg.Sweeps()
	if err != nil {
		return 0
	}
	if cfg.Records > 0 && cfg.Records < records {
		records = cfg.Records
	}
	var per int64
	for _, size := range cfg.RecordSizes {
		recs := sweepRecords(cfg, records, inputBytes, size)
		per += int64(len(cfg.Partitions)) * (int64(min(cfg.Warmup, recs)) + int64(len(cfg.Producers)*cfg.Repeat*recs))
	}
	return int64(len(sweeps)) * per
}

// runAnchors runs, on the first settings combination, first partition
// count and first record size, one Go producer process and then
// ProducerPerformance and/or kcat on the same payloads, broker and
// settings (first topic only: the tools write to one), unkeyed, as
// ProducerPerformance sends no keys.
func runAnchors(ctx context.Context, cfg Config, s Settings, b *bench, res *Result) error {
	if !cfg.VsJava && !cfg.VsKcat {
		return nil
	}
	size := cfg.RecordSizes[0]
	data := b.dataset(size)
	n := data.Len()
	if cfg.JavaRecords > 0 && cfg.JavaRecords < n {
		n = cfg.JavaRecords
	}
	n = recordsAt(n, cfg.sizeBudget(b.data.Bytes), size, 1)
	s.Topics = cfg.topicsFor(cfg.Partitions[0])[:1]
	dir, err := os.MkdirTemp("", "kpar-anchor-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	payload := filepath.Join(dir, "payloads.txt")
	skipped, err := producerperf.WritePayloadFile(payload, data.Values[:n])
	if err != nil {
		return err
	}
	if skipped == n {
		return errors.New("anchors: every value holds a line break: none can be a payload-file line")
	}
	cfg.Progress.Print(JavaStartLine(n, s))
	// Each repeat runs the three tools back to back, so a comparison pairs
	// runs made under the same load; the median repeat (by kpar's ratio)
	// is kept, every repeat's figures with it.
	var javas []JavaComparison
	var kcats []KcatComparison
	for range max(1, cfg.Repeat) {
		g, err := b.RunAnchor(ctx, s, res.Partitions, payload)
		if err != nil {
			return err
		}
		if g.Failed > 0 {
			return fmt.Errorf("go anchor: %d records failed: %s", g.Failed, g.FirstError)
		}
		vs := Versus{Topic: s.Topics[0], Settings: s, Go: g, PayloadsSkipped: skipped}
		j := JavaComparison{Versus: vs, Records: n}
		if cfg.VsJava {
			if j.Java, err = runJava(ctx, s, cfg.Brokers, n, payload, cfg.Client.Java); err != nil {
				return fmt.Errorf("--vs-java: %w", err)
			}
			j.Compute()
			javas = append(javas, j)
		}
		if cfg.VsKcat {
			k := KcatComparison{Versus: vs, Records: n, RecordSize: size, MaxBufferedRecords: MaxBufferedRecords}
			if k.Kcat, err = b.runKcatAnchor(ctx, cfg.Kcat, s, cfg.Brokers, n-skipped, payload, cfg.Client.Librdkafka); err != nil {
				return fmt.Errorf("--vs-kcat: %w", err)
			}
			if cfg.VsJava && j.Java.WallSeconds > 0 {
				k.JavaRecordsPerSec = float64(j.Java.Records) / j.Java.WallSeconds
				k.JavaCPUPerMillion = j.JavaCPUPerMillion
			}
			k.Compute()
			kcats = append(kcats, k)
		}
	}
	res.Java, res.Kcat = medianAnchors(javas, kcats)
	if len(cfg.Partitions) > 1 || len(cfg.RecordSizes) > 1 || len(cfg.Acks)*len(cfg.Idempotence)*len(cfg.Partitioners)*len(cfg.Lingers)*len(cfg.BatchBytes)*len(cfg.Compressions) > 1 {
		res.Notes = append(res.Notes, fmt.Sprintf("the anchors ran the first combination only: %s", SweepLabel(s, cfg.Partitions[0], size)))
	}
	return nil
}

// medianAnchors keeps the median repeat of each anchor by kpar's ratio
// (nil when the anchor did not run), kcat's with every repeat's figures for
// Rederive's verdict.
func medianAnchors(javas []JavaComparison, kcats []KcatComparison) (java *JavaComparison, kcat *KcatComparison) {
	if len(javas) > 0 {
		j := medianBy(javas, func(j JavaComparison) float64 { return j.RecordsPerSecRatio })
		java = &j
	}
	if len(kcats) > 0 {
		var reps []KcatRepeat
		for _, k := range kcats {
			reps = append(reps, k.repeat())
		}
		k := medianBy(kcats, func(k KcatComparison) float64 { return k.RecordsPerSecRatio })
		if len(reps) > 1 {
			k.Repeats = reps
		}
		kcat = &k
	}
	return java, kcat
}

// securityFile writes the security properties (nil: none, "") to a file
// only this user reads, for the tool's config flag: its password must not
// be on the command line. The caller removes it.
func securityFile(security map[string]string, java bool) (string, error) {
	if security == nil {
		return "", nil
	}
	return clientsec.WriteProperties(security, java)
}

// runJava runs ProducerPerformance on n payloads of the file.
func runJava(ctx context.Context, s Settings, seeds []string, n int, payload string, security map[string]string) (producerperf.Result, error) {
	java, err := broker.JavaBin()
	if err != nil {
		return producerperf.Result{}, err
	}
	cp, err := broker.ClassPath(ctx)
	if err != nil {
		return producerperf.Result{}, err
	}
	jc := producerperf.Config{Java: java, ClassPath: cp, Seeds: seeds, Topic: s.Topics[0], Records: n, PayloadFile: payload, Props: s.JavaProps()}
	if jc.ConfigFile, err = securityFile(security, true); err != nil {
		return producerperf.Result{}, err
	}
	defer os.Remove(jc.ConfigFile)
	return producerperf.Run(ctx, jc)
}

// runKcatAnchor runs kcat over the payload file (want lines) and counts
// what reached the topic from its end offsets.
func (b *bench) runKcatAnchor(ctx context.Context, bin string, s Settings, seeds []string, want int, payload string, security map[string]string) (KcatResult, error) {
	before, err := b.endOffsets(ctx, s.Topics)
	if err != nil {
		return KcatResult{}, err
	}
	kc := KcatConfig{Bin: bin, Seeds: seeds, Topic: s.Topics[0], PayloadFile: payload, Props: s.KcatProps()}
	if kc.ConfigFile, err = securityFile(security, false); err != nil {
		return KcatResult{}, err
	}
	defer os.Remove(kc.ConfigFile)
	kr, err := runKcat(ctx, kc)
	if err != nil {
		if strings.HasPrefix(security["sasl.mechanisms"], "SCRAM") {
			// librdkafka#4895: Kafka 4 checks the SCRAM nonce strictly.
			err = fmt.Errorf("%w (librdkafka before 2.6.1 cannot log in with SCRAM to Kafka 4.x; PLAIN works)", err)
		}
		return KcatResult{}, err
	}
	after, err := b.endOffsets(ctx, s.Topics)
	if err != nil {
		return KcatResult{}, err
	}
	kr.Records = after - before
	if kr.Records != int64(want) && s.Acks != "0" {
		return KcatResult{}, fmt.Errorf("kcat delivered %d of %d records (%d error lines; first: %s)", kr.Records, want, kr.Errors, kr.FirstError)
	}
	return kr, nil
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
		local[a], local[strings.Replace(a, "127.0.0.1", "localhost", 1)] = true, true
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
