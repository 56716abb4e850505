package parallel_test

// The helpers of every test file in this package, in one place.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kpar/kpar/parallel"
	"github.com/kpar/kpar/parallel/internal/testkit"
)

// cluster abstracts kfake and a real broker so each behaviour test runs on both.
type cluster struct {
	seeds []string
	real  bool
}

func fake(t *testing.T) cluster { return cluster{seeds: testkit.Kfake(t)} }

func realBroker(t *testing.T) cluster { return cluster{seeds: testkit.Brokers(t), real: true} }

// produce writes n records to topic across its partitions; record i has key
// "k<i%keys>" and value "<i>". opts add to the producer's (e.g. roundRobin).
func produce(t *testing.T, seeds []string, topic string, n, keys int, opts ...kgo.Opt) {
	t.Helper()
	cl := testkit.Client(t, seeds, append([]kgo.Opt{kgo.DefaultProduceTopic(topic)}, opts...)...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rs := make([]*kgo.Record, 0, n)
	for i := 0; i < n; i++ {
		rs = append(rs, &kgo.Record{Key: []byte("k" + strconv.Itoa(i%keys)), Value: []byte(strconv.Itoa(i))})
	}
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// seen records handler calls per value, and per key the order of values.
type seen struct {
	mu    sync.Mutex
	count map[string]int
	order map[string][]int
}

func newSeen() *seen { return &seen{count: map[string]int{}, order: map[string][]int{}} }

func (s *seen) add(r *kgo.Record) {
	v, _ := strconv.Atoi(string(r.Value))
	s.mu.Lock()
	s.count[string(r.Value)]++
	s.order[string(r.Key)+"/"+strconv.Itoa(int(r.Partition))] = append(s.order[string(r.Key)+"/"+strconv.Itoa(int(r.Partition))], v)
	s.mu.Unlock()
}

func (s *seen) distinct() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.count)
}

func (s *seen) waitDistinct(t *testing.T, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for s.distinct() < n {
		if time.Now().After(deadline) {
			t.Fatalf("saw %d distinct records, want %d", s.distinct(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func run(t *testing.T, c *parallel.Consumer) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-errc:
			case <-time.After(60 * time.Second):
				err = errors.New("Run did not return within 60s of cancel")
			}
			c.Close()
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

// newConsumer builds a consumer on seeds with fast test settings (100 ms
// commits, heartbeats and fetch waits; diagnostics to t.Logf), then opts.
func newConsumer(t *testing.T, seeds []string, group string, h parallel.Handler, topics []string, opts ...parallel.Opt) *parallel.Consumer {
	t.Helper()
	kopts := []kgo.Opt{kgo.SeedBrokers(seeds...), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topics...),
		kgo.FetchMaxWait(100 * time.Millisecond), kgo.HeartbeatInterval(100 * time.Millisecond)}
	base := []parallel.Opt{parallel.ClientOpts(kopts...), parallel.CommitInterval(100 * time.Millisecond),
		parallel.Logf(t.Logf)}
	c, err := parallel.New(h, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sumCommitted(t *testing.T, seeds []string, group string) int64 {
	var sum int64
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	os, err := testkit.Admin(t, seeds).FetchOffsets(ctx, group)
	if err != nil {
		return -1 // e.g. the group does not exist yet
	}
	os.Each(func(o kadm.OffsetResponse) {
		if o.At > 0 {
			sum += o.At
		}
	})
	return sum
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// consumeAll reads every record of topic from the start with a plain client.
func consumeAll(t *testing.T, seeds []string, topic string, want int) []*kgo.Record {
	t.Helper()
	cl := testkit.Client(t, seeds, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records from %s", len(out), want, topic)
		}
		out = append(out, fs.Records()...)
	}
	return out
}

// roundRobin spreads produced records evenly over partitions.
var roundRobin = kgo.RecordPartitioner(kgo.RoundRobinPartitioner())

// kfakeCluster starts a kfake cluster whose handle the test keeps, for fault
// injection with ControlKey. topic gets the given partition count.
func kfakeCluster(t *testing.T, topic string, partitions int32, opts ...kfake.Opt) (*kfake.Cluster, []string) {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(partitions, topic)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, c.ListenAddrs()
}

// logLines collects the library's Logf lines.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logf(format string, args ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, strings.TrimSpace(fmt.Sprintf(format, args...)))
	l.mu.Unlock()
}

func (l *logLines) contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

// committedOffsets returns the group's committed offset per partition of topic
// (absent: nothing committed), and the metadata per partition.
func committedOffsets(t *testing.T, seeds []string, group, topic string) (map[int32]int64, map[int32]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offs, err := testkit.Admin(t, seeds).FetchOffsets(ctx, group)
	at, meta := map[int32]int64{}, map[int32]string{}
	if err != nil {
		return at, meta // e.g. no such group yet
	}
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic && o.Err == nil && o.At >= 0 {
			at[o.Partition] = o.At
			meta[o.Partition] = o.Metadata
		}
	})
	return at, meta
}

func sumOffsets(m map[int32]int64) int64 {
	var s int64
	for _, v := range m {
		s += v
	}
	return s
}

// injectCommitFault makes kfake answer OffsetCommit requests with every
// partition failing with code while fail() is true; it counts the failed
// requests and records the committed offsets of the ones let through.
type commitFault struct {
	mu     sync.Mutex
	failed int
	passed []map[int32]int64
}

func injectCommitFault(c *kfake.Cluster, code int16, fail func() bool) *commitFault {
	f := &commitFault{}
	c.ControlKey(int16(kmsg.OffsetCommit), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		req := kreq.(*kmsg.OffsetCommitRequest)
		if !fail() {
			m := map[int32]int64{}
			for _, t := range req.Topics {
				for _, p := range t.Partitions {
					m[p.Partition] = p.Offset
				}
			}
			f.mu.Lock()
			f.passed = append(f.passed, m)
			f.mu.Unlock()
			return nil, nil, false
		}
		resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
		for _, t := range req.Topics {
			rt := kmsg.NewOffsetCommitResponseTopic()
			rt.Topic, rt.TopicID = t.Topic, t.TopicID
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetCommitResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p.Partition, code
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		f.mu.Lock()
		f.failed++
		f.mu.Unlock()
		return resp, nil, true
	})
	return f
}

func (f *commitFault) counts() (failed, passed int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed, len(f.passed)
}
