// One cell: fresh topics, three member processes, a settled group, the
// seeded stream at a fixed rate with the event in its middle, the drain
// (every record processed), the stop, and the metrics from the members'
// logs.

package group

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/lab/workload"
	"github.com/kpar/kpar/internal/proc"
)

// tailLines is how much of a member's output a failed cell quotes.
const tailLines = 15

// member is one member process (one incarnation of a slot). Signaled:
// the orchestrator SIGKILLed or SIGTERMed it, its exit is expected.
type member struct {
	*proc.Process
	slot string
}

func (p *member) tailText() string {
	if t := p.Tail(tailLines); t != "" {
		return t
	}
	return "(no output)"
}

// orchestra runs one cell's processes and collects their lines.
type orchestra struct {
	cfg     Config
	params  MemberParams
	session time.Duration // the group's session timeout

	mu      sync.Mutex
	entries []entry
	procs   map[string]*member // the slot's current incarnation
	all     []*member
}

func (o *orchestra) add(e entry) {
	o.mu.Lock()
	o.entries = append(o.entries, e)
	o.mu.Unlock()
}

func (o *orchestra) start(slot string) (*member, error) {
	mp := o.params
	mp.Slot = slot
	onLine := func(b []byte) {
		var l Line
		if err := json.Unmarshal(b, &l); err != nil || l.Kind == "" {
			return
		}
		o.add(entry{Slot: slot, Line: l})
	}
	var onErr func([]byte)
	if w := o.cfg.MemberStderr; w != nil {
		onErr = func(b []byte) { fmt.Fprintln(w, string(b)) }
	}
	pr, err := o.cfg.Member(context.Background(), "group-member", mp, proc.Options{OnLine: onLine, OnErrLine: onErr})
	if err != nil {
		return nil, fmt.Errorf("start member %s: %w", slot, err)
	}
	p := &member{Process: pr, slot: slot}
	go func() {
		<-p.Done()
		o.add(entry{Slot: slot, Line: Line{T: time.Now().UnixNano(), Kind: "exit"}})
	}()
	o.mu.Lock()
	o.procs[slot] = p
	o.all = append(o.all, p)
	o.mu.Unlock()
	return p, nil
}

// snapshot returns the log so far, sorted by time.
func (o *orchestra) snapshot() []entry {
	o.mu.Lock()
	es := slices.Clone(o.entries)
	o.mu.Unlock()
	sort.SliceStable(es, func(i, j int) bool { return es[i].T < es[j].T })
	return es
}

// owned is each live slot's partitions now, from the log.
func (o *orchestra) owned() map[string]map[string]bool {
	own := map[string]map[string]bool{}
	for _, e := range o.snapshot() {
		switch e.Kind {
		case "assigned":
			if own[e.Slot] == nil {
				own[e.Slot] = map[string]bool{}
			}
			for t, ps := range e.Parts {
				for _, n := range ps {
					own[e.Slot][partKey(t, n)] = true
				}
			}
		case "revoked", "lost":
			for t, ps := range e.Parts {
				for _, n := range ps {
					delete(own[e.Slot], partKey(t, n))
				}
			}
		case "exit":
			delete(own, e.Slot)
		}
	}
	return own
}

// unexpected names a member that exited without being asked to.
func (o *orchestra) unexpected() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, p := range o.all {
		if p.Exited() && !p.Signaled() {
			return fmt.Errorf("member %s exited on its own (%v); its last output:\n%s", p.slot, p.Wait(), p.tailText())
		}
	}
	return nil
}

// waitUp waits until slot's current process owns a partition.
//
// A restarted static member may have to wait out its old self's session:
// franz-go does not leave the group on close when it has an instance id,
// and a KIP-848 broker refuses the id (UNRELEASED_INSTANCE_ID) until the old
// member's session expired; so the wait is the settle timeout plus the
// protocol's session timeout.
func (o *orchestra) waitUp(ctx context.Context, slot string, since time.Time) error {
	limit := o.cfg.Settle + o.session
	deadline := time.Now().Add(limit)
	for {
		for _, e := range o.snapshot() {
			if e.Slot == slot && e.Kind == "assigned" && e.T >= since.UnixNano() && len(e.Parts) > 0 {
				return nil
			}
		}
		if err := o.unexpected(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			o.mu.Lock()
			p := o.procs[slot]
			o.mu.Unlock()
			return fmt.Errorf("member %s did not come up (no partition within %s); its last output:\n%s", slot, limit, p.tailText())
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

// waitSettled waits until the live members own every partition between
// them, evenly (at most one apart), with no change for a second.
func (o *orchestra) waitSettled(ctx context.Context, partitions []string, members int) error {
	deadline := time.Now().Add(o.cfg.Settle)
	var last string
	since := time.Now()
	for {
		own := o.owned()
		var counts []int
		union := map[string]bool{}
		var keys []string
		for s, ps := range own {
			counts = append(counts, len(ps))
			for p := range ps {
				union[p] = true
				keys = append(keys, s+":"+p)
			}
		}
		slices.Sort(keys)
		state := strings.Join(keys, ",")
		if state != last {
			last, since = state, time.Now()
		}
		even := len(counts) == members && slices.Min(counts) > 0 && slices.Max(counts)-slices.Min(counts) <= 1
		if even && len(union) == len(partitions) && time.Since(since) >= time.Second {
			return nil
		}
		if err := o.unexpected(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			var tails []string
			o.mu.Lock()
			for _, p := range o.procs {
				tails = append(tails, fmt.Sprintf("%s: %s", p.slot, p.tailText()))
			}
			o.mu.Unlock()
			slices.Sort(tails)
			return fmt.Errorf("the group did not settle within %s (%d members own %d of %d partitions); members' last output:\n%s",
				o.cfg.Settle, len(counts), len(union), len(partitions), strings.Join(tails, "\n"))
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

// signal sends sig to slot's process and marks its exit as expected.
func (o *orchestra) signal(slot string, sig syscall.Signal) *member {
	o.mu.Lock()
	p := o.procs[slot]
	o.mu.Unlock()
	_ = p.Signal(sig)
	return p
}

// waitProduced waits for the stream's producer, at most the drain timeout
// (its records' delivery timeout) and never past ctx: a broker that stopped
// answering ends the cell with one line naming the brokers.
func (o *orchestra) waitProduced(ctx context.Context, produced <-chan error) error {
	select {
	case err := <-produced:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(o.cfg.Drain + 5*time.Second):
		return fmt.Errorf("the stream's records were not acknowledged within %s: the brokers at %s stopped answering",
			o.cfg.Drain, strings.Join(o.cfg.Brokers, ","))
	}
}

// stopAll SIGTERMs every live member together (dynamic members leave and
// commit; static ones commit and keep their place), SIGKILLing any that has
// not exited after 30 s, or at once when ctx was cancelled (stopped by
// SIGINT/SIGTERM: nothing is measured any more).
func (o *orchestra) stopAll(ctx context.Context) {
	o.mu.Lock()
	var live []*member
	for _, p := range o.all {
		if !p.Exited() {
			live = append(live, p)
		}
	}
	o.mu.Unlock()
	sig := syscall.SIGTERM
	if ctx.Err() != nil {
		sig = syscall.SIGKILL
	}
	for _, p := range live {
		_ = p.Signal(sig)
	}
	for _, p := range live {
		select {
		case <-p.Done():
		case <-time.After(30 * time.Second):
			p.Kill()
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// victim is the member an event acts on, from the seed and the cell's
// name: the same in a run and in a rerun of the cell alone.
func victim(seed int64, name string) string {
	h := fnv.New64a()
	_, _ = io.WriteString(h, name)
	return fmt.Sprintf("m%d", workload.Uint64(seed, h.Sum64())%3)
}

// streamRecord is record seq of the stream: its topic (orders get their
// share of the records by partition count), key and value.
func streamRecord(seed int64, seq int, topics []TopicSpec) *kgo.Record {
	total := 0
	for _, t := range topics {
		total += t.Partitions
	}
	pick := int(workload.Uint64(seed, 1, uint64(seq)) % uint64(total))
	topic := topics[len(topics)-1].Name
	for _, t := range topics {
		if pick < t.Partitions {
			topic = t.Name
			break
		}
		pick -= t.Partitions
	}
	key := "k" + strconv.FormatUint(workload.Uint64(seed, 2, uint64(seq))%1000, 10)
	return &kgo.Record{Topic: topic, Key: []byte(key), Value: []byte(fmt.Sprintf("seq=%d key=%s", seq, key))}
}

// Exactness says what a rerun with the same seed reproduces.
func Exactness() (exact, timing []string, why string) {
	return []string{"produced", "victim", "stream"},
		[]string{"group_max_gap_ms", "baseline_gap_ms", "member_gaps", "max_latency_ms", "owned_again_ms", "moved", "revoked",
			"rebalances", "assignment_changes", "duplicated", "lost"},
		"the seed fixes the stream (every record's topic, key and so partition, in order) and the event's victim; " +
			"members join on wall-clock time, member ids (which order range and round-robin sort by) are random, " +
			"and the group protocol moves partitions on heartbeats and timeouts, so every measured count may move " +
			"on a rerun; duplicated depends on how long before the event the victim last committed; lost must be 0 on every run"
}

// runCell runs one cell; every failure is recorded in the cell.
func runCell(ctx context.Context, cfg Config, spec cellSpec) (cell Cell) {
	name := cellName(spec.event, spec.assignor, spec.member)
	cell = Cell{Event: spec.event, Assignor: spec.assignor, Protocol: Protocol(spec.assignor), Member: spec.member,
		Seed: cfg.Seed, Rate: cfg.Rate, Produced: int(float64(cfg.Rate) * cfg.Duration.Seconds()), WorkMs: ms(cfg.Work),
		EventAtSec: cfg.EventAt.Seconds()}
	cell.Exact, cell.TimingDependent, cell.Why = Exactness()
	if spec.event != "join" {
		cell.Victim = victim(cfg.Seed, name)
	}
	fail := func(err error) Cell {
		cell.Error = err.Error()
		return cell
	}

	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(cfg.Brokers...), kgo.ProducerLinger(0),
		// A broker that stops answering fails the stream's records after
		// the drain timeout instead of retrying them forever.
		kgo.RecordDeliveryTimeout(cfg.Drain)}, cfg.clientOpts...)...)
	if err != nil {
		return fail(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	base := fmt.Sprintf("kpar-group-%s-%s-%s-%d-%d", spec.event, spec.assignor, spec.member, cfg.Seed, time.Now().UnixNano()%1e9)
	cell.Topics = []TopicSpec{{base + "-orders", cfg.Orders}, {base + "-payments", cfg.Payments}}
	var topics, partitions []string
	for _, t := range cell.Topics {
		resp, err := adm.CreateTopic(ctx, int32(t.Partitions), 1, nil, t.Name)
		if err == nil {
			err = resp.Err
		}
		if err != nil {
			return fail(fmt.Errorf("create topic %s: %w", t.Name, err))
		}
		topics = append(topics, t.Name)
		for n := range t.Partitions {
			partitions = append(partitions, partKey(t.Name, int32(n)))
		}
	}
	if !cfg.Keep {
		defer func() {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
			defer cancel()
			_, _ = adm.DeleteTopics(dctx, topics...)
			_, _ = adm.DeleteGroup(dctx, base)
		}()
	}

	session := cfg.SessionTimeout
	if Protocol(spec.assignor) == "consumer" {
		session = cfg.consumerSession
	}
	o := &orchestra{cfg: cfg, session: session, procs: map[string]*member{}, params: MemberParams{
		Brokers: cfg.Brokers, Group: base, Topics: topics, Assignor: spec.assignor, Kind: spec.member,
		Static: spec.event == "restart-static", Work: cfg.Work, SessionTimeout: cfg.SessionTimeout,
	}}
	start := time.Now()
	var marks []Mark
	mark := func(label string) { marks = append(marks, Mark{At: time.Since(start).Seconds(), Label: label}) }
	var w window
	// Whatever happened, the metrics are what the log held.
	defer func() {
		o.stopAll(ctx)
		w.entries, w.partitions, w.produced, w.start = o.snapshot(), partitions, cell.Produced, start.UnixNano()
		if w.drained == 0 {
			w.drained = time.Now().UnixNano()
		}
		if w.streamEnd == 0 {
			w.streamEnd = w.drained
		}
		if w.event == 0 {
			w.event = w.streamEnd
		}
		if w.streamStart == 0 {
			w.streamStart = w.event
		}
		sec := func(t int64) float64 { return float64(t-w.start) / 1e9 }
		cell.StreamStartSec, cell.StreamEndSec, cell.DrainedSec = sec(w.streamStart), sec(w.streamEnd), sec(w.drained)
		for _, e := range w.entries {
			if e.Kind == "exit" && e.T <= w.drained {
				marks = append(marks, Mark{At: sec(e.T), Label: e.Slot + " exits"})
			}
		}
		sort.SliceStable(marks, func(i, j int) bool { return marks[i].At < marks[j].At })
		cell.Metrics = analyze(w)
		cell.Timeline = w.timeline(marks)
	}()

	for i := range 3 {
		if _, err := o.start(fmt.Sprintf("m%d", i)); err != nil {
			return fail(err)
		}
	}
	if err := o.waitSettled(ctx, partitions, 3); err != nil {
		return fail(err)
	}
	cell.GroupType = groupType(ctx, adm, base)

	// The stream: record i at streamStart + i/rate.
	streamStart := time.Now()
	w.streamStart = streamStart.UnixNano()
	mark("stream starts")
	produced := make(chan error, 1)
	var streamEnd atomic.Int64 // when the last record was acknowledged
	go func() {
		var perr error
		var once sync.Once
		var wg sync.WaitGroup
		for i := range cell.Produced {
			at := streamStart.Add(time.Duration(float64(i) / float64(cfg.Rate) * float64(time.Second)))
			if d := time.Until(at); d > 0 {
				if err := sleep(ctx, d); err != nil {
					perr = err
					break
				}
			}
			wg.Add(1)
			cl.Produce(ctx, streamRecord(cfg.Seed, i, cell.Topics), func(_ *kgo.Record, err error) {
				if err != nil {
					once.Do(func() { perr = err })
				}
				wg.Done()
			})
		}
		wg.Wait()
		streamEnd.Store(time.Now().UnixNano())
		produced <- perr
	}()

	if err := sleep(ctx, time.Until(streamStart.Add(cfg.EventAt))); err != nil {
		return fail(err)
	}
	w.event = time.Now().UnixNano()
	if err := o.event(ctx, spec.event, cell.Victim, mark); err != nil {
		_ = o.waitProduced(ctx, produced)
		w.streamEnd = streamEnd.Load()
		return fail(err)
	}
	if err := o.waitProduced(ctx, produced); err != nil {
		return fail(fmt.Errorf("produce the stream: %w", err))
	}
	w.streamEnd = streamEnd.Load()
	marks = append(marks, Mark{At: float64(w.streamEnd-start.UnixNano()) / 1e9, Label: "stream ends"})

	// The drain: every record processed once at least.
	deadline := time.Now().Add(cfg.Drain)
	for {
		if err := o.unexpected(); err != nil {
			return fail(err)
		}
		seen := map[int64]bool{}
		for _, e := range o.snapshot() {
			if e.Kind == "p" {
				seen[e.Seq] = true
			}
		}
		if len(seen) >= cell.Produced {
			break
		}
		if time.Now().After(deadline) {
			w.drained = time.Now().UnixNano()
			return fail(fmt.Errorf("%d of %d records still unprocessed %s after the stream ended", cell.Produced-len(seen), cell.Produced, cfg.Drain))
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return fail(err)
		}
	}
	w.drained = time.Now().UnixNano()
	return cell
}

// event performs the membership event on the settled, streaming group.
func (o *orchestra) event(ctx context.Context, event, victim string, mark func(string)) error {
	switch event {
	case "join":
		mark("m3 joins")
		at := time.Now()
		if _, err := o.start("m3"); err != nil {
			return err
		}
		return o.waitUp(ctx, "m3", at)
	case "leave":
		mark(victim + " leaves (SIGTERM)")
		o.signal(victim, syscall.SIGTERM)
	case "kill":
		mark(victim + " is killed (SIGKILL)")
		o.signal(victim, syscall.SIGKILL)
	case "restart-static", "restart-dynamic":
		mark(victim + " restarts")
		p := o.signal(victim, syscall.SIGTERM)
		select {
		case <-p.Done():
		case <-time.After(30 * time.Second):
			return fmt.Errorf("member %s ignored SIGTERM for 30 s; its last output:\n%s", victim, p.tailText())
		case <-ctx.Done():
			return ctx.Err()
		}
		at := time.Now()
		if _, err := o.start(victim); err != nil {
			return err
		}
		return o.waitUp(ctx, victim, at)
	default:
		return errors.New("unknown event " + event)
	}
	return nil
}

// groupType is how the broker lists the group: "consumer" (KIP-848) or
// "classic". kgo falls back to classic on a broker without KIP-848, so a
// cell says which one it got.
func groupType(ctx context.Context, adm *kadm.Client, group string) string {
	for _, t := range []string{"consumer", "classic"} {
		l, err := adm.ListGroupsByType(ctx, []string{t})
		if err != nil {
			return ""
		}
		if _, ok := l[group]; ok {
			return t
		}
	}
	return ""
}

// consumerSessionTimeout reads the broker's group.consumer.session.timeout.ms
// (KIP-848's session timeout), -1 when it cannot.
func consumerSessionTimeout(ctx context.Context, brokers []string, clientOpts ...kgo.Opt) float64 {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, clientOpts...)...)
	if err != nil {
		return -1
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	meta, err := adm.BrokerMetadata(ctx)
	if err != nil || len(meta.Brokers) == 0 {
		return -1
	}
	rc, err := adm.DescribeBrokerConfigs(ctx, meta.Brokers[0].NodeID)
	if err != nil {
		return -1
	}
	for _, r := range rc {
		for _, c := range r.Configs {
			if c.Key == "group.consumer.session.timeout.ms" && c.Value != nil {
				if v, err := strconv.ParseFloat(*c.Value, 64); err == nil {
					return v
				}
			}
		}
	}
	return -1
}
