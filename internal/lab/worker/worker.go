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
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kpar/kpar/internal/lab/strategy"
	"github.com/kpar/kpar/internal/lab/workload"
	"github.com/kpar/kpar/internal/proc"
	"github.com/kpar/kpar/internal/sharegroup"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Params configure one worker process: its spec (`kpar child lab-worker`
// reads it on stdin). The strategy's Config travels in it; ClientOpts and
// JavaSecurity are resolved in the worker from the security in its spec
// line, the password from the environment it inherits, and Handler,
// Transform, Logf and InstanceID are the worker's own.
type Params struct {
	strategy.Config
	LogTopic    string // processed-log
	Strategy    string
	Slot        string // member name; also the static instance id when Static
	Static      bool
	Incarnation int
	Seed        int64
	LatencyMin  time.Duration
	LatencyMax  time.Duration
	Tail        float64 // chance a record takes TailLatency instead
	TailLatency time.Duration
	Transient   float64 // chance an attempt fails transiently (attempts 1-3 only)
	Permanent   float64 // chance a record always fails
	// KillAfter: admit this many handler invocations, then freeze and
	// SIGKILL self once settled (0 = never). See killWhenSettled.
	KillAfter int
	// Instant changes KillAfter: SIGKILL self the moment this process's
	// KillAfter-th processed-log entry is acknowledged, with no freeze and
	// no settle (the kill fault). See process.
	Instant bool
	// The slow fault: invocations SlowAt..SlowAt+SlowCount-1 of this
	// process take SlowLatency (first attempt of a record only), and the
	// process writes EventSlow when the first of them starts.
	SlowAt, SlowCount int
	SlowLatency       time.Duration
	// MetadataMinAge is the least time between two metadata refreshes of
	// every client of the worker (0 = kgo's 5 s): the soak moves leaders,
	// and a client that may not look again for 5 s stalls that long on a
	// partition whose leader moved.
	MetadataMinAge time.Duration
}

// Event is one JSON line a worker writes on stdout (one write per line, so
// concurrent lines stay whole on the pipe).
type Event struct {
	Kind      string `json:"kind"`
	Seq       int64  `json:"seq,omitempty"`
	Attempt   int    `json:"attempt,omitempty"`
	Delivery  int    `json:"delivery,omitempty"`
	Permanent bool   `json:"permanent,omitempty"`
	InFlight  int64  `json:"in_flight,omitempty"`
}

// The kinds of Event.
const (
	// EventSlow: the slow stretch started; the second member joins then.
	EventSlow = "slow"
	// EventPermanent: a handler attempt ended in a permanent failure (Seq,
	// Attempt).
	EventPermanent = "permanent"
	// EventFailed: a failed attempt on a record a share group delivered
	// (Seq, Delivery, Permanent): what tells archived from lost.
	EventFailed = "failed"
	// EventKill: the instant before a kill-fault SIGKILL, with the
	// invocations running (the killing one included).
	EventKill = "kill"
)

// Settle is how long the group's committed offsets must stay unchanged
// before a frozen worker kills itself: four of PC's 250 ms commit intervals.
const Settle = time.Second

// ShareSettle is Settle for share groups: kgo sends a pending ack within
// 1 s (or with the next fetch), so twice that with the reported
// share-partition state unchanged.
const ShareSettle = 2500 * time.Millisecond

// Check refuses a worker that cannot run.
func (p Params) Check() error {
	switch {
	case len(p.Seeds) == 0:
		return errors.New("worker: no brokers")
	case p.Topic == "" || p.LogTopic == "" || p.Group == "":
		return errors.New("worker: the topic, log topic and group are required")
	case p.Workers < 1 || p.MaxPoll < 1:
		return errors.New("worker: workers and max poll must be at least 1")
	case p.KillAfter < 0 || p.SlowAt < 0 || p.SlowCount < 0 || p.RebalanceTimeout < 0 || p.MetadataMinAge < 0:
		return errors.New("worker: kill after, slow at, slow count, rebalance timeout and metadata min age must not be negative")
	}
	if _, err := strategy.Get(p.Strategy); err != nil {
		return err
	}
	if strategy.NeedsJVM(p.Strategy) && (p.Java == "" || p.PCClasspath == "") {
		return fmt.Errorf("worker: strategy %s runs a JVM: the java binary and PC's class path are required", p.Strategy)
	}
	return nil
}

// Run processes until ctx ends (SIGTERM, or stdin's end), then stops
// gracefully; its Events go to events.
func Run(ctx context.Context, p Params, events *proc.Lines) error {
	if err := p.Check(); err != nil {
		return err
	}
	run, _ := strategy.Get(p.Strategy) // Check found it
	if p.MetadataMinAge > 0 {
		p.ClientOpts = append(slices.Clip(p.ClientOpts), kgo.MetadataMinAge(p.MetadataMinAge))
	}
	out, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(p.Seeds...), kgo.ProducerLinger(time.Millisecond)}, p.ClientOpts...)...)
	if err != nil {
		return err
	}
	defer out.Close()
	h := &handler{p: p, out: out, events: events, attempts: map[int64]int{}, frozen: make(chan struct{}), stop: ctx.Done(),
		freezes: p.KillAfter > 0 && !p.Instant}
	if h.freezes {
		go h.killWhenSettled(ctx)
	}
	cfg := p.Config
	cfg.Handler, cfg.Transform = h.handle, h.transform
	cfg.Logf = func(f string, a ...any) {
		fmt.Fprintf(os.Stderr, "worker %s#%d: %s\n", p.Slot, p.Incarnation, fmt.Sprintf(f, a...))
	}
	if p.Static {
		cfg.InstanceID = p.Group + "-" + p.Slot
	}
	return run(ctx, cfg)
}

type handler struct {
	p       Params
	freezes bool // the crash fault: freeze after KillAfter invocations
	events  *proc.Lines
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

// transform is handle for eos: the entry is returned, to be written in the
// transaction that commits the record, instead of written.
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
	if h.freezes && n > int64(p.KillAfter) {
		// Frozen: the process dies in killWhenSettled; a SIGTERM still
		// gets through.
		<-h.stop
		return errors.New("worker frozen for a crash")
	}
	h.running.Add(1)
	defer h.running.Add(-1)
	if h.freezes && n == int64(p.KillAfter) {
		close(h.frozen)
	}
	seq := uint64(rec.Seq)
	attempt := h.attempt(rec.Seq)
	// A share group redelivers to any member, whose own count starts at 1:
	// the dice follow the larger, so transient failures end at the fourth
	// attempt wherever the record runs.
	delivery := int(r.DeliveryCount())
	attempt = max(attempt, delivery)
	if delivery > 0 {
		defer func() {
			if err != nil {
				_ = h.events.Write(Event{Kind: EventFailed, Seq: rec.Seq, Delivery: delivery, Permanent: errors.Is(err, strategy.ErrPermanent)})
			}
		}()
	}

	err = h.work(ctx, n, attempt, seq)
	if err != nil {
		// Cancelled (a revoked partition): the next owner processes it.
		return fmt.Errorf("record %d: %w", rec.Seq, err)
	}
	if workload.Float(p.Seed, dicePermanent, seq) < p.Permanent {
		_ = h.events.Write(Event{Kind: EventPermanent, Seq: rec.Seq, Attempt: attempt})
		return fmt.Errorf("record %d: %w", rec.Seq, strategy.ErrPermanent)
	}
	if attempt <= 3 && workload.Float(p.Seed, diceTransient, seq, uint64(attempt)) < p.Transient {
		return fmt.Errorf("record %d attempt %d: transient failure", rec.Seq, attempt)
	}
	e := workload.Entry{Record: rec, Worker: p.Slot, Incarnation: p.Incarnation, Outcome: workload.OK, Attempts: attempt, Delivery: delivery}
	out := &kgo.Record{Topic: p.LogTopic, Key: []byte(rec.Key), Value: workload.EncodeEntry(e)}
	if emit != nil {
		*emit = out // the instant kill below lands before the strategy has it
	} else if err = h.out.ProduceSync(context.WithoutCancel(ctx), out).FirstErr(); err != nil {
		// Not ctx: an entry half-written by a cancelled call would make
		// "processed" a race.
		return fmt.Errorf("processed-log write for record %d: %w", rec.Seq, err)
	}
	if p.Instant && p.KillAfter > 0 && h.written.Add(1) == int64(p.KillAfter) {
		// The kill fault: die between this record's durable entry and the
		// strategy hearing it is done, other handlers mid-sleep or
		// mid-write and the next commit pending.
		_ = h.events.Write(Event{Kind: EventKill, InFlight: h.running.Load()})
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	return nil
}

// attempt counts one more attempt at record seq in this process and
// returns the count.
func (h *handler) attempt(seq int64) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.attempts[seq]++
	return h.attempts[seq]
}

// work is the handler's latency for invocation n, attempt attempt of
// record seq: the slow stretch (first attempts only), a tail latency, or a
// uniform one; it stops when its context ends.
func (h *handler) work(ctx context.Context, n int64, attempt int, seq uint64) error {
	p := h.p
	switch {
	case p.SlowCount > 0 && n >= int64(p.SlowAt) && n < int64(p.SlowAt+p.SlowCount) && attempt == 1:
		if n == int64(p.SlowAt) {
			_ = h.events.Write(Event{Kind: EventSlow})
		}
		return workload.Sleep(ctx, p.SlowLatency)
	case workload.Float(p.Seed, diceTail, seq) < p.Tail:
		return workload.Sleep(ctx, p.TailLatency)
	case p.LatencyMax > 0:
		span := p.LatencyMax - p.LatencyMin
		return workload.Sleep(ctx, p.LatencyMin+time.Duration(workload.Float(p.Seed, diceLatency, seq)*float64(span)))
	}
	return nil
}

// killWhenSettled is the crash fault made repeatable: once KillAfter
// invocations were admitted and every one wrote its entry, it SIGKILLs the
// process when the group's committed offsets and metadata (a share group's
// partition states) have not moved for Settle (ShareSettle). The log and
// the commits at the kill are then functions of the seed, not of a timer.
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
		return fmt.Sprint(offs.Sorted()), err
	}
	if strategy.IsShare(h.p.Strategy) {
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
