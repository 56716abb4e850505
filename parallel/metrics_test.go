package parallel_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/parallel"
)

// After a known mix of outcomes the collector reports exactly those counts:
// of n records, those with value%25 == 0 always fail (2 attempts, then the
// dead-letter topic); those with value%10 == 3 fail their first attempt only.
// The expected numbers are derived from the produced values, not hard-coded.
// A pedantic registry also checks the collector's descriptors.
func TestMetricsCountCompletedFailedRetriedAndDeadLettered(t *testing.T) {
	const topic, dlt, n, parts = "t", "dlt", 400, 3
	_, seeds := kfakeCluster(t, topic, parts, kfake.SeedTopics(1, dlt))
	produce(t, seeds, topic, n, 40, roundRobin)

	var wantDead, wantFlaky int
	for v := 0; v < n; v++ {
		switch {
		case v%25 == 0:
			wantDead++
		case v%10 == 3:
			wantFlaky++
		}
	}
	var (
		mu       sync.Mutex
		attempts = map[int]int{}
	)
	h := func(ctx context.Context, r *kgo.Record) error {
		v, _ := strconv.Atoi(string(r.Value))
		mu.Lock()
		attempts[v]++
		a := attempts[v]
		mu.Unlock()
		switch {
		case v%25 == 0:
			return errors.New("permanent")
		case v%10 == 3 && a == 1:
			return errors.New("transient")
		}
		return nil
	}
	c := newConsumer(t, seeds, "g", h, []string{topic}, parallel.MaxConcurrency(16),
		parallel.Retries(2, time.Millisecond, 2*time.Millisecond), parallel.DeadLetterTopic(dlt))
	reg := collect(t, c)
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(ctx) }()
	t.Cleanup(func() { cancel(); c.Close() })

	waitFor(t, 30*time.Second, "every source offset committed", func() bool {
		at, _ := committedOffsets(t, seeds, "g", topic)
		return sumOffsets(at) == n
	})
	// Lag is computed from the committable offset and the high watermark;
	// it must fall to zero on every partition once all is done.
	waitFor(t, 10*time.Second, "lag 0 on every partition", func() bool {
		lag, ok := metric(t, reg, "kpar_parallel_partition_lag")
		return ok && lag == 0
	})
	if _, ok := metric(t, reg, "kpar_parallel_partition_lag"); !ok {
		t.Fatal("no partition_lag series")
	}
	cancel()
	if err := <-runErr; err != nil { // drained: the counters are final
		t.Fatal(err)
	}

	want := map[string]float64{
		"kpar_parallel_records_completed_total":     float64(n - wantDead),
		"kpar_parallel_records_dead_lettered_total": float64(wantDead),
		"kpar_parallel_attempts_failed_total":       float64(2*wantDead + wantFlaky),
		"kpar_parallel_attempts_retried_total":      float64(wantDead + wantFlaky),
		"kpar_parallel_records_retry_topic_total":   0,
		"kpar_parallel_records_in_flight":           0,
		"kpar_parallel_records_queued":              0,
		"kpar_parallel_records_skipped_total":       0,
		"kpar_parallel_partitions_lost_total":       0,
		"kpar_parallel_commit_errors_total":         0,
	}
	for name, w := range want {
		got, ok := metric(t, reg, name)
		if !ok {
			t.Errorf("%s: not exported", name)
			continue
		}
		if got != w {
			t.Errorf("%s = %v, want %v", name, got, w)
		}
	}
	if commits, ok := metric(t, reg, "kpar_parallel_commit_seconds"); !ok || commits == 0 {
		t.Errorf("commit_seconds histogram has %v samples, want > 0", commits)
	}
	st := c.Stats()
	if st.Completed != uint64(n-wantDead) || st.DeadLettered != uint64(wantDead) {
		t.Errorf("Stats completed %d dead-lettered %d disagree with the collector", st.Completed, st.DeadLettered)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}
