// One cell: fresh topics, three member processes, a settled group, the
// seeded stream at a fixed rate with the event in its middle, the drain
// (every record processed), the stop, and the metrics from the members'
// logs.

package group

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/lab/workload"
)

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
	topics, partitions, err := createTopics(ctx, adm, cell.Topics)
	if err != nil {
		return fail(err)
	}
	if !cfg.Keep {
		defer deleteCell(ctx, adm, topics, base)
	}

	session := cfg.SessionTimeout
	if Protocol(spec.assignor) == "consumer" {
		session = cfg.consumerSession
	}
	o := &orchestra{cfg: cfg, session: session, procs: map[string]*member{}, params: MemberParams{
		Brokers: cfg.Brokers, Group: base, Topics: topics, Assignor: spec.assignor, Kind: spec.member,
		Static: spec.event == "restart-static", Work: cfg.Work, SessionTimeout: cfg.SessionTimeout,
	}}
	run := &cellRun{cfg: cfg, cell: &cell, o: o, start: time.Now()}
	// Whatever happened, the metrics are what the log held.
	defer func() {
		o.stopAll(ctx)
		run.finish(partitions)
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
	if err := run.play(ctx, cl, spec.event); err != nil {
		return fail(err)
	}
	return cell
}

// cellRun is one cell under way: its processes, the moments its metrics are
// computed over (the window) and the marks of its timeline.
type cellRun struct {
	cfg   Config
	cell  *Cell
	o     *orchestra
	start time.Time
	w     window
	marks []Mark
}

func (c *cellRun) mark(label string) {
	c.marks = append(c.marks, Mark{At: time.Since(c.start).Seconds(), Label: label})
}

// play runs the stream with the event in it, then waits until every record
// was processed.
func (c *cellRun) play(ctx context.Context, cl *kgo.Client, event string) error {
	streamStart := time.Now()
	c.w.streamStart = streamStart.UnixNano()
	c.mark("stream starts")
	var streamEnd atomic.Int64 // when the last record was acknowledged
	produced := c.stream(ctx, cl, streamStart, &streamEnd)

	if err := sleep(ctx, time.Until(streamStart.Add(c.cfg.EventAt))); err != nil {
		return err
	}
	c.w.event = time.Now().UnixNano()
	if err := c.o.event(ctx, event, c.cell.Victim, c.mark); err != nil {
		_ = c.o.waitProduced(ctx, produced)
		c.w.streamEnd = streamEnd.Load()
		return err
	}
	if err := c.o.waitProduced(ctx, produced); err != nil {
		return fmt.Errorf("produce the stream: %w", err)
	}
	c.w.streamEnd = streamEnd.Load()
	c.marks = append(c.marks, Mark{At: float64(c.w.streamEnd-c.start.UnixNano()) / 1e9, Label: "stream ends"})
	return c.drain(ctx)
}

// stream produces record i at start + i/rate; the channel gets the first
// produce error (or nil) once every record was acknowledged, after end is
// set.
func (c *cellRun) stream(ctx context.Context, cl *kgo.Client, start time.Time, end *atomic.Int64) <-chan error {
	produced := make(chan error, 1)
	go func() {
		var perr error
		var once sync.Once
		var wg sync.WaitGroup
		for i := range c.cell.Produced {
			at := start.Add(time.Duration(float64(i) / float64(c.cfg.Rate) * float64(time.Second)))
			if d := time.Until(at); d > 0 {
				if err := sleep(ctx, d); err != nil {
					perr = err
					break
				}
			}
			wg.Add(1)
			cl.Produce(ctx, streamRecord(c.cfg.Seed, i, c.cell.Topics), func(_ *kgo.Record, err error) {
				if err != nil {
					once.Do(func() { perr = err })
				}
				wg.Done()
			})
		}
		wg.Wait()
		end.Store(time.Now().UnixNano())
		produced <- perr
	}()
	return produced
}

// drain waits until every record of the stream was processed once at
// least.
func (c *cellRun) drain(ctx context.Context) error {
	deadline := time.Now().Add(c.cfg.Drain)
	for {
		if err := c.o.unexpected(); err != nil {
			return err
		}
		seen := map[int64]bool{}
		for _, e := range c.o.snapshot() {
			if e.Kind == "p" {
				seen[e.Seq] = true
			}
		}
		if len(seen) >= c.cell.Produced {
			c.w.drained = time.Now().UnixNano()
			return nil
		}
		if time.Now().After(deadline) {
			c.w.drained = time.Now().UnixNano()
			return fmt.Errorf("%d of %d records still unprocessed %s after the stream ended", c.cell.Produced-len(seen), c.cell.Produced, c.cfg.Drain)
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

// finish computes the cell's times, metrics and timeline from the log, the
// moments the cell did not reach standing in for one another.
func (c *cellRun) finish(partitions []string) {
	w := &c.w
	w.entries, w.partitions, w.produced, w.start = c.o.snapshot(), partitions, c.cell.Produced, c.start.UnixNano()
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
	c.cell.StreamStartSec, c.cell.StreamEndSec, c.cell.DrainedSec = sec(w.streamStart), sec(w.streamEnd), sec(w.drained)
	for _, e := range w.entries {
		if e.Kind == "exit" && e.T <= w.drained {
			c.marks = append(c.marks, Mark{At: sec(e.T), Label: e.Slot + " exits"})
		}
	}
	sort.SliceStable(c.marks, func(i, j int) bool { return c.marks[i].At < c.marks[j].At })
	c.cell.Metrics = analyze(*w)
	c.cell.Timeline = w.timeline(c.marks)
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
