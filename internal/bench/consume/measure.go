package consume

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/clock"
	"github.com/kpar/kpar/internal/kafka"
	"github.com/kpar/kpar/internal/proc"
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
	// A topic of an earlier run is reused.
	if _, err := kafka.Create(ctx, adm, []kafka.Topic{{Name: topic, Partitions: partitions}}, kafka.Existing()); err != nil {
		return 0, fmt.Errorf("%w (brokers %v)", err, seeds)
	}
	ends, err := kafka.Ends(ctx, adm, topic)
	have := ends.Sum()
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
	ends, err = kafka.Ends(ctx, adm, topic)
	return ends.Sum(), err
}

// Measurement is one timed consumption of n distinct records, by the one
// rule of internal/clock: distinct records counted in the process that
// handles them, a window from the warm-up count (10% of n) to n.
type Measurement struct {
	Name string `json:"name"`
	// Window is the measured window: its rate, the counts at its two
	// events, the time to the first record and to the n-th.
	Window clock.Window `json:"window"`
	// CPUSeconds is user+sys of this process from start to the n-th record
	// (the whole run, join and first fetch included).
	CPUSeconds float64 `json:"cpu_seconds"`
	// Handled is every handler call (kpar) or record polled (plain loop);
	// Handled - Window.EndRecords calls were on a record already counted
	// (a redelivery), or came after the n-th.
	Handled     int64   `json:"handled"`
	MeanHandler float64 `json:"mean_handler_ms,omitempty"`
	// FetchMaxBytes is the kgo.FetchMaxBytes the client ran with, as it
	// reports it at the n-th record: the size the library's adaptive fetch
	// had reached when none was set.
	FetchMaxBytes int32 `json:"fetch_max_bytes,omitempty"`
}

// PerS is the measured window's records/s.
func (m Measurement) PerS() float64 { return m.Window.PerS }

// Check refuses a window shorter than min (clock.Window.Check), naming the
// contender.
func (m Measurement) Check(min time.Duration) error { return m.Window.Check(m.Name, min) }

// endOffsets are the end offsets of topic's partitions: the records a run
// can see, to size clock.Distinct; a topic holding fewer than the n
// records to consume is refused. Asked with a client of its own, closed
// before the measured consumer exists, so no fetch runs ahead of the clock.
func endOffsets(ctx context.Context, seeds []string, topic string, n int64, clientOpts []kgo.Opt) (map[int32]int64, error) {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(seeds...)}, clientOpts...)...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ends, err := kafka.Ends(ctx, kadm.NewClient(cl), topic)
	if err == nil && ends.Sum() < n {
		err = fmt.Errorf("topic %s holds %d records, fewer than the %d to consume", topic, ends.Sum(), n)
	}
	return ends[topic], err
}

// ParallelSpec configures a RunParallel run.
type ParallelSpec struct {
	// ClientOpts (TLS, SASL) are not in a child's spec as options: the
	// child makes them from the security in its spec line.
	ClientOpts  []kgo.Opt `json:"-"`
	Order       parallel.Order
	Concurrency int
	Sleep       time.Duration // handler latency; 0 = no-op handler
	MaxBuffered int
	PerPart     int
	// FetchMaxBytes, when > 0, is passed as kgo.FetchMaxBytes and
	// overrides the library's default derived from MaxBuffered.
	FetchMaxBytes int32
	// CommitInterval, when set, is parallel.CommitInterval.
	CommitInterval *time.Duration
	// OutTopic, when set, runs parallel.NewTransform: each record's value
	// goes to OutTopic in the transaction that commits the record.
	OutTopic string
	// Stall ends the run with an error naming the brokers when no record
	// was handled for this long (0: never).
	Stall time.Duration
}

// RunParallel consumes topic with a fresh group until n distinct records
// were handled, and measures the run by internal/clock: each handler call
// marks its record in a clock.Distinct (sized from the topic's end offsets)
// as it returns and observes the distinct count, so a redelivered record
// counts once and the window runs from the warm-up count to n.
func RunParallel(ctx context.Context, seeds []string, topic string, n int64, spec ParallelSpec) (Measurement, error) {
	ends, err := endOffsets(ctx, seeds, topic, n, spec.ClientOpts)
	if err != nil {
		return Measurement{}, err
	}
	var busyNs atomic.Int64
	finished := make(chan struct{})
	var once sync.Once
	// From the consumer's creation, like RunPlain's: the group join and the
	// first fetch are in FirstS.
	cpu0 := proc.SelfCPU()
	t := newTally(n, ends)
	c, err := newParallel(seeds, topic, spec, func(r *kgo.Record) {
		if spec.Sleep > 0 {
			start := time.Now()
			time.Sleep(spec.Sleep)
			busyNs.Add(int64(time.Since(start)))
		}
		if t.handled(r) {
			once.Do(func() { close(finished) })
		}
	})
	if err != nil {
		return Measurement{}, err
	}
	closed := false
	defer func() {
		if closed {
			c.Close()
		}
	}()
	rctx, watch, cancel := watchStall(ctx, spec.Stall, t.distinct.Count)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- c.Run(rctx) }()
	var runErr error
	returned := false // Run may return nil (a cancelled rctx): errc is read once
	select {
	case <-finished:
	case runErr = <-errc:
		returned = true
	case <-rctx.Done(): // ctx cancelled, or the stall watch fired
	}
	cpu := proc.SelfCPU() - cpu0
	fetchMax, _ := c.Client().OptValue(kgo.FetchMaxBytes).(int32)
	cancel()
	if !returned {
		runErr, returned = waitRun(ctx, errc, watch)
	}
	// A consumer still closing (its last commit waits on a broker that
	// does not answer) is left behind, not closed: Close would wait too.
	closed = returned
	if returned {
		c.Close()
	}
	if ctx.Err() != nil {
		return Measurement{}, fmt.Errorf("parallel run interrupted after %d of %d distinct records: %w", t.distinct.Count(), n, ctx.Err())
	}
	if err := watch.err(ctx, "parallel run", t.distinct.Count(), n, seeds, spec.ClientOpts); err != nil {
		return Measurement{}, err
	}
	if !returned {
		return Measurement{}, fmt.Errorf("parallel run: the consumer did not close within %s of its last record", closeGrace)
	}
	w, ok := t.clk.Window()
	if !ok {
		if runErr == nil {
			runErr = errors.New("the consumer stopped")
		}
		return Measurement{}, fmt.Errorf("parallel run: %d of %d distinct records: %w", t.distinct.Count(), n, runErr)
	}
	m := Measurement{Name: "kpar", Window: w, CPUSeconds: cpu, Handled: t.calls.Load(), FetchMaxBytes: fetchMax}
	if spec.Sleep > 0 && m.Handled > 0 {
		m.MeanHandler = float64(busyNs.Load()) / float64(m.Handled) / 1e6
	}
	return m, nil
}

// newParallel makes the measured consumer of spec, handle running on each
// record: a plain handler, or a transform writing each record's value to
// spec.OutTopic in the transaction that commits it.
func newParallel(seeds []string, topic string, spec ParallelSpec, handle func(*kgo.Record)) (*parallel.Consumer, error) {
	id := fmt.Sprintf("kpar-bench-%d-%d", os.Getpid(), time.Now().UnixNano())
	opts := []parallel.Opt{
		parallel.ClientOpts(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(topic), kgo.ConsumerGroup(id)),
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
	if spec.OutTopic == "" {
		return parallel.New(func(ctx context.Context, r *kgo.Record) error {
			handle(r)
			return nil
		}, opts...)
	}
	opts = append(opts, parallel.ClientOpts(kgo.TransactionalID(id)))
	return parallel.NewTransform(func(ctx context.Context, r *kgo.Record) ([]*kgo.Record, error) {
		handle(r)
		return []*kgo.Record{{Topic: spec.OutTopic, Key: r.Key, Value: r.Value}}, nil
	}, opts...)
}

// PlainName is the name of a plain loop's Measurement: kgo's default fetch
// size for fetchMaxBytes 0.
func PlainName(fetchMaxBytes int32) string {
	if fetchMaxBytes > 0 {
		return fmt.Sprintf("plain franz-go, FetchMaxBytes %d", fetchMaxBytes)
	}
	return "plain franz-go, default fetch"
}

// RunPlain consumes topic with a plain franz-go poll loop (no group, no
// commits: the cheapest possible consumer) until n distinct records were
// polled, measured by internal/clock as RunParallel is: every record of a
// poll batch marked in a clock.Distinct, the count observed once per batch
// (its count at the window's events may be past W or n: the count kept is
// the one observed). fetchMaxBytes > 0 sets kgo.FetchMaxBytes; 0 keeps kgo's
// default (50 MiB). stall > 0 ends the run with an error naming the
// brokers when no record was polled for that long.
func RunPlain(ctx context.Context, seeds []string, topic string, n int64, fetchMaxBytes int32, stall time.Duration, clientOpts ...kgo.Opt) (Measurement, error) {
	opts := append([]kgo.Opt{kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, clientOpts...)
	if fetchMaxBytes > 0 {
		opts = append(opts, kgo.FetchMaxBytes(fetchMaxBytes))
	}
	ends, err := endOffsets(ctx, seeds, topic, n, clientOpts)
	if err != nil {
		return Measurement{}, err
	}
	cpu0 := proc.SelfCPU()
	t := newTally(n, ends) // like RunParallel: from client start, first fetch included
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return Measurement{}, err
	}
	defer cl.Close()
	fetchMax, _ := cl.OptValue(kgo.FetchMaxBytes).(int32)
	pctx, watch, cancel := watchStall(ctx, stall, t.distinct.Count)
	defer cancel()
	for done := false; !done; {
		fs := cl.PollFetches(pctx)
		if ctx.Err() != nil {
			return Measurement{}, fmt.Errorf("plain run interrupted after %d of %d distinct records: %w", t.distinct.Count(), n, ctx.Err())
		}
		if err := watch.err(ctx, "plain run", t.distinct.Count(), n, seeds, clientOpts); err != nil {
			return Measurement{}, err
		}
		if err := fs.Err0(); err != nil && !errors.Is(err, context.Canceled) {
			return Measurement{}, fmt.Errorf("plain poll: %w", err)
		}
		done = t.batch(fs.EachRecord)
	}
	cpu := proc.SelfCPU() - cpu0
	w, _ := t.clk.Window()
	return Measurement{Name: PlainName(fetchMaxBytes), Window: w, CPUSeconds: cpu, Handled: t.calls.Load(), FetchMaxBytes: fetchMax}, nil
}

// tally applies the clock rule to one run of n records: every record
// handled is marked in a clock.Distinct, and the distinct count is observed
// by the clock, after each record (handled) or after each batch (batch).
type tally struct {
	distinct *clock.Distinct
	clk      *clock.Clock
	calls    atomic.Int64 // handler calls or records polled, redeliveries included
}

// newTally starts the clock of n records over a topic with these end
// offsets.
func newTally(n int64, ends map[int32]int64) *tally {
	return &tally{distinct: clock.NewDistinct(ends), clk: clock.New(n)}
}

// handled marks one record whose handler returned and observes the count:
// true once n distinct records were handled. Safe from any goroutine.
func (t *tally) handled(r *kgo.Record) bool {
	t.calls.Add(1)
	count, _ := t.distinct.Mark(r.Partition, r.Offset)
	return t.clk.Observe(count)
}

// batch marks every record of one poll batch, then observes the count once:
// true once n distinct records were polled.
func (t *tally) batch(each func(func(*kgo.Record))) bool {
	each(func(r *kgo.Record) {
		t.calls.Add(1)
		t.distinct.Mark(r.Partition, r.Offset)
	})
	return t.clk.Observe(t.distinct.Count())
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

// RSSSpec is what the rss child consumes, passed on its stdin
// (`kpar child consume-rss`): the cpu part's no-op run.
type RSSSpec struct {
	Brokers []string
	Topic   string
	Records int64
	ParallelSpec
}

// measureRSS runs the rss child (`kpar child consume-rss`, reaching
// RSSChild) and parses its JSON result line from stdout.
func measureRSS(ctx context.Context, start proc.Starter, spec RSSSpec) (RSS, error) {
	var out []byte
	p, err := start(ctx, "consume-rss", spec, proc.Options{OnLine: func(b []byte) { out = append(out[:0], b...) }})
	if err == nil {
		err = p.Err()
	}
	if err != nil {
		return RSS{}, fmt.Errorf("rss child: %w", err)
	}
	var r RSS
	if err := json.Unmarshal(bytes.TrimSpace(out), &r); err != nil {
		return RSS{}, fmt.Errorf("rss child output %q: %w", out, err)
	}
	return r, nil
}

// RSSChild is the child process of the rss measurement: it consumes
// spec.Records records with a no-op handler under the given bounds and
// writes one JSON line to stdout: the RSS with VmHWM, this process's peak.
func RSSChild(ctx context.Context, spec RSSSpec, stdout io.Writer) error {
	res, err := RunParallel(ctx, spec.Brokers, spec.Topic, spec.Records, spec.ParallelSpec)
	if err != nil {
		return err
	}
	hwm, err := vmHWM()
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(RSS{Records: spec.Records, MaxBuffered: spec.MaxBuffered, PerPart: spec.PerPart,
		FetchMax: spec.FetchMaxBytes, GOGC: os.Getenv("GOGC"), PeakRSSKiB: hwm, Seconds: res.Window.TotalS})
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
