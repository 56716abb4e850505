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

// Source is what every Go contender reads: Records distinct records of
// Topic. ClientOpts (TLS, SASL) the child makes from the security in its
// spec line.
type Source struct {
	Brokers    []string
	ClientOpts []kgo.Opt `json:"-"`
	Topic      string
	Records    int64
}

// KparSpec is one run of kpar's parallel consumer in its own process
// (`kpar child compare-kpar`): key order on a fresh group, or share mode
// on ShareGroup (which reads from the earliest offset) with Members
// member clients.
type KparSpec struct {
	Source
	Concurrency int
	Sleep       time.Duration // 0: no-op handler
	MaxBuffered int           // 0: the library's default
	PerPart     int           // 0: the library's default
	Trace       bool          // count per-key order (Order); io runs
	ShareGroup  string
	Members     int
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
	Source
	FetchMaxBytes int32 // > 0 replaces kgo's 50 MiB default
}

// ShareSpec is one run of the bare franz-go share consumer in its own
// process (`kpar child compare-share`): Members clients of Group (fresh,
// made to read from the earliest offset by the parent), Concurrency
// records in flight across them.
type ShareSpec struct {
	Source
	Group       string
	Concurrency int
	Members     int
	Sleep       time.Duration // 0: no-op handler
	Trace       bool          // count per-key order; io runs only (one event per record)
}

// RunKparChild is `kpar child compare-kpar`, RunPlainChild `kpar child
// compare-plain`, RunShareChild `kpar child compare-share`: each writes
// its figures as one Side line on stdout (the clock's window, its own CPU
// over the run, the client's fetch sizes, the order traced, the members);
// the parent adds the whole life's CPU and RSS from rusage.
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
// same in every contender, so all stop on the same condition and are timed
// between the same two events: it counts distinct (partition, offset)
// pairs as their handler returns and stops the run at n. The handler is
// timed only when it sleeps or traces, so a no-op handler does nothing
// else.
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
func newWork(ctx context.Context, src Source, conc int, sleep time.Duration, trace, share bool) (*work, error) {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(src.Brokers...)}, src.ClientOpts...)...)
	if err != nil {
		return nil, err
	}
	ends, err := kafka.EndsOf(ctx, kadm.NewClient(cl), src.Topic)
	cl.Close()
	if err != nil {
		return nil, err
	}
	n := src.Records
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
// is read off the clock, with this process's CPU over the run and cl's
// fetch sizes (cl may be nil).
func (w *work) run(ctx context.Context, what string, cl *kgo.Client, run func(context.Context) error, close func()) (Side, error) {
	var s Side
	if cl != nil {
		s.FetchMaxBytes, _ = cl.OptValue(kgo.FetchMaxBytes).(int32)
		s.FetchMaxPartitionBytes, _ = cl.OptValue(kgo.FetchMaxPartitionBytes).(int32)
	}
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
	s.CPUSeconds = proc.SelfCPU() - cpu0
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
	s.setWindow(win)
	s.Redelivered = w.redelivered.Load()
	if w.sleep > 0 {
		s.MeanHandlerMs = float64(w.busyNs.Load()) / float64(w.calls.Load()) / 1e6
	}
	if w.tr != nil {
		s.Order = w.tr.order() // the consumer was closed: every handler is done
	}
	return s, nil
}

// setWindow sets s's clock figures from win.
func (s *Side) setWindow(win clock.Window) {
	s.Records, s.Seconds, s.FirstRecordS, s.SteadyPerS, s.Window = win.Records, win.TotalS, win.FirstS, win.PerS, win
}

// runKpar is kpar's run: on a fresh consumer group under key order, or
// in share mode (parallel.ShareGroup, the library's defaults otherwise:
// no order, its own poll sizing); it stops at n distinct records.
func runKpar(ctx context.Context, spec KparSpec) (Side, error) {
	w, err := newWork(ctx, spec.Source, spec.Concurrency, spec.Sleep, spec.Trace, false)
	if err != nil {
		return Side{}, err
	}
	share := spec.ShareGroup != ""
	opts := []parallel.Opt{parallel.ClientOpts(kgo.SeedBrokers(spec.Brokers...), kgo.ConsumeTopics(spec.Topic)),
		parallel.ClientOpts(spec.ClientOpts...), parallel.MaxConcurrency(spec.Concurrency)}
	switch {
	case !share:
		opts = append(opts, parallel.Ordering(parallel.OrderKey),
			parallel.ClientOpts(kgo.ConsumerGroup(fmt.Sprintf("kpar-compare-%d-%d", os.Getpid(), time.Now().UnixNano()))))
		if spec.PerPart > 0 {
			opts = append(opts, parallel.MaxBufferedPerPartition(spec.PerPart))
		}
	case spec.DeadLetter != "" && spec.BrokerDeadLetter:
		opts = append(opts, parallel.BrokerDeadLetter(spec.DeadLetter))
	case spec.DeadLetter != "":
		opts = append(opts, parallel.DeadLetterTopic(spec.DeadLetter))
	}
	if share {
		opts = append(opts, parallel.ShareGroup(spec.ShareGroup), parallel.ShareMembers(max(1, spec.Members)))
	}
	if spec.MaxBuffered > 0 {
		opts = append(opts, parallel.MaxBuffered(spec.MaxBuffered))
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
	if !share {
		return w.run(ctx, "kpar", c.Client(), c.Run, func() { c.Close() })
	}
	s, err := w.run(ctx, "kpar share run", nil, c.Run, func() { c.Close() })
	s.Members, s.Redelivered, s.Failed = max(1, spec.Members), int64(c.Stats().Redelivered), failed.Load()
	return s, err
}

// runPlain is the plain franz-go poll loop: no group, no commits, each
// record counted as the loop reaches it (its "handler" is the loop body),
// until n distinct records.
func runPlain(ctx context.Context, spec PlainSpec) (Side, error) {
	w, err := newWork(ctx, spec.Source, 0, 0, false, false)
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
	return w.run(ctx, "plain loop", cl, func(rctx context.Context) error {
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
	w, err := newWork(ctx, spec.Source, spec.Concurrency, spec.Sleep, spec.Trace, true)
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
	s, err := w.run(ctx, "share run", nil, func(rctx context.Context) error {
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
	s.CPUPerMillion = clock.PerMillion(s.CPUSeconds, s.Records)
	return s, nil
}
