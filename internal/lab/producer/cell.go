package producer

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/lab/labrun"
	"github.com/kpar/kpar/internal/lab/workload"
	"github.com/kpar/kpar/parallel"
)

// runCell runs one setting under one fault on a fresh topic.
func runCell(ctx context.Context, cl *cluster, cfg Config, spec CellSpec) (Cell, error) {
	began := time.Now()
	name := spec.Name()
	seed := CellSeed(cfg.Seed, name)
	victim := cl.ids[workload.Uint64(seed, 3)%uint64(len(cl.ids))]
	others := slices.DeleteFunc(slices.Clone(cl.ids), func(id int) bool { return id == victim })
	order := rollingOrder(seed, cl.ids)
	c := Cell{
		Name: name, Setting: spec.Setting, Fault: spec.Fault, Seed: seed, Victim: victim,
		TriggerAt: int(cfg.Warmup.Seconds()*float64(cfg.Rate)) + int(workload.Uint64(seed, 4)%uint64(cfg.Rate)),
	}
	if spec.Fault == FaultRolling {
		c.Order = order
	}
	c.Repeats = repeatsOf(spec)
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
	if err := readBack(ctx, cl, cfg, &c, sent, cons); err != nil {
		return c, err
	}
	c.Seconds = time.Since(began).Seconds()
	return c, nil
}

// repeatsOf says which of a cell's facts repeat from the seed and which move
// with timing, and why.
func repeatsOf(s CellSpec) labrun.Repeats {
	r := labrun.Repeats{Exact: []string{"records (producer, key, sequence)", "victim node", "partition layout", "trigger record"},
		TimingDependent: []string{"sent", "lost", "unseen", "disagreed", "duplicated", "reordered", "failed_present", "unreported", "errors"},
		Why:             faultWhy[s.Fault]}
	if s.Fault == FaultRolling {
		r.Exact = append(r.Exact, "rolling order")
	}
	return r
}

var faultWhy = map[string]string{
	FaultNone:       "without a fault only the number of records sent in the fixed time moves.",
	FaultLeaderKill: "how many acknowledged records the followers had not yet fetched when the leader died, and which requests were on the wire, move by milliseconds.",
	FaultFreeze:     "which requests the frozen leader had queued, and when the controller fenced it, move with scheduling.",
	FaultRolling:    "where the leaderships are when each node stops, and what was on the wire, move with scheduling.",
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
	out := slices.Clone(ids)
	for i := len(out) - 1; i > 0; i-- {
		j := int(workload.Uint64(seed, 5, uint64(i)) % uint64(i+1))
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// consumer is the kpar parallel consumer reading the topic during the cell.
type consumer struct {
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
		defer k.mu.Unlock()
		k.calls++
		if err == nil {
			k.seen[id]++
		}
		return nil
	}
	c, err := parallel.New(handle, parallel.ClientOpts(kgo.SeedBrokers(seeds...), kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())), parallel.ClientOpts(clientOpts...))
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	k.cancel = cancel
	go func() { k.done <- c.Run(rctx) }()
	return k, nil
}

// check waits until the consumer processed every identity the settled
// reads saw (or made no progress for limit), then compares. It returns the
// identities the consumer handled.
func (k *consumer) check(ctx context.Context, franz, kcat map[ID]bool, limit time.Duration) (ConsumerCheck, map[ID]bool) {
	want := map[ID]bool{}
	for _, m := range []map[ID]bool{franz, kcat} {
		for id := range m {
			want[id] = true
		}
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
	cc := ConsumerCheck{Calls: k.calls, Missed: last, CaughtUp: last == 0, Processed: len(k.seen)}
	seen := make(map[ID]bool, len(k.seen))
	for id := range k.seen {
		seen[id] = true
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

// readBack settles the high watermarks, reads the topic to them with
// franz-go and kcat, and compares both with the parallel consumer, into c.
// When the readers disagree it settles and reads once more; the counts are
// the last round's, the first round's disagreements are kept beside them.
func readBack(ctx context.Context, cl *cluster, cfg Config, c *Cell, sent []Sent, cons *consumer) error {
	var got []Got
	var ends, reached map[int32]int64
	var kc kcatRead
	var readers []Reader
	parts := cfg.Partitions
	for round := 0; round < 2; round++ {
		var err error
		if ends, c.Reads.Note, err = cl.settle(ctx, c.Topic); err != nil {
			return err
		}
		if got, reached, err = readFranzGo(ctx, cl.seeds, c.Topic, ends, cl.opts...); err != nil {
			return err
		}
		if len(cl.opts) > 0 && cfg.Client.Librdkafka == nil {
			kc = kcatRead{note: fmt.Sprintf("kcat cannot take these TLS/SASL settings (%v): not cross-checked", cfg.Client.AnchorErr)}
		} else {
			kc = readKcat(ctx, cl.seeds, cfg.Client.Librdkafka, c.Topic, ends)
		}
		fr, ks := SeenIn(got), SeenIn(kc.got)
		var seen map[ID]bool
		c.Consumer, seen = cons.check(ctx, fr, ks, cfg.ConsumerTimeout)
		readers = []Reader{{Name: ReaderFranzGo, Ran: true, Seen: fr}, {Name: ReaderKcat, Ran: kc.ran, Seen: ks},
			{Name: ReaderConsumer, Ran: true, Seen: seen}}
		c.Reads.Disagreements = Disagreements(sent, readers...)
		if len(c.Reads.Disagreements) == 0 || round == 1 {
			break
		}
		c.Reads.Repeated, c.Reads.FirstEnds, c.Reads.First = true, endsSlice(ends, parts), c.Reads.Disagreements
	}
	c.Reads.Ends, c.Reads.FranzGo = endsSlice(ends, parts), endsSlice(reached, parts)
	if c.Reads.Disagreements == nil {
		c.Reads.Disagreements = []Disagreement{}
	}
	c.Kcat = KcatCheck{Ran: kc.ran, Note: kc.note}
	if kc.ran {
		c.Reads.Kcat = endsSlice(kc.reached, parts)
		k := Count(sent, kc.got)
		c.Kcat.Records, c.Kcat.Distinct, c.Kcat.Duplicated = k.Records, k.Distinct, k.Duplicated
	}
	c.Counts = Count(sent, got, readers[1:]...)
	return nil
}
