package parallel_test

// The helpers of every test file in this package, in one place.

import (
	"context"
	"fmt"
	"slices"
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

// bothClusters runs f in a subtest on kfake and in one on the real broker
// (which skips, or fails under KPAR_REQUIRE_BROKER=1, without one).
func bothClusters(t *testing.T, f func(t *testing.T, cl cluster)) {
	t.Run("kfake", func(t *testing.T) { f(t, fake(t)) })
	t.Run("real", func(t *testing.T) { f(t, realBroker(t)) })
}

// noop is a handler that does nothing.
func noop(context.Context, *kgo.Record) error { return nil }

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

// onceEachInKeyOrder fails the test unless every record seen was handled
// exactly once, and each key's records (per partition) in offset order.
func (s *seen) onceEachInKeyOrder(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for v, k := range s.count {
		if k != 1 {
			t.Errorf("record %s handled %d times", v, k)
		}
	}
	for key, vs := range s.order {
		if !slices.IsSorted(vs) {
			t.Errorf("key %s ran out of order: %v", key, vs)
		}
	}
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

// runDeadLettering runs c until s has seen ok distinct records and dlq
// holds dead records, then stops it (a Run error fails the test) and
// returns the dead letters.
func runDeadLettering(t *testing.T, c *parallel.Consumer, s *seen, seeds []string, dlq string, ok, dead int) []*kgo.Record {
	t.Helper()
	stop := testkit.Run(t, c)
	s.waitDistinct(t, ok, 60*time.Second)
	rs := consumeAll(t, seeds, dlq, dead)
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	return rs
}

// list is a slice that handlers and observers append to concurrently.
type list[T any] struct {
	mu    sync.Mutex
	items []T
}

func (l *list[T]) add(v T) {
	l.mu.Lock()
	l.items = append(l.items, v)
	l.mu.Unlock()
}

// all returns a copy of what was added so far.
func (l *list[T]) all() []T {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.items)
}

// receive returns the next value from ch (the zero value once it is closed),
// failing the test with failure when none comes within d.
func receive[T any](t *testing.T, ch <-chan T, d time.Duration, failure string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatal(failure)
		panic("unreachable")
	}
}

// logLines collects the library's Logf lines.
type logLines struct{ list[string] }

func (l *logLines) logf(format string, args ...any) {
	l.add(strings.TrimSpace(fmt.Sprintf(format, args...)))
}

func (l *logLines) contains(s string) bool {
	return slices.ContainsFunc(l.all(), func(line string) bool { return strings.Contains(line, s) })
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
