package compare

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
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

// KparSpec is one run of kpar's parallel consumer in its own process
// (`kpar child compare-kpar`): key order, a fresh group, Records records.
type KparSpec struct {
	Brokers     []string
	ClientOpts  []kgo.Opt `json:"-"` // TLS, SASL: the child makes them from the security in its spec line
	Topic       string
	Records     int64
	Concurrency int
	Sleep       time.Duration // 0: no-op handler
	MaxBuffered int           // 0: the library's default
	PerPart     int           // 0: the library's default
	Trace       bool          // count per-key order (Order); io runs
	// ShareGroup, when set, runs kpar's share mode on that group (which
	// reads from the earliest offset) with Members member clients,
	// instead of key order on a fresh consumer group.
	ShareGroup string
	Members    int
	// FailEvery > 0 (share mode): records whose offset is a multiple of it
	// fail for good, dead-lettered to DeadLetter by the library, or by the
	// broker with BrokerDeadLetter.
	FailEvery        int64
	DeadLetter       string
	BrokerDeadLetter bool
}

// PlainSpec is one run of the plain franz-go poll loop in its own process
// (`kpar child compare-plain`): no group, no commits, no handler.
type PlainSpec struct {
	Brokers    []string
	ClientOpts []kgo.Opt `json:"-"` // as KparSpec's
	Topic      string
	Records    int64
	// FetchMaxBytes, when > 0, replaces kgo's 50 MiB default.
	FetchMaxBytes int32
}

// ShareSpec is one run of the bare franz-go share consumer in its own
// process (`kpar child compare-share`): Members clients of one share
// group, each polling at most its share of Concurrency records, handling
// them concurrently, acking each as its handler returns.
type ShareSpec struct {
	Brokers    []string
	ClientOpts []kgo.Opt `json:"-"` // as KparSpec's
	Topic      string
	// Group is a share group the parent made read from the earliest
	// offset (sharegroup.FromEarliest); fresh for every run.
	Group       string
	Records     int64
	Concurrency int // records in flight across all members
	Members     int
	Sleep       time.Duration // 0: no-op handler
	// Trace counts per-key order (Order); io runs only, as it keeps one
	// event per record.
	Trace bool
}

// RunKparChild is `kpar child compare-kpar`: spec.Records distinct
// records with kpar's parallel consumer under key order, or in share mode
// when spec.ShareGroup is set; RunPlainChild `kpar child compare-plain`,
// the plain franz-go poll loop (kgo's defaults, no group); RunShareChild
// `kpar child compare-share`, RunShare. Each writes its figures as one
// Side line on stdout: the clock's window, its own CPU over the run (the
// parent keeps the whole life's, from rusage, as the comparable figure),
// the client's fetch sizes, the order traced and the share members.
func RunKparChild(ctx context.Context, spec KparSpec, stdout io.Writer) error {
	return emit(stdout)(runKpar(ctx, spec))
}

func RunPlainChild(ctx context.Context, spec PlainSpec, stdout io.Writer) error {
	return emit(stdout)(runPlain(ctx, spec))
}

func RunShareChild(ctx context.Context, spec ShareSpec, stdout io.Writer) error {
	return emit(stdout)(RunShare(ctx, spec))
}

func emit(stdout io.Writer) func(Side, error) error {
	return func(s Side, err error) error {
		if err != nil {
			return err
		}
		return json.NewEncoder(stdout).Encode(s)
	}
}

// work is one Go child's handler and clock (internal/clock's rule), the
// same in every contender: kpar, the plain loops and both share
// consumers count through it, so they stop on the same condition and are
// timed between the same two events. It counts distinct (partition,
// offset) pairs as their handler returns and stops the run once n
// distinct records were handled. The handler sleeps (timed only when it
// sleeps or traces, so a no-op handler does nothing else), records the
// order trace, and counts the records a share group delivered again.
type work struct {
	seen                *clock.Distinct
	clk                 *clock.Clock
	done                chan struct{}
	once                sync.Once
	calls               atomic.Int64 // every handled record, repeats included
	n                   int64
	sleep               time.Duration
	tr                  *tracer
	share               bool
	busyNs, redelivered atomic.Int64
}

// newWork sizes the distinct set from the topic's end offsets (the
// records any contender can read) and starts the clock now.
func newWork(ctx context.Context, brokers []string, opts []kgo.Opt, topic string, n int64, conc int, sleep time.Duration, trace, share bool) (*work, error) {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, opts...)...)
	if err != nil {
		return nil, err
	}
	ends, err := kafka.EndsOf(ctx, kadm.NewClient(cl), topic)
	cl.Close()
	if err != nil {
		return nil, err
	}
	w := &work{seen: clock.NewDistinct(ends), clk: clock.New(n), done: make(chan struct{}), n: n, sleep: sleep, share: share}
	if trace {
		w.tr = newTracer(n + n/10 + int64(conc))
	}
	return w, nil
}

// handled is called once per record when its handler has returned.
func (w *work) handled(p int32, off int64) {
	w.calls.Add(1)
	cnt, _ := w.seen.Mark(p, off)
	if w.clk.Observe(cnt) {
		w.once.Do(func() { close(w.done) })
	}
}

func (w *work) handle(r *kgo.Record) {
	if w.sleep > 0 || w.tr != nil {
		t0 := time.Now()
		if w.sleep > 0 {
			time.Sleep(w.sleep)
		}
		t1 := time.Now()
		w.busyNs.Add(int64(t1.Sub(t0)))
		if w.tr != nil {
			w.tr.record(r, t0, t1)
		}
	}
	if w.share && r.DeliveryCount() > 1 {
		w.redelivered.Add(1)
	}
	w.handled(r.Partition, r.Offset)
}

// run runs run until n distinct records were handled (then cancels it),
// run returned or ctx ended; close is called after run returned. The Side
// is read off the clock, with this process's CPU over the run.
func (w *work) run(ctx context.Context, what string, run func(context.Context) error, close func()) (Side, error) {
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	cpu0 := proc.SelfCPU()
	go func() { errc <- run(rctx) }()
	var runErr error
	returned := false
	select {
	case <-w.done:
	case runErr = <-errc:
		returned = true
	case <-ctx.Done():
	}
	cpu := proc.SelfCPU() - cpu0
	cancel()
	if !returned {
		if err := <-errc; runErr == nil && err != nil && !errors.Is(err, context.Canceled) {
			runErr = err
		}
	}
	close()
	if ctx.Err() != nil {
		return Side{}, fmt.Errorf("%s: interrupted after %d of %d distinct records: %w", what, w.seen.Count(), w.n, ctx.Err())
	}
	win, ok := w.clk.Window()
	if !ok { // an error from the cancelled run after n is the stop itself
		if runErr == nil {
			runErr = errors.New("stopped before its records were handled")
		}
		return Side{}, fmt.Errorf("%s: after %d of %d distinct records: %w", what, w.seen.Count(), w.n, runErr)
	}
	s := Side{Records: win.Records, Seconds: win.TotalS, FirstRecordS: win.FirstS, SteadyPerS: win.PerS, Window: win,
		CPUSeconds: cpu, Redelivered: w.redelivered.Load()}
	if w.sleep > 0 {
		s.MeanHandlerMs = float64(w.busyNs.Load()) / float64(w.calls.Load()) / 1e6
	}
	if w.tr != nil {
		s.Order = w.tr.order() // the consumer was closed: every handler is done
	}
	return s, nil
}

// fetchSizes are the client's kgo.FetchMaxBytes and FetchMaxPartitionBytes
// as it reports them: the plain loop runs once more with kpar's, and PC's
// capped runs get both.
func fetchSizes(cl *kgo.Client) (int32, int32) {
	b, _ := cl.OptValue(kgo.FetchMaxBytes).(int32)
	p, _ := cl.OptValue(kgo.FetchMaxPartitionBytes).(int32)
	return b, p
}

// runKpar is kpar's run: on a fresh consumer group under key order, or
// in share mode (parallel.ShareGroup, the library's defaults otherwise:
// no order, its own poll sizing); it stops at n distinct records.
func runKpar(ctx context.Context, spec KparSpec) (Side, error) {
	w, err := newWork(ctx, spec.Brokers, spec.ClientOpts, spec.Topic, spec.Records, spec.Concurrency, spec.Sleep, spec.Trace, false)
	if err != nil {
		return Side{}, err
	}
	share := spec.ShareGroup != ""
	opts := []parallel.Opt{parallel.ClientOpts(kgo.SeedBrokers(spec.Brokers...), kgo.ConsumeTopics(spec.Topic)),
		parallel.ClientOpts(spec.ClientOpts...), parallel.MaxConcurrency(spec.Concurrency)}
	if share {
		opts = append(opts, parallel.ShareGroup(spec.ShareGroup), parallel.ShareMembers(max(1, spec.Members)))
		switch {
		case spec.DeadLetter != "" && spec.BrokerDeadLetter:
			opts = append(opts, parallel.BrokerDeadLetter(spec.DeadLetter))
		case spec.DeadLetter != "":
			opts = append(opts, parallel.DeadLetterTopic(spec.DeadLetter))
		}
	} else {
		opts = append(opts, parallel.Ordering(parallel.OrderKey),
			parallel.ClientOpts(kgo.ConsumerGroup(fmt.Sprintf("kpar-compare-%d-%d", os.Getpid(), time.Now().UnixNano()))))
	}
	if spec.MaxBuffered > 0 {
		opts = append(opts, parallel.MaxBuffered(spec.MaxBuffered))
	}
	if spec.PerPart > 0 && !share {
		opts = append(opts, parallel.MaxBufferedPerPartition(spec.PerPart))
	}
	var failed atomic.Int64
	h := func(_ context.Context, r *kgo.Record) error {
		w.handle(r)
		if spec.FailEvery > 0 && r.Offset%spec.FailEvery == 0 {
			failed.Add(1)
			return parallel.Permanent(errors.New("fails for good"))
		}
		return nil
	}
	c, err := parallel.New(h, opts...)
	if err != nil {
		return Side{}, err
	}
	if share {
		s, err := w.run(ctx, "kpar share run", c.Run, func() { c.Close() })
		s.Members, s.Redelivered, s.Failed = max(1, spec.Members), int64(c.Stats().Redelivered), failed.Load()
		return s, err
	}
	fetch, part := fetchSizes(c.Client())
	s, err := w.run(ctx, "kpar", c.Run, func() { c.Close() })
	s.FetchMaxBytes, s.FetchMaxPartitionBytes = fetch, part
	return s, err
}

// runPlain is the plain franz-go poll loop: no group, no commits, each
// record counted as the loop reaches it (its "handler" is the loop body),
// until n distinct records.
func runPlain(ctx context.Context, spec PlainSpec) (Side, error) {
	w, err := newWork(ctx, spec.Brokers, spec.ClientOpts, spec.Topic, spec.Records, 0, 0, false, false)
	if err != nil {
		return Side{}, err
	}
	opts := append([]kgo.Opt{kgo.SeedBrokers(spec.Brokers...), kgo.ConsumeTopics(spec.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, spec.ClientOpts...)
	if spec.FetchMaxBytes > 0 {
		opts = append(opts, kgo.FetchMaxBytes(spec.FetchMaxBytes))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return Side{}, err
	}
	fetch, part := fetchSizes(cl)
	s, err := w.run(ctx, "plain loop", func(rctx context.Context) error {
		for {
			fs := cl.PollFetches(rctx)
			if rctx.Err() != nil {
				return rctx.Err()
			}
			if err := fs.Err0(); err != nil {
				return fmt.Errorf("plain poll: %w", err)
			}
			fs.EachRecord(func(r *kgo.Record) { w.handled(r.Partition, r.Offset) })
			select {
			case <-w.done:
				return nil
			default:
			}
		}
	}, cl.Close)
	s.FetchMaxBytes, s.FetchMaxPartitionBytes = fetch, part
	return s, err
}

// memberConcurrency splits conc over members, the first conc%members
// taking one more, so the members together hold conc records at most.
func memberConcurrency(conc, members, i int) int {
	n := conc / members
	if i < conc%members {
		n++
	}
	return n
}

// RunShare consumes spec.Records records with a bare share consumer as a
// user would write it with franz-go alone: per member, poll at most its
// concurrency, one goroutine per record, r.Ack(AckAccept) when the handler
// returns, and poll again only once every record of the poll is acked:
// franz-go accepts any record still unacked at the next poll, so polling
// earlier would accept work not done.
func RunShare(ctx context.Context, spec ShareSpec) (Side, error) {
	members := max(1, min(spec.Members, spec.Concurrency))
	w, err := newWork(ctx, spec.Brokers, spec.ClientOpts, spec.Topic, spec.Records, spec.Concurrency, spec.Sleep, spec.Trace, true)
	if err != nil {
		return Side{}, err
	}
	clients := make([]*kgo.Client, 0, members)
	closeAll := func() {
		for _, cl := range clients {
			cl.Close() // leaves the group, releasing what it still holds
		}
	}
	for i := range members {
		cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(spec.Brokers...), kgo.ConsumeTopics(spec.Topic),
			kgo.ShareGroup(spec.Group), kgo.ShareMaxRecords(int32(memberConcurrency(spec.Concurrency, members, i)))}, spec.ClientOpts...)...)
		if err != nil {
			closeAll()
			return Side{}, err
		}
		clients = append(clients, cl)
	}
	s, err := w.run(ctx, "share run", func(rctx context.Context) error {
		errc := make(chan error, members)
		var wg sync.WaitGroup
		for i, cl := range clients {
			wg.Go(func() {
				if err := shareMember(rctx, cl, memberConcurrency(spec.Concurrency, members, i), w.handle); err != nil {
					errc <- err
				}
			})
		}
		wg.Wait() // every member's last poll handled and acked: the trace is complete
		select {
		case err := <-errc:
			return err
		default:
			return rctx.Err()
		}
	}, closeAll)
	s.Members = members
	return s, err
}

// shareMember is one member's loop until ctx ends; only a fetch error
// other than the run's own end stops it early.
func shareMember(ctx context.Context, cl *kgo.Client, most int, handle func(*kgo.Record)) error {
	for ctx.Err() == nil {
		fs := cl.PollRecords(ctx, most)
		var err error
		fs.EachError(func(t string, p int32, e error) {
			if err == nil && !errors.Is(e, context.Canceled) && !errors.Is(e, kgo.ErrClientClosed) {
				err = fmt.Errorf("share poll %s[%d]: %w", t, p, e)
			}
		})
		if err != nil {
			return err
		}
		var wg sync.WaitGroup
		fs.EachRecord(func(r *kgo.Record) {
			wg.Go(func() {
				handle(r)
				r.Ack(kgo.AckAccept)
			})
		})
		wg.Wait() // the next poll would accept anything still unacked
	}
	return nil
}

// ErrChildTimeout: a child process outlived Config.Timeout and was killed.
var ErrChildTimeout = errors.New("did not finish within the timeout and was killed")

// runChild runs the child name as label with spec, bounded by timeout,
// and reads its last stdout line into contender's Side, with the whole
// process's CPU and peak RSS (rusage) and its wall time as the parent saw it.
func runChild(ctx context.Context, start proc.Starter, name, label, contender string, spec any, timeout time.Duration) (Side, error) {
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last []byte
	p, err := start(rctx, name, spec, proc.Options{OnLine: func(b []byte) { last = append(last[:0], b...) }})
	if err != nil {
		return Side{}, fmt.Errorf("%s: %w", label, err)
	}
	if err := p.Wait(); err != nil {
		tail := tailOf(p.Tail(0), 2000)
		switch {
		case ctx.Err() != nil:
			return Side{}, fmt.Errorf("%s: %w", label, ctx.Err())
		case rctx.Err() != nil:
			return Side{}, fmt.Errorf("%s %w (%v): %s", label, ErrChildTimeout, timeout, tail)
		}
		return Side{}, fmt.Errorf("%s (kpar child %s): %w: %s", label, name, err, tail)
	}
	var s Side
	if err := json.Unmarshal(last, &s); err != nil || s.Records <= 0 {
		return Side{}, fmt.Errorf("%s (kpar child %s) printed no result line (%v): %q", label, name, err, last)
	}
	u := p.Usage()
	s.Contender, s.Finished, s.CPUSeconds, s.PeakRSSKiB, s.WallSeconds = contender, true, u.CPUSeconds, u.PeakRSSKiB, u.Wall.Seconds()
	s.CPUPerMillion = perMillion(s.CPUSeconds, s.Records)
	return s, nil
}
