// Package testkit hands tests a Kafka cluster: the in-process kfake for fast
// unit tests, or a real broker for integration tests.
//
// The real broker comes from KPAR_BROKERS (comma-separated host:port), which
// `make test` sets after starting a local broker with `kpar broker up`. The
// same tests therefore run against any cluster. Without KPAR_BROKERS, or under
// `go test -short`, integration tests skip; with KPAR_REQUIRE_BROKER=1 a
// missing broker is a failure instead, so CI can never pass by skipping.
// The library module keeps its own copy of the cluster helpers, in
// parallel/internal/testkit (it imports nothing of this module).
package testkit

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/kafka"
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
	return KfakeCluster(t, append([]kfake.Opt{kfake.NumBrokers(1), kfake.DefaultNumPartitions(12)}, opts...)...).ListenAddrs()
}

// KfakeCluster starts an in-process fake cluster with kfake's defaults and
// opts, for a test that steers it (ControlKey) or stops it (Close, which
// may come before the test ends, where it is closed).
func KfakeCluster(t testing.TB, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c
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

// EachCluster runs test in a subtest on kfake ("kfake") and in one on the
// real broker ("broker", which skips or fails as Brokers says).
func EachCluster(t *testing.T, test func(t *testing.T, seeds []string)) {
	t.Helper()
	t.Run("kfake", func(t *testing.T) { test(t, Kfake(t)) })
	t.Run("broker", func(t *testing.T) { test(t, Brokers(t)) })
}

// Unavailable ends a test whose real part cannot run here (no java, mvn,
// javac or kcat, a busy port, a cluster that did not come up): a skip
// locally, a failure under KPAR_REQUIRE_BROKER=1, where `make test` and CI
// promise that every integration test runs. Under -short it always skips.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if !testing.Short() && os.Getenv(EnvRequire) == "1" {
		t.Fatalf("%s, and %s=1: this test must run", msg, EnvRequire)
	}
	t.Skip(msg)
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
	if _, err := kafka.Create(ctx, adm, []kafka.Topic{{Name: name, Partitions: int(partitions), RF: 1}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kafka.Delete(context.Background(), adm, name) })
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

// Produce writes n records to topic across its partitions; record i has key
// "k<i%keys>" and value "<i>". opts add to the producer's.
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
