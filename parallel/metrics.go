package parallel

import (
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics is the consumer's Prometheus collector. Counters are atomics bumped
// on the hot path; gauges are read from the consumer's state at scrape time,
// so an unscraped consumer pays nothing for them.
type metrics struct {
	c *Consumer

	completed, failed, retried, retryRouted, deadLettered atomic.Uint64
	skipped, revoked, lost, commitErrors                  atomic.Uint64
	commitLatency                                         prometheus.Histogram

	dInflight, dQueued, dPaused, dLag             *prometheus.Desc
	dCompleted, dFailed, dRetried, dRetryRouted   *prometheus.Desc
	dDead, dSkipped, dRevoked, dLost, dCommitErrs *prometheus.Desc
}

func newMetrics(c *Consumer) *metrics {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("kpar_parallel_"+name, help, labels, nil)
	}
	return &metrics{
		c: c,
		commitLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "kpar_parallel_commit_seconds",
			Help:    "Latency of offset commits, including completion metadata.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		dInflight:    d("records_in_flight", "Handler calls running now."),
		dQueued:      d("records_queued", "Records held but not running: waiting for a worker, their key, their due time or map room."),
		dPaused:      d("paused_partitions", "Partitions whose fetching is paused by backpressure."),
		dLag:         d("partition_lag", "High watermark minus committable offset, per partition.", "topic", "partition"),
		dCompleted:   d("records_completed_total", "Records whose handler succeeded."),
		dFailed:      d("attempts_failed_total", "Handler calls that returned an error or panicked."),
		dRetried:     d("attempts_retried_total", "In-place retries started."),
		dRetryRouted: d("records_retry_topic_total", "Records sent to the retry topic."),
		dDead:        d("records_dead_lettered_total", "Records sent to the dead-letter topic."),
		dSkipped:     d("records_skipped_total", "Records skipped because the commit metadata says they were already done."),
		dRevoked:     d("partitions_revoked_total", "Partitions revoked (committed and released)."),
		dLost:        d("partitions_lost_total", "Partitions lost (released without commit)."),
		dCommitErrs:  d("commit_errors_total", "Commits that failed in whole or part."),
	}
}

func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.dInflight, m.dQueued, m.dPaused, m.dLag, m.dCompleted,
		m.dFailed, m.dRetried, m.dRetryRouted, m.dDead, m.dSkipped, m.dRevoked, m.dLost, m.dCommitErrs} {
		ch <- d
	}
	m.commitLatency.Describe(ch)
}

func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	counter := func(d *prometheus.Desc, v *atomic.Uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v.Load()))
	}
	st := m.c.Stats()
	gauge(m.dInflight, float64(st.InFlight))
	gauge(m.dQueued, float64(st.Held+st.Backlog-st.InFlight))
	gauge(m.dPaused, float64(st.PausedPartitions))
	for _, p := range st.Partitions {
		if p.Lag >= 0 {
			gauge(m.dLag, float64(p.Lag), p.Topic, strconv.Itoa(int(p.Partition)))
		}
	}
	counter(m.dCompleted, &m.completed)
	counter(m.dFailed, &m.failed)
	counter(m.dRetried, &m.retried)
	counter(m.dRetryRouted, &m.retryRouted)
	counter(m.dDead, &m.deadLettered)
	counter(m.dSkipped, &m.skipped)
	counter(m.dRevoked, &m.revoked)
	counter(m.dLost, &m.lost)
	counter(m.dCommitErrs, &m.commitErrors)
	m.commitLatency.Collect(ch)
}

// Stats is a point-in-time view of the consumer, for tests, benches and
// dashboards without Prometheus.
type Stats struct {
	InFlight         int64 // handler calls running
	Held             int64 // records admitted: queued, waiting or running (<= MaxBuffered)
	Backlog          int64 // records polled, waiting for room under MaxBuffered
	PausedPartitions int
	Completed        uint64 // handler successes
	Failed           uint64 // failed attempts
	Retried          uint64 // in-place retries
	RetryTopic       uint64 // records sent to the retry topic
	DeadLettered     uint64
	Skipped          uint64 // already done per commit metadata
	Partitions       []PartitionStats
}

// PartitionStats describes one owned partition.
type PartitionStats struct {
	Topic       string
	Partition   int32
	Committable int64 // -1: nothing known yet
	Held        int   // admitted, not done
	Backlog     int   // polled, not admitted
	Paused      bool
	Lag         int64 // high watermark - committable; -1 unknown
}

// Stats returns counters and the state of owned partitions.
func (c *Consumer) Stats() Stats {
	st := Stats{
		InFlight:     c.inflight.Load(),
		Held:         c.total.Load(),
		Backlog:      c.backlog.Load(),
		Completed:    c.m.completed.Load(),
		Failed:       c.m.failed.Load(),
		Retried:      c.m.retried.Load(),
		RetryTopic:   c.m.retryRouted.Load(),
		DeadLettered: c.m.deadLettered.Load(),
		Skipped:      c.m.skipped.Load(),
	}
	c.mu.Lock()
	ps := make([]*partition, 0, len(c.parts))
	for _, p := range c.parts {
		ps = append(ps, p)
	}
	c.mu.Unlock()
	for _, p := range ps {
		p.mu.Lock()
		s := PartitionStats{Topic: p.tp.topic, Partition: p.tp.part, Committable: p.tr.Committable(),
			Held: p.admitted, Backlog: len(p.parked), Paused: p.paused, Lag: -1}
		if p.hwm >= 0 && s.Committable >= 0 {
			s.Lag = p.hwm - s.Committable
		}
		p.mu.Unlock()
		if s.Paused {
			st.PausedPartitions++
		}
		st.Partitions = append(st.Partitions, s)
	}
	return st
}
