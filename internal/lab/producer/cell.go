package producer

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/clientsec"
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
			if err := sleep(ctx, 10*time.Millisecond); err != nil {
				return err
			}
		}
		fr.note("fault %s at record %d", spec.Fault, w.produced.Load())
		if err := fr.apply(ctx, spec.Fault, victim, order, cfg.Freeze); err != nil {
			return err
		}
		return sleep(ctx, cfg.Tail)
	}()
	sent, flushed := w.finish(cfg.Flush)
	fr.note("producers stopped: %d records sent", len(sent))
	c.Events, c.Flushed = fr.events, flushed
	if ferr != nil {
		return c, ferr
	}

	if err := cl.settle(ctx, c.Topic); err != nil {
		return c, err
	}
	recs, err := workload.ReadAll(ctx, cl.seeds, c.Topic, cl.opts...)
	if err != nil {
		return c, err
	}
	got := make([]Got, 0, len(recs))
	for _, r := range recs {
		got = append(got, gotOf(r.Partition, r.Offset, r.Value))
	}
	c.Counts = Count(sent, got)
	if len(cl.opts) > 0 && cfg.Security.Librdkafka == nil {
		c.Kcat = KcatCheck{Note: fmt.Sprintf("kcat cannot take these TLS/SASL settings (%v): not cross-checked", cfg.Security.AnchorErr)}
	} else {
		c.Kcat = kcatCheck(ctx, cl.seeds, cfg.Security.Librdkafka, c.Topic, sent, c.Counts)
	}
	c.Consumer = cons.check(ctx, got, cfg.ConsumerTimeout)
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
	timing = []string{"sent", "acked_lost", "duplicated", "reordered", "failed_present", "unreported", "errors"}
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

// check waits until the consumer processed every identity the topic holds
// (or made no progress for limit), then compares.
func (k *consumer) check(ctx context.Context, got []Got, limit time.Duration) ConsumerCheck {
	want := map[ID]bool{}
	for _, g := range got {
		if g.Producer >= 0 {
			want[g.ID] = true
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
	cc := ConsumerCheck{Calls: k.calls, Missed: last, CaughtUp: last == 0}
	for id := range k.seen {
		cc.Processed++
		if !want[id] {
			cc.NotInTopic++
		}
	}
	return cc
}

func (k *consumer) stop() {
	k.cancel()
	<-k.done
}

// kcatCheck reads the topic again with kcat (librdkafka, an independent
// client) and counts the same things; Agrees when records, lost and
// duplicated match franz-go's read.
// security (librdkafka properties, the password among them) goes in a 0600
// file given with -F, never on the command line.
func kcatCheck(ctx context.Context, seeds []string, security map[string]string, topic string, sent []Sent, ours Counts) KcatCheck {
	bin, err := exec.LookPath("kcat")
	if err != nil {
		return KcatCheck{Note: "kcat not found on PATH: not cross-checked"}
	}
	kctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	args := []string{"-C", "-b", strings.Join(seeds, ","), "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%p %o %s\n"}
	if security != nil {
		f, err := clientsec.WriteProperties(security, false)
		if err != nil {
			return KcatCheck{Note: "kcat: " + err.Error()}
		}
		defer os.Remove(f)
		args = append(args, "-F", f)
	}
	cmd := exec.CommandContext(kctx, bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		note := fmt.Sprintf("kcat failed: %v %s", err, trunc(strings.TrimSpace(stderr.String()), 200))
		if strings.HasPrefix(security["sasl.mechanisms"], "SCRAM") {
			// librdkafka#4895: Kafka 4 checks the SCRAM nonce strictly.
			note += " (librdkafka before 2.6.1 cannot log in with SCRAM to Kafka 4.x; PLAIN works)"
		}
		return KcatCheck{Note: note}
	}
	var got []Got
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), " ", 3)
		if len(f) != 3 {
			continue
		}
		p, _ := strconv.Atoi(f[0])
		o, _ := strconv.ParseInt(f[1], 10, 64)
		got = append(got, gotOf(int32(p), o, []byte(f[2])))
	}
	k := Count(sent, got)
	kc := KcatCheck{Ran: true, Records: k.Records, AckedLost: k.AckedLost, Duplicated: k.Duplicated,
		Agrees: k.Records == ours.Records && k.AckedLost == ours.AckedLost && k.Duplicated == ours.Duplicated}
	if !kc.Agrees {
		kc.Note = fmt.Sprintf("kcat read %d records (lost %d, dup %d), franz-go %d (lost %d, dup %d)",
			k.Records, k.AckedLost, k.Duplicated, ours.Records, ours.AckedLost, ours.Duplicated)
	}
	return kc
}
