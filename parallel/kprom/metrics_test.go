package kprom_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/parallel"
	"github.com/kpar/kpar/parallel/internal/testkit"
	"github.com/kpar/kpar/parallel/kprom"
)

// After a known mix of outcomes the collector reports exactly those counts:
// of n records, those with value%25 == 0 always fail (2 attempts, then the
// dead-letter topic); those with value%10 == 3 fail their first attempt only.
// The expected numbers are derived from the produced values, not hard-coded.
// A pedantic registry also checks the collector's descriptors.
func TestMetricsCountCompletedFailedRetriedAndDeadLettered(t *testing.T) {
	const topic, dlt, n, parts = "t", "dlt", 400, 3
	_, seeds := testkit.KfakeCluster(t, topic, parts, kfake.SeedTopics(1, dlt))
	testkit.Produce(t, seeds, topic, n, 40, testkit.RoundRobin)

	var wantDead, wantFlaky int
	for v := 0; v < n; v++ {
		switch {
		case v%25 == 0:
			wantDead++
		case v%10 == 3:
			wantFlaky++
		}
	}
	var attempts testkit.Attempts
	h := func(ctx context.Context, r *kgo.Record) error {
		v, a := attempts.Next(r)
		switch {
		case v%25 == 0:
			return errors.New("permanent")
		case v%10 == 3 && a == 1:
			return errors.New("transient")
		}
		return nil
	}
	c := testkit.Consumer(t, seeds, "g", h, []string{topic}, parallel.MaxConcurrency(16),
		parallel.Retries(2, time.Millisecond, 2*time.Millisecond), parallel.DeadLetterTopic(dlt))
	reg := collect(t, c)
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(ctx) }()
	t.Cleanup(func() { cancel(); c.Close() })

	testkit.WaitFor(t, 30*time.Second, "every source offset committed", func() bool {
		at, _ := testkit.CommittedOffsets(t, seeds, "g", topic)
		return testkit.SumOffsets(at) == n
	})
	// Lag is computed from the committable offset and the high watermark;
	// it must fall to zero on every partition once all is done.
	testkit.WaitFor(t, 10*time.Second, "lag 0 on every partition", func() bool {
		lag, ok := metric(t, reg, "kpar_parallel_partition_lag")
		return ok && lag == 0
	})
	if _, ok := metric(t, reg, "kpar_parallel_partition_lag"); !ok {
		t.Fatal("no partition_lag series")
	}
	// The lag against the committed offset, and the head-of-line wait, fall
	// to zero as well once the commits are acknowledged.
	testkit.WaitFor(t, 10*time.Second, "committed lag and head-of-line wait 0", func() bool {
		lag, ok := metric(t, reg, "kpar_parallel_partition_committed_lag")
		maxLag, _ := metric(t, reg, "kpar_parallel_max_committed_lag")
		wait, okw := metric(t, reg, "kpar_parallel_partition_head_wait_seconds")
		maxWait, _ := metric(t, reg, "kpar_parallel_max_head_wait_seconds")
		return ok && okw && lag == 0 && maxLag == 0 && wait == 0 && maxWait == 0
	})
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
		"kpar_parallel_records_released_total":      0, // share-group counters: 0 in group mode
		"kpar_parallel_records_redelivered_total":   0,
		"kpar_parallel_share_ack_errors_total":      0,
		"kpar_parallel_concurrency_limit":           16, // MaxConcurrency without AdaptiveConcurrency
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

// collect registers c's collector on a fresh pedantic registry (which
// checks every metric's consistency on each gather) and returns it.
func collect(t *testing.T, c *parallel.Consumer) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(kprom.NewCollector(c))
	return reg
}

// metric sums every series of the metric family name in reg (for a
// histogram: its sample count). ok is false when the family is absent.
func metric(t *testing.T, reg prometheus.Gatherer, name string) (v float64, ok bool) {
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
