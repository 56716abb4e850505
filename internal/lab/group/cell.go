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

	"github.com/kpar/kpar/internal/kafka"
	"github.com/kpar/kpar/internal/lab/labrun"
	"github.com/kpar/kpar/internal/lab/workload"
)

// runCell runs cell (its event, assignor and member set); every failure is
// recorded in it.
func runCell(ctx context.Context, cfg Config, cell Cell) Cell {
	cell.Protocol, cell.Seed, cell.Rate, cell.WorkMs, cell.EventAtSec = Protocol(cell.Assignor), cfg.Seed, cfg.Rate, ms(cfg.Work), cfg.EventAt.Seconds()
	cell.Produced = int(float64(cfg.Rate) * cfg.Duration.Seconds())
	cell.Repeats = repeats
	if cell.Event != "join" {
		cell.Victim = victim(cfg.Seed, cell.Name())
	}
	if err := cellOn(ctx, cfg, &cell); err != nil {
		cell.Error = err.Error()
	}
	return cell
}

func cellOn(ctx context.Context, cfg Config, cell *Cell) error {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(cfg.Brokers...), kgo.ProducerLinger(0),
		// A broker that stops answering fails the stream's records after
		// the drain timeout instead of retrying them forever.
		kgo.RecordDeliveryTimeout(cfg.Drain)}, cfg.clientOpts...)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	base := fmt.Sprintf("kpar-group-%s-%s-%s-%d-%d", cell.Event, cell.Assignor, cell.Member, cfg.Seed, time.Now().UnixNano()%1e9)
	cell.Topics = []TopicSpec{{base + "-orders", cfg.Orders}, {base + "-payments", cfg.Payments}}
	var ts []kafka.Topic
	var topics, partitions []string
	for _, t := range cell.Topics {
		ts, topics = append(ts, kafka.Topic{Name: t.Name, Partitions: t.Partitions}), append(topics, t.Name)
		for n := range t.Partitions {
			partitions = append(partitions, partKey(t.Name, int32(n)))
		}
	}
	if _, err := kafka.Create(ctx, adm, ts); err != nil {
		return err
	}
	if !cfg.Keep {
		defer func() {
			// The topics and the group go even once ctx is done.
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
			defer cancel()
			_ = kafka.Delete(ctx, adm, topics...)
			_, _ = adm.DeleteGroup(dctx, base)
		}()
	}

	session := cfg.SessionTimeout
	if cell.Protocol == "consumer" {
		session = cfg.consumerSession
	}
	o := &orchestra{cfg: cfg, session: session, procs: map[string]*member{}, params: MemberParams{
		Brokers: cfg.Brokers, Group: base, Topics: topics, Assignor: cell.Assignor, Kind: cell.Member,
		Static: cell.Event == "restart-static", Work: cfg.Work, SessionTimeout: cfg.SessionTimeout,
	}}
	run := &cellRun{cfg: cfg, cell: cell, o: o, start: time.Now()}
	// Whatever happened, the metrics are what the log held.
	defer func() {
		o.stopAll(ctx)
		run.finish(partitions)
	}()
	for i := range 3 {
		if _, err := o.start(fmt.Sprintf("m%d", i)); err != nil {
			return err
		}
	}
	if err := o.waitSettled(ctx, partitions, 3); err != nil {
		return err
	}
	// kgo falls back to classic on a broker without KIP-848, so the cell
	// says how the broker lists the group.
	l, _ := adm.ListGroups(ctx)
	cell.GroupType = l[base].GroupType
	return run.play(ctx, cl)
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
			if v, err := strconv.ParseFloat(c.MaybeValue(), 64); err == nil && c.Key == "group.consumer.session.timeout.ms" {
				return v
			}
		}
	}
	return -1
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
func (c *cellRun) play(ctx context.Context, cl *kgo.Client) error {
	streamStart := time.Now()
	c.w.streamStart = streamStart.UnixNano()
	c.mark("stream starts")
	var streamEnd atomic.Int64 // when the last record was acknowledged
	produced := c.stream(ctx, cl, streamStart, &streamEnd)

	if err := workload.Sleep(ctx, time.Until(streamStart.Add(c.cfg.EventAt))); err != nil {
		return err
	}
	c.w.event = time.Now().UnixNano()
	if err := c.o.event(ctx, c.cell.Event, c.cell.Victim, c.mark); err != nil {
		_ = c.o.waitProduced(ctx, produced)
		c.w.streamEnd = streamEnd.Load()
		return err
	}
	if err := c.o.waitProduced(ctx, produced); err != nil {
		return fmt.Errorf("produce the stream: %w", err)
	}
	c.w.streamEnd = streamEnd.Load()
	c.marks = append(c.marks, Mark{At: float64(c.w.streamEnd-c.start.UnixNano()) / 1e9, Label: "stream ends"})
	// The drain: every record of the stream processed once at least.
	seen := map[int64]bool{}
	err := c.o.until(ctx, c.cfg.Drain, func() bool {
		for _, e := range c.o.snapshot() {
			if e.Kind == "p" {
				seen[e.Seq] = true
			}
		}
		return len(seen) >= c.cell.Produced
	}, func() error {
		return fmt.Errorf("%d of %d records still unprocessed %s after the stream ended", c.cell.Produced-len(seen), c.cell.Produced, c.cfg.Drain)
	})
	c.w.drained = time.Now().UnixNano()
	return err
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
			if err := workload.Sleep(ctx, time.Until(start.Add(time.Duration(float64(i)/float64(c.cfg.Rate)*float64(time.Second))))); err != nil {
				perr = err
				break
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

// repeats is what a rerun of a cell with the same seed reproduces.
var repeats = labrun.Repeats{Exact: []string{"produced", "victim", "stream"},
	TimingDependent: []string{"group_max_gap_ms", "baseline_gap_ms", "member_gaps", "max_latency_ms", "owned_again_ms", "moved", "revoked",
		"rebalances", "assignment_changes", "duplicated", "lost"},
	Why: "the seed fixes the stream (every record's topic, key and so partition, in order) and the event's victim; " +
		"members join on wall-clock time, member ids (which order range and round-robin sort by) are random, " +
		"and the group protocol moves partitions on heartbeats and timeouts, so every measured count may move " +
		"on a rerun; duplicated depends on how long before the event the victim last committed; lost must be 0 on every run"}
