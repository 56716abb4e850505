package parallel_test

// Helpers of the *_extra_test.go files. They are prefixed with x so that
// they never collide with the helpers of the other test files.

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kpar/kpar/internal/testkit"
	"github.com/kpar/kpar/parallel"
	"github.com/kpar/kpar/parallel/kprom"
)

// xCluster starts a kfake cluster whose handle the test keeps, for fault
// injection with ControlKey. topic gets the given partition count.
func xCluster(t *testing.T, topic string, partitions int32, opts ...kfake.Opt) (*kfake.Cluster, []string) {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(partitions, topic)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, c.ListenAddrs()
}

// xProduce writes n records to topic, round-robin over its partitions.
// Record i has key "k<i%keys>" and value "<i>".
func xProduce(t *testing.T, seeds []string, topic string, n, keys int) {
	t.Helper()
	cl := testkit.Client(t, seeds, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rs := make([]*kgo.Record, 0, n)
	for i := 0; i < n; i++ {
		rs = append(rs, &kgo.Record{Key: []byte("k" + strconv.Itoa(i%keys)), Value: []byte(strconv.Itoa(i))})
	}
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// xLog collects the library's Logf lines.
type xLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *xLog) logf(format string, args ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, strings.TrimSpace(fmt.Sprintf(format, args...)))
	l.mu.Unlock()
}

func (l *xLog) contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

// xNew builds a consumer on seeds with fast test settings (100ms commits
// and heartbeats), then opts.
func xNew(t *testing.T, seeds []string, group string, h parallel.Handler, topics []string, opts ...parallel.Opt) *parallel.Consumer {
	t.Helper()
	kopts := []kgo.Opt{kgo.SeedBrokers(seeds...), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topics...),
		kgo.FetchMaxWait(100 * time.Millisecond), kgo.HeartbeatInterval(100 * time.Millisecond)}
	base := []parallel.Opt{parallel.ClientOpts(kopts...), parallel.CommitInterval(100 * time.Millisecond)}
	c, err := parallel.New(h, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// xCommitted returns the group's committed offset per partition of topic
// (absent: nothing committed), and the metadata per partition.
func xCommitted(t *testing.T, seeds []string, group, topic string) (map[int32]int64, map[int32]string) {
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

func xSum(m map[int32]int64) int64 {
	var s int64
	for _, v := range m {
		s += v
	}
	return s
}

// xCollect registers c's kprom collector on a fresh pedantic registry (which
// checks every metric's consistency on each gather) and returns it.
func xCollect(t *testing.T, c *parallel.Consumer) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(kprom.NewCollector(c))
	return reg
}

// xMetric sums every series of the metric family name in reg (for a
// histogram: its sample count). ok is false when the family is absent.
func xMetric(t *testing.T, reg prometheus.Gatherer, name string) (v float64, ok bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			v += m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
		}
		return v, true
	}
	return 0, false
}

// xInjectCommitFault makes kfake answer OffsetCommit requests with every
// partition failing with code while fail() is true; it counts the failed
// requests and records the committed offsets of the ones let through.
type xCommitFault struct {
	mu     sync.Mutex
	failed int
	passed []map[int32]int64
}

func xInjectCommitFault(c *kfake.Cluster, code int16, fail func() bool) *xCommitFault {
	f := &xCommitFault{}
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

func (f *xCommitFault) counts() (failed, passed int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed, len(f.passed)
}
