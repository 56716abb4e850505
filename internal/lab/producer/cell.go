package producer

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/lab/workload"
	"github.com/kpar/kpar/parallel"
)

// runCell runs one setting under one fault on a fresh topic.
func runCell(ctx context.Context, cl *cluster, cfg Config, spec CellSpec) (Cell, error) {
	began := time.Now()
	name := spec.Name()
	seed := CellSeed(cfg.Seed, name)
	ids := cl.nodeIDs()
	victim := ids[workload.Uint64(seed, 3)%uint64(len(ids))]
	var others []int
	for _, id := range ids {
		if id != victim {
			others = append(others, id)
		}
	}
	order := rollingOrder(seed, ids)
	c := Cell{
		Name: name, Setting: spec.Setting, Fault: spec.Fault, Seed: seed, Victim: victim,
		TriggerAt: int(cfg.Warmup.Seconds()*float64(cfg.Rate)) + int(workload.Uint64(seed, 4)%uint64(cfg.Rate)),
	}
	if spec.Fault == FaultRolling {
		c.Order = order
	}
	c.Exact, c.TimingDependent, c.Why = exactness(spec)
	c.Topic = fmt.Sprintf("kpar-lab-producer-%s-%d", strings.NewReplacer("/", "-", "+", "_").Replace(name), time.Now().UnixNano())
	group := c.Topic + "-g"
	if err := cl.createTopic(ctx, c.Topic, cfg.Partitions, victim, others, spec.Setting); err != nil {
		return c, err
	}
	if !cfg.KeepTopics {
		defer cl.deleteTopic(context.WithoutCancel(ctx), c.Topic, group)
	}

	cons, err := startConsumer(ctx, cl.seeds, c.Topic, group, cl.opts...)
	if err != nil {
		return c, err
	}
	defer cons.stop()

	w, err := startWriters(cfg, seed, cl.seeds, c.Topic, spec.Setting)
	if err != nil {
		return c, err
	}
	fr := &faultRun{c: cl, topic: c.Topic, start: time.Now(), log: cfg.progress}
	ferr := func() error {
		for w.produced.Load() < int64(c.TriggerAt) {
			if err := workload.Sleep(ctx, 10*time.Millisecond); err != nil {
				return err
			}
		}
		fr.note("fault %s at record %d", spec.Fault, w.produced.Load())
		if err := fr.apply(ctx, spec.Fault, victim, order, cfg.Freeze); err != nil {
			return err
		}
		return workload.Sleep(ctx, cfg.Tail)
	}()
	sent, flushed := w.finish(cfg.Flush)
	fr.note("producers stopped: %d records sent", len(sent))
	c.Events, c.Flushed = fr.events, flushed
	if ferr != nil {
		return c, ferr
	}

	c.Counts, c.Reads, c.Kcat, c.Consumer, err = readBack(ctx, cl, cfg, c.Topic, sent, cons)
	if err != nil {
		return c, err
	}
	c.Seconds = time.Since(began).Seconds()
	return c, nil
}

// gotOf decodes one record read back; a value that is not the lab's stays
// in the count as an unknown identity.
func gotOf(p int32, o int64, v []byte) Got {
	id, key, seq, err := ParseValue(v)
	if err != nil {
		id = ID{Producer: -1, Index: int(o)}
	}
	return Got{ID: id, Key: key, Seq: seq, Partition: p, Offset: o}
}

// rollingOrder is the seeded order the rolling fault restarts nodes in.
func rollingOrder(seed int64, ids []int) []int {
	out := append([]int(nil), ids...)
	for i := len(out) - 1; i > 0; i-- {
		j := int(workload.Uint64(seed, 5, uint64(i)) % uint64(i+1))
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// exactness says which of a cell's facts repeat from the seed and which
// move with timing, and why.
func exactness(s CellSpec) (exact, timing []string, why string) {
	exact = []string{"records (producer, key, sequence)", "victim node", "partition layout", "trigger record"}
	if s.Fault == FaultRolling {
		exact = append(exact, "rolling order")
	}
	timing = []string{"sent", "lost", "unseen", "disagreed", "duplicated", "reordered", "failed_present", "unreported", "errors"}
	switch s.Fault {
	case FaultNone:
		why = "without a fault only the number of records sent in the fixed time moves."
	case FaultLeaderKill:
		why = "how many acknowledged records the followers had not yet fetched when the leader died, and which requests were on the wire, move by milliseconds."
	case FaultFreeze:
		why = "which requests the frozen leader had queued, and when the controller fenced it, move with scheduling."
	case FaultRolling:
		why = "where the leaderships are when each node stops, and what was on the wire, move with scheduling."
	}
	return exact, timing, why
}

// consumer is the kpar parallel consumer reading the topic during the cell.
type consumer struct {
	c      *parallel.Consumer
	cancel context.CancelFunc
	done   chan error
	mu     sync.Mutex
	seen   map[ID]int
	calls  int
}

func startConsumer(ctx context.Context, seeds []string, topic, group string, clientOpts ...kgo.Opt) (*consumer, error) {
	k := &consumer{seen: map[ID]int{}, done: make(chan error, 1)}
	handle := func(_ context.Context, r *kgo.Record) error {
		id, _, _, err := ParseValue(r.Value)
		k.mu.Lock()
		k.calls++
		if err == nil {
			k.seen[id]++
		}
		k.mu.Unlock()
		return nil
	}
	c, err := parallel.New(handle, parallel.ClientOpts(kgo.SeedBrokers(seeds...), kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())), parallel.ClientOpts(clientOpts...))
	if err != nil {
		return nil, err
	}
	k.c = c
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	k.cancel = cancel
	go func() { k.done <- c.Run(rctx) }()
	return k, nil
}

// check waits until the consumer processed every identity the settled
// reads saw (or made no progress for limit), then compares. It returns the
// identities the consumer handled.
func (k *consumer) check(ctx context.Context, franz, kcat map[ID]bool, limit time.Duration) (ConsumerCheck, map[ID]bool) {
	want := make(map[ID]bool, len(franz))
	for id := range franz {
		want[id] = true
	}
	for id := range kcat {
		want[id] = true
	}
	missing := func() int {
		k.mu.Lock()
		defer k.mu.Unlock()
		n := 0
		for id := range want {
			if k.seen[id] == 0 {
				n++
			}
		}
		return n
	}
	last, since := missing(), time.Now()
	for last > 0 && time.Since(since) < limit && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
		if m := missing(); m != last {
			last, since = m, time.Now()
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	cc := ConsumerCheck{Calls: k.calls, Missed: last, CaughtUp: last == 0}
	seen := make(map[ID]bool, len(k.seen))
	for id := range k.seen {
		seen[id] = true
		cc.Processed++
		if !want[id] {
			cc.NotInTopic++
		}
	}
	return cc, seen
}

func (k *consumer) stop() {
	k.cancel()
	<-k.done
}

// round is one read of the settled topic by franz-go and kcat, compared
// with the parallel consumer.
type round struct {
	ends     map[int32]int64
	note     string // settle's
	got      []Got
	reached  map[int32]int64
	kcat     kcatRead
	consumer ConsumerCheck
	readers  []Reader
	disagree []Disagreement
}

// readBack settles the high watermarks, reads the topic to them with
// franz-go and kcat, and compares both with the parallel consumer. When the
// readers disagree it settles and reads once more; the counts are the last
// round's, the first round's disagreements are kept beside them.
func readBack(ctx context.Context, cl *cluster, cfg Config, topic string, sent []Sent, cons *consumer) (Counts, Reads, KcatCheck, ConsumerCheck, error) {
	once := func() (round, error) {
		var r round
		var err error
		if r.ends, r.note, err = cl.settle(ctx, topic); err != nil {
			return r, err
		}
		if r.got, r.reached, err = readFranzGo(ctx, cl.seeds, topic, r.ends, cl.opts...); err != nil {
			return r, err
		}
		if len(cl.opts) > 0 && cfg.Client.Librdkafka == nil {
			r.kcat = kcatRead{note: fmt.Sprintf("kcat cannot take these TLS/SASL settings (%v): not cross-checked", cfg.Client.AnchorErr)}
		} else {
			r.kcat = readKcat(ctx, cl.seeds, cfg.Client.Librdkafka, topic, r.ends)
		}
		fr := SeenIn(r.got)
		kc := SeenIn(r.kcat.got)
		var seen map[ID]bool
		r.consumer, seen = cons.check(ctx, fr, kc, cfg.ConsumerTimeout)
		r.readers = []Reader{{Name: ReaderFranzGo, Ran: true, Seen: fr}, {Name: ReaderKcat, Ran: r.kcat.ran, Seen: kc},
			{Name: ReaderConsumer, Ran: true, Seen: seen}}
		r.disagree = Disagreements(sent, r.readers...)
		return r, nil
	}
	r, err := once()
	if err != nil {
		return Counts{}, Reads{}, KcatCheck{}, ConsumerCheck{}, err
	}
	parts := cfg.Partitions
	reads := Reads{}
	if len(r.disagree) > 0 {
		reads.Repeated, reads.FirstEnds, reads.First = true, endsSlice(r.ends, parts), r.disagree
		if r, err = once(); err != nil {
			return Counts{}, Reads{}, KcatCheck{}, ConsumerCheck{}, err
		}
	}
	reads.Ends, reads.FranzGo, reads.Disagreements, reads.Note = endsSlice(r.ends, parts), endsSlice(r.reached, parts), r.disagree, r.note
	if reads.Disagreements == nil {
		reads.Disagreements = []Disagreement{}
	}
	kc := KcatCheck{Ran: r.kcat.ran, Note: r.kcat.note}
	if r.kcat.ran {
		reads.Kcat = endsSlice(r.kcat.reached, parts)
		k := Count(sent, r.kcat.got)
		kc.Records, kc.Distinct, kc.Duplicated = k.Records, k.Distinct, k.Duplicated
	}
	return Count(sent, r.got, r.readers[1:]...), reads, kc, r.consumer, nil
}
