// Package kprom exports a parallel.Consumer's statistics as Prometheus
// metrics. It lives apart from package parallel, as franz-go's plugin/kprom
// does, so that the library does not pull client_golang into every build.
//
//	c, err := parallel.New(handle, opts...)
//	...
//	col := kprom.NewCollector(c)
//	prometheus.MustRegister(col)
//	defer prometheus.Unregister(col)
//
// Every metric is read from Consumer.Stats at scrape time, so an unscraped
// consumer pays nothing for them. Names start with kpar_parallel_.
package kprom

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kpar/kpar/parallel"
)

// Collector is a prometheus.Collector over one consumer.
type Collector struct {
	c *parallel.Consumer

	dInflight, dQueued, dPaused, dLag           *prometheus.Desc
	dCommit                                     *prometheus.Desc
	dCommittedLag, dHeadWait, dMaxLag, dMaxWait *prometheus.Desc
	dLimit                                      *prometheus.Desc
	dCounters                                   []*prometheus.Desc // one per counters entry
}

// counters are the Stats counters the collector exports, in its order.
var counters = []struct {
	name, help string
	value      func(*parallel.Stats) uint64
}{
	{"records_completed_total", "Records whose handler succeeded.", func(s *parallel.Stats) uint64 { return s.Completed }},
	{"attempts_failed_total", "Handler calls that returned an error or panicked.", func(s *parallel.Stats) uint64 { return s.Failed }},
	{"attempts_retried_total", "In-place retries started.", func(s *parallel.Stats) uint64 { return s.Retried }},
	{"records_retry_topic_total", "Records sent to the retry topic.", func(s *parallel.Stats) uint64 { return s.RetryTopic }},
	{"records_dead_lettered_total", "Records sent to the dead-letter topic.", func(s *parallel.Stats) uint64 { return s.DeadLettered }},
	{"records_skipped_total", "Records skipped because the commit metadata says they were already done.",
		func(s *parallel.Stats) uint64 { return s.Skipped }},
	{"partitions_revoked_total", "Partitions revoked (committed and released).", func(s *parallel.Stats) uint64 { return s.Revoked }},
	{"partitions_lost_total", "Partitions lost (released without commit).", func(s *parallel.Stats) uint64 { return s.Lost }},
	{"commit_errors_total", "Commits that failed in whole or part.", func(s *parallel.Stats) uint64 { return s.CommitErrors }},
	{"records_released_total", "Share group: records released back to the group for redelivery.",
		func(s *parallel.Stats) uint64 { return s.Released }},
	{"records_redelivered_total", "Share group: records received with a delivery count above 1.",
		func(s *parallel.Stats) uint64 { return s.Redelivered }},
	{"share_ack_errors_total", "Share group: acknowledgements the broker refused.", func(s *parallel.Stats) uint64 { return s.AckErrors }},
}

// NewCollector returns a collector of c's metrics; register it on the
// registry you serve, and unregister it when c is closed.
func NewCollector(c *parallel.Consumer) *Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("kpar_parallel_"+name, help, labels, nil)
	}
	m := &Collector{
		c:         c,
		dInflight: d("records_in_flight", "Workers running records now."),
		dQueued:   d("records_queued", "Records held but not running: waiting for a worker, their key, their due time or map room."),
		dPaused:   d("paused_partitions", "Partitions whose fetching is paused by backpressure."),
		dLag:      d("partition_lag", "High watermark minus committable offset, per partition.", "topic", "partition"),
		dCommit:   d("commit_seconds", "Latency of offset commits, including completion metadata."),
		dCommittedLag: d("partition_committed_lag", "High watermark minus the offset the broker acknowledged as committed, per partition (the lag Kafka's tools report).",
			"topic", "partition"),
		dHeadWait: d("partition_head_wait_seconds", "How long the oldest record not yet done has waited since its poll, per partition.",
			"topic", "partition"),
		dMaxLag:  d("max_committed_lag", "The largest partition_committed_lag over the consumer's partitions; -1 when none is known."),
		dMaxWait: d("max_head_wait_seconds", "The largest partition_head_wait_seconds over the consumer's partitions."),
		dLimit: d("concurrency_limit", "Handler calls allowed at once: AdaptiveConcurrency's current limit "+
			"(BatchHandler calls with NewBatch), else MaxConcurrency."),
	}
	for _, k := range counters {
		m.dCounters = append(m.dCounters, d(k.name, k.help))
	}
	return m
}

// Describe implements prometheus.Collector.
func (m *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range append([]*prometheus.Desc{m.dInflight, m.dQueued, m.dPaused, m.dLag, m.dCommit,
		m.dCommittedLag, m.dHeadWait, m.dMaxLag, m.dMaxWait, m.dLimit}, m.dCounters...) {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *Collector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	st := m.c.Stats()
	gauge(m.dInflight, float64(st.InFlight))
	gauge(m.dQueued, float64(st.Held+st.Backlog-st.InFlight))
	gauge(m.dPaused, float64(st.PausedPartitions))
	gauge(m.dLimit, float64(st.ConcurrencyLimit))
	for _, p := range st.Partitions {
		part := strconv.Itoa(int(p.Partition))
		if p.Lag >= 0 {
			gauge(m.dLag, float64(p.Lag), p.Topic, part)
		}
		if p.CommittedLag >= 0 {
			gauge(m.dCommittedLag, float64(p.CommittedLag), p.Topic, part)
		}
		gauge(m.dHeadWait, p.HeadWait.Seconds(), p.Topic, part)
	}
	gauge(m.dMaxLag, float64(st.MaxCommittedLag))
	gauge(m.dMaxWait, st.MaxHeadWait.Seconds())
	for i, k := range counters {
		ch <- prometheus.MustNewConstMetric(m.dCounters[i], prometheus.CounterValue, float64(k.value(&st)))
	}
	h := st.CommitLatency
	buckets := make(map[float64]uint64, len(h.Bounds))
	var cum uint64
	for i, b := range h.Bounds {
		cum += h.Counts[i]
		buckets[b] = cum
	}
	ch <- prometheus.MustNewConstHistogram(m.dCommit, h.Count, h.Sum, buckets)
}
