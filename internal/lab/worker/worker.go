// Package worker is the consumer process under test: the lab re-executes the
// kpar binary (hidden `kpar child lab-worker`) once per member and
// incarnation, so a crash is a real SIGKILL of a real process.
//
// The handler it gives each strategy sleeps a per-record latency, may fail,
// and then writes the record's processed-log entry with an idempotent
// producer and acks=all, returning only once that entry is durable. Hence
// "processed" means "entry on the broker": a kill after the write and before
// the commit replays the record (a duplicate, fine for at-least-once), while
// a commit before the write loses it.
package worker

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kpar/kpar/internal/clientsec"
	"github.com/kpar/kpar/internal/lab/strategy"
	"github.com/kpar/kpar/internal/lab/workload"
	"github.com/kpar/kpar/internal/sharegroup"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Params configure one worker process. Args and Parse round-trip them.
type Params struct {
	Seeds []string
	// Security is the TLS/SASL flags (clientsec); the launcher appends
	// them to Args' output (Security.Args) and Parse resolves them into
	// ClientOpts, the password from the environment the worker inherits.
	Security     clientsec.Settings
	ClientOpts   []kgo.Opt
	JavaSecurity map[string]string // Security for the pc-* strategies' JVM
	Topic        string            // input
	LogTopic     string            // processed-log
	DLQTopic     string            // dead-letter topic ("" = none)
	Group        string
	Strategy     string
	Slot         string // member name; also the static instance id when Static
	Static       bool
	Incarnation  int
	Workers      int
	MaxPoll      int
	Seed         int64
	LatencyMin   time.Duration
	LatencyMax   time.Duration
	Tail         float64 // chance a record takes TailLatency instead
	TailLatency  time.Duration
	Transient    float64 // chance an attempt fails transiently (attempts 1-3 only)
	Permanent    float64 // chance a record always fails
	// KillAfter: admit this many handler invocations, then freeze and
	// SIGKILL self once settled (0 = never). See killWhenSettled.
	KillAfter int
	// Instant changes KillAfter: SIGKILL self the moment this process's
	// KillAfter-th processed-log entry is acknowledged, with no freeze and
	// no settle (the kill fault). See handle.
	Instant bool
	// The slow fault: invocations SlowAt..SlowAt+SlowCount-1 of this
	// process take SlowLatency (first attempt of a record only), and the
	// process prints SlowMarker when the first of them starts.
	SlowAt, SlowCount int
	SlowLatency       time.Duration
	// RebalanceTimeout is the group's rebalance timeout, kgo's analogue of
	// max.poll.interval.ms (0 = the client default).
	RebalanceTimeout time.Duration
	// Java and PCClasspath run the pc-* strategies' JVM (resolved once by
	// the lab's parent process; empty for the other strategies).
	Java        string
	PCClasspath string
}

// SlowMarker is the line a worker prints on stdout when its slow stretch
// starts; the runner lets the second member join on it, so the rebalance
// always lands while the slow handlers run.
const SlowMarker = "kpar-lab: slow handlers started"

// PermanentMarker starts the stdout line a worker prints for every handler
// attempt that ends in a permanent failure: the marker, the record's seq and
// the attempt number ("kpar-lab: permanent failure 17 3"). The runner counts
// them, since a record that always fails leaves nothing in the processed-log.
const PermanentMarker = "kpar-lab: permanent failure"

// FailureMarker starts the stdout line a worker prints for every failed
// handler attempt on a record a share group delivered: the marker, the
// record's seq, its delivery count and "permanent" or "transient"
// ("kpar-lab: failed delivery 17 5 transient"). A record that fails its
// last allowed delivery, or is rejected, is archived by the broker and
// leaves no entry anywhere; these lines are how the lab tells archived from
// lost.
const FailureMarker = "kpar-lab: failed delivery"

// KillMarker starts the stdout line a worker prints the instant before a
// kill-fault SIGKILL: the marker and the handler invocations running at that
// moment, the killing one included ("kpar-lab: kill in flight 16"): the
// records in flight at the kill, which a replay is measured against.
const KillMarker = "kpar-lab: kill in flight"

// Settle is how long the group's committed offsets must stay unchanged
// before a frozen worker kills itself: four commit intervals of the
// slowest-committing strategy (PC's, set to 250 ms; the library commits
// back to back).
const Settle = time.Second

// ShareSettle is Settle for share groups. Their acknowledgements leave the
// client in the background (kgo sends a pending ack within 1 s, or with
// the next fetch) and one above a record still held does not move anything
// the broker reports, so the frozen worker waits out the flush: twice
// kgo's ack timer, with the reported share-partition state unchanged.
const ShareSettle = 2500 * time.Millisecond

// Args renders p as command-line flags for Parse.
func (p Params) Args() []string {
	return append([]string{
		"--brokers=" + strings.Join(p.Seeds, ","), "--topic=" + p.Topic, "--log-topic=" + p.LogTopic,
		"--dlq-topic=" + p.DLQTopic, "--group=" + p.Group, "--strategy=" + p.Strategy, "--slot=" + p.Slot,
		fmt.Sprintf("--static=%t", p.Static), fmt.Sprintf("--incarnation=%d", p.Incarnation),
		fmt.Sprintf("--workers=%d", p.Workers), fmt.Sprintf("--max-poll=%d", p.MaxPoll),
		fmt.Sprintf("--seed=%d", p.Seed), "--latency-min=" + p.LatencyMin.String(),
		"--latency-max=" + p.LatencyMax.String(),
		fmt.Sprintf("--tail=%g", p.Tail), "--tail-latency=" + p.TailLatency.String(), fmt.Sprintf("--transient=%g", p.Transient),
		fmt.Sprintf("--permanent=%g", p.Permanent), fmt.Sprintf("--kill-after=%d", p.KillAfter),
		fmt.Sprintf("--kill-instant=%t", p.Instant),
		fmt.Sprintf("--slow-at=%d", p.SlowAt), fmt.Sprintf("--slow-count=%d", p.SlowCount),
		"--slow-latency=" + p.SlowLatency.String(), "--rebalance-timeout=" + p.RebalanceTimeout.String(),
		"--java=" + p.Java, "--pc-classpath=" + p.PCClasspath,
	}, p.Security.Args()...)
}

// Parse reads Args' output.
func Parse(args []string) (Params, error) {
	var p Params
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	brokers := fs.String("brokers", "", "")
	fs.StringVar(&p.Topic, "topic", "", "")
	fs.StringVar(&p.LogTopic, "log-topic", "", "")
	fs.StringVar(&p.DLQTopic, "dlq-topic", "", "")
	fs.StringVar(&p.Group, "group", "", "")
	fs.StringVar(&p.Strategy, "strategy", "", "")
	fs.StringVar(&p.Slot, "slot", "w0", "")
	fs.BoolVar(&p.Static, "static", false, "")
	fs.IntVar(&p.Incarnation, "incarnation", 0, "")
	fs.IntVar(&p.Workers, "workers", 16, "")
	fs.IntVar(&p.MaxPoll, "max-poll", 100, "")
	fs.Int64Var(&p.Seed, "seed", 1, "")
	fs.DurationVar(&p.LatencyMin, "latency-min", 0, "")
	fs.DurationVar(&p.LatencyMax, "latency-max", 0, "")
	fs.Float64Var(&p.Tail, "tail", 0, "")
	fs.DurationVar(&p.TailLatency, "tail-latency", 0, "")
	fs.Float64Var(&p.Transient, "transient", 0, "")
	fs.Float64Var(&p.Permanent, "permanent", 0, "")
	fs.IntVar(&p.KillAfter, "kill-after", 0, "")
	fs.BoolVar(&p.Instant, "kill-instant", false, "")
	fs.IntVar(&p.SlowAt, "slow-at", 0, "")
	fs.IntVar(&p.SlowCount, "slow-count", 0, "")
	fs.DurationVar(&p.SlowLatency, "slow-latency", 0, "")
	fs.DurationVar(&p.RebalanceTimeout, "rebalance-timeout", 0, "")
	fs.StringVar(&p.Java, "java", "", "")
	fs.StringVar(&p.PCClasspath, "pc-classpath", "", "")
	p.Security.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		return p, err
	}
	sec, err := p.Security.Resolve(os.Getenv)
	if err != nil {
		return p, fmt.Errorf("worker: %w", err)
	}
	p.ClientOpts, p.JavaSecurity = sec.Opts, sec.Java
	for _, s := range strings.Split(*brokers, ",") {
		if s = strings.TrimSpace(s); s != "" {
			p.Seeds = append(p.Seeds, s)
		}
	}
	switch {
	case len(p.Seeds) == 0:
		return p, errors.New("worker: --brokers is empty")
	case p.Topic == "" || p.LogTopic == "" || p.Group == "":
		return p, errors.New("worker: --topic, --log-topic and --group are required")
	case p.Workers < 1 || p.MaxPoll < 1:
		return p, errors.New("worker: --workers and --max-poll must be at least 1")
	case p.KillAfter < 0 || p.SlowAt < 0 || p.SlowCount < 0 || p.RebalanceTimeout < 0:
		return p, errors.New("worker: --kill-after, --slow-at, --slow-count and --rebalance-timeout must not be negative")
	}
	if _, err := strategy.Get(p.Strategy); err != nil {
		return p, err
	}
	if strategy.NeedsJVM(p.Strategy) && (p.Java == "" || p.PCClasspath == "") {
		return p, fmt.Errorf("worker: strategy %s runs a JVM: --java and --pc-classpath are required", p.Strategy)
	}
	return p, nil
}

// Run processes until ctx ends (SIGTERM), then stops gracefully.
func Run(ctx context.Context, p Params) error {
	run, err := strategy.Get(p.Strategy)
	if err != nil {
		return err
	}
	out, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(p.Seeds...), kgo.ProducerLinger(time.Millisecond)}, p.ClientOpts...)...)
	if err != nil {
		return err
	}
	defer out.Close()
	h := &handler{p: p, out: out, attempts: map[int64]int{}, frozen: make(chan struct{}), stop: ctx.Done()}
	if p.KillAfter > 0 && !p.Instant {
		go h.killWhenSettled(ctx)
	}
	cfg := strategy.Config{
		Seeds: p.Seeds, ClientOpts: p.ClientOpts, JavaSecurity: p.JavaSecurity, Topic: p.Topic, Group: p.Group, DLQTopic: p.DLQTopic,
		Workers: p.Workers, MaxPoll: p.MaxPoll, Handler: h.handle, Transform: h.transform, RebalanceTimeout: p.RebalanceTimeout,
		Java: p.Java, PCClasspath: p.PCClasspath,
		Logf: func(f string, a ...any) {
			fmt.Fprintf(os.Stderr, "worker %s#%d: %s\n", p.Slot, p.Incarnation, fmt.Sprintf(f, a...))
		},
	}
	if p.Static {
		cfg.InstanceID = p.Group + "-" + p.Slot
	}
	return run(ctx, cfg)
}

type handler struct {
	p       Params
	out     *kgo.Client
	invoked atomic.Int64  // handler invocations so far, retries included
	written atomic.Int64  // processed-log entries acknowledged so far
	running atomic.Int64  // admitted invocations not yet returned
	frozen  chan struct{} // closed once KillAfter invocations were admitted
	stop    <-chan struct{}

	mu       sync.Mutex
	attempts map[int64]int
}

// Stream ids for workload.Float, so each kind of choice has its own dice.
const (
	diceLatency = 10 + iota
	diceTransient
	dicePermanent
	diceTail
)

func (h *handler) handle(ctx context.Context, r *kgo.Record) error { return h.process(ctx, r, nil) }

// transform is handle for a strategy that writes the processed-log entry
// itself, in the transaction that commits the record (eos): the entry is
// returned instead of written. Everything else, the kill fault included,
// is handle's.
func (h *handler) transform(ctx context.Context, r *kgo.Record) ([]*kgo.Record, error) {
	var out *kgo.Record
	if err := h.process(ctx, r, &out); err != nil {
		return nil, err
	}
	return []*kgo.Record{out}, nil
}

// process runs the lab's handler on r; the processed-log entry is written
// and acknowledged, or, with emit, handed back through it.
func (h *handler) process(ctx context.Context, r *kgo.Record, emit **kgo.Record) (err error) {
	rec, err := workload.DecodeRecord(r.Value)
	if err != nil {
		return err
	}
	p := h.p
	n := h.invoked.Add(1)
	if p.KillAfter > 0 && !p.Instant && n > int64(p.KillAfter) {
		// Frozen: this invocation never runs. The process dies in
		// killWhenSettled; a graceful stop (SIGTERM) still gets through.
		<-h.stop
		return errors.New("worker frozen for a crash")
	}
	h.running.Add(1)
	defer h.running.Add(-1)
	if p.KillAfter > 0 && !p.Instant && n == int64(p.KillAfter) {
		close(h.frozen)
	}
	seq := uint64(rec.Seq)
	h.mu.Lock()
	h.attempts[rec.Seq]++
	attempt := h.attempts[rec.Seq]
	h.mu.Unlock()
	// A share group redelivers a released record to any member, so this
	// process's count starts again at 1 where the broker's delivery count
	// does not; the dice follow the larger, so a record's transient
	// failures end at its fourth attempt wherever it runs.
	delivery := int(r.DeliveryCount())
	attempt = max(attempt, delivery)
	if delivery > 0 {
		defer func() {
			if err == nil {
				return
			}
			kind := "transient"
			if errors.Is(err, strategy.ErrPermanent) {
				kind = "permanent"
			}
			fmt.Fprintf(os.Stdout, "%s %d %d %s\n", FailureMarker, rec.Seq, delivery, kind)
		}()
	}

	switch {
	case p.SlowCount > 0 && n >= int64(p.SlowAt) && n < int64(p.SlowAt+p.SlowCount) && attempt == 1:
		if n == int64(p.SlowAt) {
			fmt.Fprintln(os.Stdout, SlowMarker)
		}
		err = sleep(ctx, p.SlowLatency)
	case workload.Float(p.Seed, diceTail, seq) < p.Tail:
		err = sleep(ctx, p.TailLatency)
	case p.LatencyMax > 0:
		span := p.LatencyMax - p.LatencyMin
		err = sleep(ctx, p.LatencyMin+time.Duration(workload.Float(p.Seed, diceLatency, seq)*float64(span)))
	}
	if err != nil {
		// Cancelled (e.g. the library gave up on a revoked partition):
		// nothing was done, the next owner processes the record.
		return fmt.Errorf("record %d: %w", rec.Seq, err)
	}
	if workload.Float(p.Seed, dicePermanent, seq) < p.Permanent {
		// One write per line, so concurrent lines stay whole on the pipe.
		fmt.Fprintf(os.Stdout, "%s %d %d\n", PermanentMarker, rec.Seq, attempt)
		return fmt.Errorf("record %d: %w", rec.Seq, strategy.ErrPermanent)
	}
	if attempt <= 3 && workload.Float(p.Seed, diceTransient, seq, uint64(attempt)) < p.Transient {
		return fmt.Errorf("record %d attempt %d: transient failure", rec.Seq, attempt)
	}
	e := workload.Entry{Record: rec, Worker: p.Slot, Incarnation: p.Incarnation, Outcome: workload.OK, Attempts: attempt, Delivery: delivery}
	out := &kgo.Record{Topic: p.LogTopic, Key: []byte(rec.Key), Value: workload.EncodeEntry(e)}
	if emit != nil {
		*emit = out
		// Not written yet: the instant kill below lands before the
		// strategy has it, as a write's acknowledgement does.
	} else if err = h.out.ProduceSync(context.WithoutCancel(ctx), out).FirstErr(); err != nil {
		// Not ctx: a revoked or stopping strategy may cancel it, and an
		// entry half-written by a cancelled call would make "processed"
		// a race.
		return fmt.Errorf("processed-log write for record %d: %w", rec.Seq, err)
	}
	if p.Instant && p.KillAfter > 0 && h.written.Add(1) == int64(p.KillAfter) {
		// The kill fault: die here, between this record's durable entry
		// and the strategy hearing it is done, while the other workers are
		// mid-sleep or mid-write (their produce requests may or may not
		// reach the broker) and the strategy's next commit is pending.
		// Nothing waits for anything, so what was committed and written at
		// this instant is up to thread and network timing.
		fmt.Fprintf(os.Stdout, "%s %d\n", KillMarker, h.running.Load())
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	return nil
}

// sleep is the handler's work: a well-behaved handler stops when its
// context ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// killWhenSettled is the crash fault made repeatable. Once KillAfter
// invocations were admitted, no further invocation runs; the process waits
// until every admitted one has written its entry and the group's committed
// offsets (and metadata) have not moved for Settle, then SIGKILLs itself.
// A share group has no committed offsets: there it is the share-partition
// states (start offset and lag) that must not move, for ShareSettle.
// So at the kill the processed-log holds exactly the entries of the
// admitted invocations, and the commits are whatever the strategy commits
// once its poll loop has run into the frozen workers (queue full, or input
// exhausted): both are functions of the seed, not of when a timer fired.
func (h *handler) killWhenSettled(ctx context.Context) {
	select {
	case <-h.frozen:
	case <-ctx.Done():
		return
	}
	for h.running.Load() > 0 {
		time.Sleep(5 * time.Millisecond)
	}
	adm := kadm.NewClient(h.out)
	settle, read := Settle, func() (string, error) {
		offs, err := adm.FetchOffsets(ctx, h.p.Group)
		return commitsString(offs), err
	}
	if strategy.IsShare(h.p.Strategy) {
		// No committed offsets: what the broker reports acknowledged.
		settle, read = ShareSettle, func() (string, error) {
			st, err := sharegroup.Offsets(ctx, h.out, h.p.Group, h.p.Topic)
			return fmt.Sprint(st), err
		}
	}
	var last string
	stable := time.Now()
	for time.Since(stable) < settle {
		time.Sleep(50 * time.Millisecond)
		if ctx.Err() != nil {
			return
		}
		now, err := read()
		if err != nil {
			stable = time.Now() // unknown is not unchanged
			continue
		}
		if now != last {
			last, stable = now, time.Now()
		}
	}
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
}

func commitsString(offs kadm.OffsetResponses) string {
	var b strings.Builder
	for _, o := range offs.Sorted() {
		fmt.Fprintf(&b, "%s/%d@%d:%s/%v;", o.Topic, o.Partition, o.At, o.Metadata, o.Err)
	}
	return b.String()
}

// Main is the worker process's entry point: parse args, run until SIGTERM
// (which the caller turns into ctx's end), and return an exit code.
func Main(ctx context.Context, args []string) int {
	p, err := Parse(args)
	if err == nil {
		err = Run(ctx, p)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kpar lab worker:", err)
		return 1
	}
	return 0
}
