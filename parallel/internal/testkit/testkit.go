// Package testkit hands the library's tests a Kafka cluster: the in-process
// kfake for fast unit tests, or a real broker for integration tests. Its
// first helpers (Kfake to Produce) are also in the toolkit's
// internal/testkit, on purpose: the library module imports nothing of the
// toolkit's, and the toolkit cannot import this internal package.
//
// The real broker comes from KPAR_BROKERS (comma-separated host:port), which
// `make test` sets after starting a local broker with `kpar broker up`. The
// same tests therefore run against any cluster. Without KPAR_BROKERS, or under
// `go test -short`, integration tests skip; with KPAR_REQUIRE_BROKER=1 a
// missing broker is a failure instead, so CI can never pass by skipping.
package testkit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/parallel"
)

// EnvBrokers names the environment variable holding a real cluster's seeds.
const EnvBrokers = "KPAR_BROKERS"

// EnvRequire, when "1", turns a missing real broker into a test failure.
const EnvRequire = "KPAR_REQUIRE_BROKER"

// Kfake starts an in-process fake cluster and returns its seed addresses.
// It is closed when the test ends. kfake serialises every request on one
// goroutine: use it for behaviour, never for speed.
func Kfake(t testing.TB, opts ...kfake.Opt) []string {
	t.Helper()
	opts = append([]kfake.Opt{kfake.NumBrokers(1), kfake.DefaultNumPartitions(12)}, opts...)
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// Brokers returns the real cluster's seeds, or skips the test when none is
// configured (fails instead under KPAR_REQUIRE_BROKER=1). It always skips
// under -short.
func Brokers(t testing.TB) []string {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs a real broker (not run with -short)")
	}
	v := strings.TrimSpace(os.Getenv(EnvBrokers))
	if v == "" {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("%s is empty but %s=1: the real broker was not started", EnvBrokers, EnvRequire)
		}
		t.Skipf("integration test: set %s (or run `make test`) to run it against a real broker", EnvBrokers)
	}
	return strings.Split(v, ",")
}

var topicSeq atomic.Int64

// TopicName returns a name unique to this test and process.
func TopicName(t testing.TB) string {
	// A topic name holds only ASCII letters, digits, '.', '_' and '-'
	// (subtests bring '/', ' ', '#'; benchmarks '=' and '%').
	name := strings.Map(func(r rune) rune {
		if r < 128 && (r == '.' || r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return r
		}
		return '-'
	}, t.Name())
	if len(name) > 120 {
		name = name[:120]
	}
	return fmt.Sprintf("kt-%s-%d-%d-%d", name, os.Getpid(), time.Now().UnixNano()%1e6, topicSeq.Add(1))
}

// Topic creates a uniquely named topic with the given partition count and
// replication factor 1, and deletes it when the test ends.
func Topic(t testing.TB, seeds []string, partitions int32) string {
	t.Helper()
	adm := Admin(t, seeds)
	name := TopicName(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := adm.CreateTopic(ctx, partitions, 1, nil, name)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create topic %s: %v", name, err)
	}
	// A created topic reaches the brokers' metadata a moment later; a
	// client that produces before then may run out of its unknown-topic
	// retries on a loaded machine. Wait until every partition has a leader.
	for {
		td, err := adm.ListTopics(ctx, name)
		if d, ok := td[name]; err == nil && ok && d.Err == nil && len(d.Partitions) == int(partitions) &&
			!slices.ContainsFunc(d.Partitions.Sorted(), func(p kadm.PartitionDetail) bool { return p.Leader < 0 || p.Err != nil }) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("topic %s: no leader for every partition within 30s", name)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = adm.DeleteTopics(ctx, name)
	})
	return name
}

// Client returns a franz-go client on seeds with opts, closed at cleanup.
func Client(t testing.TB, seeds []string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(seeds...)}, opts...)...)
	if err != nil {
		t.Fatalf("kgo client: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// Admin returns an admin client on seeds, closed at cleanup.
func Admin(t testing.TB, seeds []string) *kadm.Client {
	t.Helper()
	return kadm.NewClient(Client(t, seeds))
}

// KfakeCluster starts a kfake cluster whose handle the test keeps, for fault
// injection with ControlKey; topic gets the given partition count. It is
// closed when the test ends.
func KfakeCluster(t testing.TB, topic string, partitions int32, opts ...kfake.Opt) (*kfake.Cluster, []string) {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(partitions, topic)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, c.ListenAddrs()
}

// RoundRobin spreads produced records evenly over partitions.
var RoundRobin = kgo.RecordPartitioner(kgo.RoundRobinPartitioner())

// Produce writes n records to topic across its partitions; record i has key
// "k<i%keys>" and value "<i>". opts add to the producer's (e.g. RoundRobin).
func Produce(t testing.TB, seeds []string, topic string, n, keys int, opts ...kgo.Opt) {
	t.Helper()
	cl := Client(t, seeds, append([]kgo.Opt{kgo.DefaultProduceTopic(topic)}, opts...)...)
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

// ProducedTopic creates a topic with the given partition count (see Topic)
// and produces n records to it (see Produce).
func ProducedTopic(t testing.TB, seeds []string, partitions int32, n, keys int, opts ...kgo.Opt) string {
	t.Helper()
	topic := Topic(t, seeds, partitions)
	Produce(t, seeds, topic, n, keys, opts...)
	return topic
}

// Consumer builds a consumer of topics in group on seeds with fast test
// settings (100 ms commits, heartbeats and fetch waits; diagnostics to
// t.Logf), then opts.
func Consumer(t testing.TB, seeds []string, group string, h parallel.Handler, topics []string, opts ...parallel.Opt) *parallel.Consumer {
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

// Run runs c until stop, which cancels Run, waits for it (60 s at most),
// closes c and returns Run's error; stop runs at cleanup too.
func Run(t testing.TB, c *parallel.Consumer) (stop func() error) {
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

// RunUntil runs c until cond holds (failing the test after within, as
// WaitFor), then stops it; a Run error fails the test.
func RunUntil(t testing.TB, c *parallel.Consumer, within time.Duration, what string, cond func() bool) {
	t.Helper()
	stop := Run(t, c)
	WaitFor(t, within, what, cond)
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// WaitFor polls cond until it holds, failing the test after within.
func WaitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// CommittedOffsets returns the group's committed offset per partition of
// topic (absent: nothing committed), and the metadata per partition.
func CommittedOffsets(t testing.TB, seeds []string, group, topic string) (map[int32]int64, map[int32]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offs, err := Admin(t, seeds).FetchOffsets(ctx, group)
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

// SumOffsets adds up a partition-to-offset map.
func SumOffsets(m map[int32]int64) int64 {
	var s int64
	for _, v := range m {
		s += v
	}
	return s
}

// Attempts counts handler calls per record value (records produced by
// Produce carry an integer value).
type Attempts struct {
	mu sync.Mutex
	n  map[int]int
}

// Next counts a call for r and returns r's value and which call this is
// for it (1: the first).
func (a *Attempts) Next(r *kgo.Record) (v, attempt int) {
	v, _ = strconv.Atoi(string(r.Value))
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n == nil {
		a.n = map[int]int{}
	}
	a.n[v]++
	return v, a.n[v]
}

// Of returns how many calls the record of value v had.
func (a *Attempts) Of(v int) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n[v]
}
