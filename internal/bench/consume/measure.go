package consume

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/parallel"
)

// Prepare makes sure topic exists with partitions and holds at least n
// records (keys "k<i % keys>", values of valueSize bytes), producing the
// missing ones. It returns the number of records in the topic.
func Prepare(ctx context.Context, seeds []string, topic string, partitions int, n int64, keys, valueSize int, clientOpts ...kgo.Opt) (int64, error) {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(seeds...), kgo.DefaultProduceTopic(topic),
		kgo.ProducerBatchMaxBytes(1 << 20), kgo.MaxBufferedRecords(100_000)}, clientOpts...)...)
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	resp, err := adm.CreateTopic(ctx, int32(partitions), 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if errors.Is(err, kerr.TopicAlreadyExists) {
		err = nil // reused from an earlier run
	}
	if err != nil {
		return 0, fmt.Errorf("create topic %s on %v: %w", topic, seeds, err)
	}
	have, err := count(ctx, adm, topic)
	if err != nil {
		return 0, err
	}
	val := bytes.Repeat([]byte("x"), valueSize)
	var perr atomic.Value
	for i := have; i < n; i++ {
		r := &kgo.Record{Key: []byte("k" + strconv.Itoa(int(i%int64(keys)))), Value: val}
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			if err != nil {
				perr.Store(err)
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return 0, err
	}
	if e, _ := perr.Load().(error); e != nil {
		return 0, fmt.Errorf("produce to %s: %w", topic, e)
	}
	return count(ctx, adm, topic)
}

func count(ctx context.Context, adm *kadm.Client, topic string) (int64, error) {
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return 0, fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	var sum int64
	ends.Each(func(o kadm.ListedOffset) { sum += o.Offset })
	return sum, nil
}

// Measurement is one timed consumption of n records.
type Measurement struct {
	Name        string  `json:"name"`
	Records     int64   `json:"records"`
	Seconds     float64 `json:"seconds"`
	RecordsPerS float64 `json:"records_per_s"`
	CPUSeconds  float64 `json:"cpu_seconds"`    // user+sys of this process during the run
	FirstS      float64 `json:"first_record_s"` // from start to the first record (group join, first fetch)
	// SteadyPerS is the rate from the first record to the last: the
	// processing rate without the one-off group join and first fetch.
	SteadyPerS  float64 `json:"steady_records_per_s,omitempty"`
	MeanHandler float64 `json:"mean_handler_ms,omitempty"`
	// FetchMaxBytes is the kgo.FetchMaxBytes the client ran with, as it
	// reports it (the library's default when none was set).
	FetchMaxBytes int32 `json:"fetch_max_bytes,omitempty"`
}

// ParallelSpec configures a RunParallel run.
type ParallelSpec struct {
	ClientOpts  []kgo.Opt // TLS, SASL
	Order       parallel.Order
	Concurrency int
	Sleep       time.Duration // handler latency; 0 = no-op handler
	MaxBuffered int
	PerPart     int
	// FetchMaxBytes, when > 0, is passed as kgo.FetchMaxBytes and
	// overrides the library's default derived from MaxBuffered.
	FetchMaxBytes int32
	// Trace, when set, hears every handler run with its start and end
	// (compare consume counts per-key order from them).
	Trace func(r *kgo.Record, start, end time.Time)
	// CommitInterval, when set, is parallel.CommitInterval.
	CommitInterval *time.Duration
	// OutTopic, when set, runs parallel.NewTransform: each record's value
	// goes to OutTopic in the transaction that commits the record.
	OutTopic string
}

// RunParallel consumes n records of topic with a fresh group and returns the
// rate from Run to the n-th completion.
func RunParallel(ctx context.Context, seeds []string, topic string, n int64, spec ParallelSpec) (Measurement, error) {
	var done, busyNs atomic.Int64
	finished := make(chan struct{})
	var startNs, firstNs atomic.Int64
	h := func(ctx context.Context, r *kgo.Record) error {
		if firstNs.Load() == 0 {
			firstNs.CompareAndSwap(0, time.Now().UnixNano())
		}
		if spec.Sleep > 0 || spec.Trace != nil {
			t := time.Now()
			if spec.Sleep > 0 {
				time.Sleep(spec.Sleep)
			}
			end := time.Now()
			busyNs.Add(int64(end.Sub(t)))
			if spec.Trace != nil {
				spec.Trace(r, t, end)
			}
		}
		if done.Add(1) == n {
			close(finished)
		}
		return nil
	}
	opts := []parallel.Opt{
		parallel.ClientOpts(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(topic),
			kgo.ConsumerGroup(fmt.Sprintf("kpar-bench-%d-%d", os.Getpid(), time.Now().UnixNano()))),
		parallel.Ordering(spec.Order), parallel.MaxConcurrency(spec.Concurrency),
		parallel.ClientOpts(spec.ClientOpts...),
	}
	if spec.FetchMaxBytes > 0 {
		opts = append(opts, parallel.ClientOpts(kgo.FetchMaxBytes(spec.FetchMaxBytes)))
	}
	if spec.MaxBuffered > 0 {
		opts = append(opts, parallel.MaxBuffered(spec.MaxBuffered))
	}
	if spec.PerPart > 0 {
		opts = append(opts, parallel.MaxBufferedPerPartition(spec.PerPart))
	}
	if spec.CommitInterval != nil {
		opts = append(opts, parallel.CommitInterval(*spec.CommitInterval))
	}
	var c *parallel.Consumer
	var err error
	if spec.OutTopic != "" {
		opts = append(opts, parallel.ClientOpts(kgo.TransactionalID(fmt.Sprintf("kpar-bench-%d-%d", os.Getpid(), time.Now().UnixNano()))))
		c, err = parallel.NewTransform(func(ctx context.Context, r *kgo.Record) ([]*kgo.Record, error) {
			if err := h(ctx, r); err != nil {
				return nil, err
			}
			return []*kgo.Record{{Topic: spec.OutTopic, Key: r.Key, Value: r.Value}}, nil
		}, opts...)
	} else {
		c, err = parallel.New(h, opts...)
	}
	if err != nil {
		return Measurement{}, err
	}
	fetchMax, _ := c.Client().OptValue(kgo.FetchMaxBytes).(int32)
	rctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	cpu0 := cpuNow()
	startNs.Store(time.Now().UnixNano()) // from Run, first fetch included
	go func() { errc <- c.Run(rctx) }()
	if os.Getenv("KPAR_BENCH_DEBUG") != "" {
		go func() {
			for rctx.Err() == nil {
				time.Sleep(50 * time.Millisecond)
				st := c.Stats()
				fmt.Fprintf(os.Stderr, "debug: %4.0f ms inflight %d held %d backlog %d paused %d done %d\n",
					float64(time.Now().UnixNano()-startNs.Load())/1e6, st.InFlight, st.Held, st.Backlog, st.PausedPartitions, done.Load())
				if st.Held == 0 {
					fmt.Fprintf(os.Stderr, "  kgo paused: %v\n", c.Client().PauseFetchPartitions(nil))
					for _, p := range st.Partitions {
						fmt.Fprintf(os.Stderr, "  p%d committable %d lag %d paused %v\n", p.Partition, p.Committable, p.Lag, p.Paused)
					}
				}
			}
		}()
	}
	var runErr error
	select {
	case <-finished:
	case runErr = <-errc:
	case <-ctx.Done():
	}
	end := time.Now()
	cpu := cpuNow() - cpu0
	cancel()
	if runErr == nil {
		runErr = <-errc
	}
	c.Close()
	if ctx.Err() != nil {
		return Measurement{}, fmt.Errorf("parallel run interrupted after %d of %d records: %w", done.Load(), n, ctx.Err())
	}
	if runErr != nil {
		return Measurement{}, runErr
	}
	secs := end.Sub(time.Unix(0, startNs.Load())).Seconds()
	res := Measurement{Name: "parallel", Records: n, Seconds: secs, RecordsPerS: float64(n) / secs, CPUSeconds: cpu,
		FirstS: float64(firstNs.Load()-startNs.Load()) / 1e9, FetchMaxBytes: fetchMax}
	if steady := end.Sub(time.Unix(0, firstNs.Load())).Seconds(); steady > 0 {
		res.SteadyPerS = float64(n) / steady
	}
	if spec.Sleep > 0 {
		res.MeanHandler = float64(busyNs.Load()) / float64(n) / 1e6
	}
	return res, nil
}

// RunPlain consumes n records of topic with a plain franz-go poll loop (no
// group, no commits: the cheapest possible consumer) as the reference.
// fetchMaxBytes > 0 sets kgo.FetchMaxBytes; 0 keeps kgo's default (50 MiB).
func RunPlain(ctx context.Context, seeds []string, topic string, n int64, fetchMaxBytes int32, clientOpts ...kgo.Opt) (Measurement, error) {
	opts := append([]kgo.Opt{kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, clientOpts...)
	name := "plain franz-go"
	if fetchMaxBytes > 0 {
		opts = append(opts, kgo.FetchMaxBytes(fetchMaxBytes))
		name = fmt.Sprintf("plain franz-go, FetchMaxBytes %d", fetchMaxBytes)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return Measurement{}, err
	}
	defer cl.Close()
	var got, firstBatch int64
	var first time.Time
	start := time.Now() // like RunParallel: from client start, first fetch included
	cpu0 := cpuNow()
	for got < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return Measurement{}, fmt.Errorf("plain run interrupted after %d of %d records: %w", got, n, ctx.Err())
		}
		if err := fs.Err0(); err != nil && !errors.Is(err, context.Canceled) {
			return Measurement{}, fmt.Errorf("plain poll: %w", err)
		}
		fs.EachRecord(func(*kgo.Record) { got++ })
		if first.IsZero() && got > 0 {
			first, firstBatch = time.Now(), got
		}
	}
	end := time.Now()
	secs := end.Sub(start).Seconds()
	m := Measurement{Name: name, Records: n, Seconds: secs, RecordsPerS: float64(n) / secs, CPUSeconds: cpuNow() - cpu0,
		FirstS: first.Sub(start).Seconds()}
	// As RunParallel's, without the one-off first fetch: the records after
	// the first poll that returned any, over the time after it (the first
	// batch arrives all at once). A run that fits in one poll has no
	// steady part: its whole-run rate stands in.
	m.SteadyPerS = m.RecordsPerS
	if steady := end.Sub(first).Seconds(); steady > 0 && firstBatch < got {
		m.SteadyPerS = float64(got-firstBatch) / steady
	}
	return m, nil
}

func cpuNow() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// RSS is the peak memory of a child process consuming a backlog.
type RSS struct {
	Records     int64   `json:"records"`
	MaxBuffered int     `json:"max_buffered"`
	PerPart     int     `json:"max_buffered_per_partition"`
	FetchMax    int32   `json:"fetch_max_bytes"` // 0: the library's default
	GOGC        string  `json:"gogc,omitempty"`  // the child's GOGC, if set
	PeakRSSKiB  int64   `json:"peak_rss_kib"`    // VmHWM of the child
	Seconds     float64 `json:"seconds"`
}

// RSSSpec is what the rss child consumes, passed on its command line
// (`kpar child consume-rss`): a no-op handler under key order.
type RSSSpec struct {
	Brokers       []string
	Topic         string
	Records       int64
	Concurrency   int
	MaxBuffered   int
	PerPart       int
	FetchMaxBytes int32 // 0: the library's default
	// ClientOpts (TLS, SASL) are not on the child's command line as
	// options: the child makes them from the security flags it was given.
	ClientOpts []kgo.Opt
}

// measureRSS runs the child argv (which reaches RSSChild) and parses its
// JSON result line from stdout.
func measureRSS(ctx context.Context, argv []string) (RSS, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return RSS{}, fmt.Errorf("rss child %s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(stderr.String()))
	}
	var r RSS
	if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &r); err != nil {
		return RSS{}, fmt.Errorf("rss child output %q: %w", out.String(), err)
	}
	return r, nil
}

// RSSChild is the child process of the rss measurement: it consumes
// spec.Records records with a no-op handler under the given bounds and
// writes one JSON line to stdout: the RSS with VmHWM, this process's peak.
func RSSChild(ctx context.Context, spec RSSSpec, stdout io.Writer) error {
	res, err := RunParallel(ctx, spec.Brokers, spec.Topic, spec.Records, ParallelSpec{Order: parallel.OrderKey,
		Concurrency: spec.Concurrency, MaxBuffered: spec.MaxBuffered, PerPart: spec.PerPart, FetchMaxBytes: spec.FetchMaxBytes,
		ClientOpts: spec.ClientOpts})
	if err != nil {
		return err
	}
	hwm, err := vmHWM()
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(RSS{Records: spec.Records, MaxBuffered: spec.MaxBuffered, PerPart: spec.PerPart,
		FetchMax: spec.FetchMaxBytes, GOGC: os.Getenv("GOGC"), PeakRSSKiB: hwm, Seconds: res.Seconds})
}

func vmHWM() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			return strconv.ParseInt(f[1], 10, 64)
		}
	}
	return 0, errors.New("VmHWM not in /proc/self/status")
}
