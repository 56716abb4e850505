package trogdor

import (
	"fmt"
	"strings"
	"time"

	"github.com/kpar/kpar/internal/kafka"
)

// Settings are one agent's producer settings; every agent of every step
// runs with the same ones, and the calibration's kpar producer too.
type Settings struct {
	Acks        string        `json:"acks"`        // "0", "1" or "all"
	Idempotence bool          `json:"idempotence"` // enable.idempotence; needs acks=all
	Linger      time.Duration `json:"linger_ns"`
	BatchBytes  int           `json:"batch_bytes"`
	Compression string        `json:"compression"` // none, gzip, snappy, lz4, zstd
	MaxInFlight int           `json:"max_in_flight"`
	RecordBytes int           `json:"record_bytes"` // value bytes, random (incompressible); keys are null
	// Rate is each agent's target records/s; 0 is unbounded. Trogdor
	// throttles in 100 ms periods and flushes its producer before each
	// pause, so a bounded rate also cuts batches short.
	Rate int `json:"rate"`
}

// Compressions lists the accepted compression values.
var Compressions = []string{"none", "gzip", "snappy", "lz4", "zstd"}

// Validate names the flag of a bad setting.
func (s Settings) Validate() error {
	_, ack := kafka.Acks[s.Acks]
	_, codec := kafka.Codecs[s.Compression]
	switch {
	case !ack:
		return fmt.Errorf("--acks %q: want 0, 1 or all", s.Acks)
	case s.Idempotence && s.Acks != "all":
		return fmt.Errorf("--acks %s with --idempotence: an idempotent producer needs acks=all", s.Acks)
	case !codec:
		return fmt.Errorf("--compression %q: want one of %s", s.Compression, strings.Join(Compressions, ", "))
	case s.Linger < 0 || s.Linger%time.Millisecond != 0:
		return fmt.Errorf("--linger %s: want whole milliseconds, 0 or more (Java's linger.ms)", s.Linger)
	case s.BatchBytes < 1024:
		return fmt.Errorf("--batch-size %d: want at least 1024 bytes", s.BatchBytes)
	case s.MaxInFlight < 1 || (s.Idempotence && s.MaxInFlight > 5):
		return fmt.Errorf("--max-in-flight %d: want 1 or more (at most 5 with --idempotence)", s.MaxInFlight)
	case s.RecordBytes < 1 || s.RecordBytes > 1<<20:
		return fmt.Errorf("--record-size %d: want 1..1048576 bytes", s.RecordBytes)
	case s.Rate < 0:
		return fmt.Errorf("--rate %d: want records/s per agent, 0 for unbounded", s.Rate)
	}
	return nil
}

// Label is a short human name for the settings.
func (s Settings) Label() string {
	idem := "noidem"
	if s.Idempotence {
		idem = "idem"
	}
	rate := "unbounded"
	if s.Rate > 0 {
		rate = fmt.Sprintf("%d rec/s per agent", s.Rate)
	}
	return fmt.Sprintf("acks=%s %s linger=%s batch=%d %s in-flight=%d record=%dB %s",
		s.Acks, idem, s.Linger, s.BatchBytes, s.Compression, s.MaxInFlight, s.RecordBytes, rate)
}

// ProducerConf is the settings as Java producer properties.
func (s Settings) ProducerConf() map[string]string {
	return map[string]string{
		"acks":                                  s.Acks,
		"enable.idempotence":                    fmt.Sprint(s.Idempotence),
		"linger.ms":                             fmt.Sprint(s.Linger.Milliseconds()),
		"batch.size":                            fmt.Sprint(s.BatchBytes),
		"compression.type":                      s.Compression,
		"max.in.flight.requests.per.connection": fmt.Sprint(s.MaxInFlight),
	}
}

// produceSpec is a Trogdor ProduceBenchSpec for one agent: records random
// values of RecordBytes with null keys, through the producer's own
// partitioner (useConfiguredPartitioner; Trogdor otherwise cycles the
// partitions itself, one record each), into topic (created by Trogdor if
// missing, with partitions and replication).
func (c Config) produceSpec(node, bootstrap string, seed int64) map[string]any {
	s := c.Settings
	return map[string]any{
		"class":                    "org.apache.kafka.trogdor.workload.ProduceBenchSpec",
		"startMs":                  0,
		"durationMs":               c.TaskTimeout.Milliseconds(),
		"producerNode":             node,
		"bootstrapServers":         bootstrap,
		"targetMessagesPerSec":     s.targetRate(),
		"maxMessages":              c.Records,
		"keyGenerator":             map[string]any{"type": "null"},
		"valueGenerator":           s.valueGenerator(seed),
		"producerConf":             s.ProducerConf(),
		"activeTopics":             map[string]any{c.Topic: map[string]any{"numPartitions": c.Partitions, "replicationFactor": c.Replication}},
		"useConfiguredPartitioner": true,
	}
}

// targetRate is Rate as Trogdor's targetMessagesPerSec: unbounded is the
// largest int, which its throttle never waits below.
func (s Settings) targetRate() int {
	if s.Rate == 0 {
		return 1<<31 - 1
	}
	return s.Rate
}

// valueGenerator is UniformRandomPayloadGenerator: random values of
// RecordBytes from seed.
func (s Settings) valueGenerator(seed int64) map[string]any {
	return map[string]any{"type": "uniformRandom", "size": s.RecordBytes, "seed": seed, "padding": 0}
}

// consumeSpec is a Trogdor ConsumeBenchSpec for one agent: one consumer
// (threadsPerWorker 1) in group, manually assigned the partitions of topic
// listed ("topic:p", the spec's notation, which makes it assign instead of
// subscribe), reading from the group's committed offsets (kpar commits the
// fill's start before the task) and auto-committing every 100 ms, so kpar
// sees from the broker when it has read its share. maxMessages is the share
// plus one: a worker that reached its count would stop polling before
// committing its last records, and its task would still end only a minute
// after it started (its status closer sleeps 60 s); this one keeps polling
// (and committing) until kpar stops the task.
func (c Config) consumeSpec(node, bootstrap, group string, partitions []int32, maxMessages int64) map[string]any {
	topics := make([]string, len(partitions))
	for i, p := range partitions {
		topics[i] = fmt.Sprintf("%s:%d", c.Topic, p)
	}
	rate := c.Settings.Rate // 0: Trogdor's consumer does not throttle
	return map[string]any{
		"class":                "org.apache.kafka.trogdor.workload.ConsumeBenchSpec",
		"startMs":              0,
		"durationMs":           c.TaskTimeout.Milliseconds(),
		"consumerNode":         node,
		"bootstrapServers":     bootstrap,
		"targetMessagesPerSec": rate,
		"maxMessages":          maxMessages,
		"consumerGroup":        group,
		"consumerConf":         map[string]string{"enable.auto.commit": "true", "auto.commit.interval.ms": "100"},
		"threadsPerWorker":     1,
		"activeTopics":         topics,
	}
}

// roundTripSpec is a Trogdor RoundTripWorkloadSpec for one agent: it sends
// Records random values (its keys are Trogdor's 4-byte sequence numbers) to
// topic, a topic of its own (the worker reads its partitions from the
// start and counts a key as received once), and reads every one back. The
// producer gets the settings plus Java's default buffer.memory (Trogdor
// sets 64 KiB, below a 64 KiB batch).
func (c Config) roundTripSpec(node, bootstrap, topic string, seed int64) map[string]any {
	s := c.Settings
	pc := s.ProducerConf()
	pc["buffer.memory"] = "33554432"
	return map[string]any{
		"class":                "org.apache.kafka.trogdor.workload.RoundTripWorkloadSpec",
		"startMs":              0,
		"durationMs":           c.TaskTimeout.Milliseconds(),
		"clientNode":           node,
		"bootstrapServers":     bootstrap,
		"producerConf":         pc,
		"consumerConf":         map[string]string{},
		"targetMessagesPerSec": s.targetRate(), // must be > 0 here
		"valueGenerator":       s.valueGenerator(seed),
		"activeTopics":         map[string]any{topic: map[string]any{"numPartitions": c.Partitions, "replicationFactor": c.Replication}},
		"maxMessages":          c.Records,
	}
}
