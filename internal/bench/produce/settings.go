package produce

import (
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Settings are the producer knobs one sweep runs with. Every field maps to
// both a franz-go option and the matching Java producer property, so the
// Java anchor runs with the same configuration.
type Settings struct {
	Acks        string        `json:"acks"`        // "0", "1" or "all"
	Idempotence bool          `json:"idempotence"` // needs acks=all
	Partitioner string        `json:"partitioner"` // sticky-key, round-robin, uniform-bytes, manual
	Linger      time.Duration `json:"linger_ns"`
	BatchBytes  int32         `json:"batch_bytes"`
	Compression string        `json:"compression"` // none, snappy, lz4, zstd
	MaxInFlight int           `json:"max_in_flight"`
	Topics      []string      `json:"topics"`
	NoFlush     bool          `json:"no_flush"`
}

// Partitioners lists the accepted --partitioner values.
var Partitioners = []string{"sticky-key", "round-robin", "uniform-bytes", "manual"}

// Compressions lists the accepted --compression values.
var Compressions = []string{"none", "snappy", "lz4", "zstd"}

// Label is a short human name for the settings, used in tables and charts.
func (s Settings) Label() string {
	idem := "idem"
	if !s.Idempotence {
		idem = "noidem"
	}
	l := fmt.Sprintf("acks=%s %s %s linger=%s batch=%d %s", s.Acks, idem, s.Partitioner, s.Linger, s.BatchBytes, s.Compression)
	if len(s.Topics) > 1 {
		l += " topics=" + strings.Join(s.Topics, "+")
	}
	if s.NoFlush {
		l += " no-flush"
	}
	return l
}

// Validate rejects settings franz-go or Kafka would refuse, naming the flag.
func (s Settings) Validate() error {
	switch s.Acks {
	case "0", "1", "all":
	default:
		return fmt.Errorf("--acks %q: want 0 (no broker ack), 1 (leader ack) or all (every in-sync replica)", s.Acks)
	}
	if s.Idempotence && s.Acks != "all" {
		return fmt.Errorf("--acks %s with --idempotence on: an idempotent producer needs acks=all (use --idempotence off or auto)", s.Acks)
	}
	if !contains(Partitioners, s.Partitioner) {
		return fmt.Errorf("--partitioner %q: want one of %s", s.Partitioner, strings.Join(Partitioners, ", "))
	}
	if !contains(Compressions, s.Compression) {
		return fmt.Errorf("--compression %q: want one of %s", s.Compression, strings.Join(Compressions, ", "))
	}
	if s.Linger < 0 {
		return fmt.Errorf("--linger %s: want 0 or more", s.Linger)
	}
	if s.BatchBytes < 1024 {
		return fmt.Errorf("--batch-size %d: want at least 1024 bytes", s.BatchBytes)
	}
	if s.MaxInFlight < 1 {
		return fmt.Errorf("--max-in-flight %d: want at least 1", s.MaxInFlight)
	}
	if len(s.Topics) == 0 {
		return fmt.Errorf("--topic: no topic given")
	}
	return nil
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

// kgoOpts translates the settings to franz-go options.
func (s Settings) kgoOpts() []kgo.Opt {
	var o []kgo.Opt
	switch s.Acks {
	case "0":
		o = append(o, kgo.RequiredAcks(kgo.NoAck()))
	case "1":
		o = append(o, kgo.RequiredAcks(kgo.LeaderAck()))
	default:
		o = append(o, kgo.RequiredAcks(kgo.AllISRAcks()))
	}
	if !s.Idempotence {
		// Without idempotence franz-go defaults to one request in flight per
		// broker; Java defaults to 5. MaxInFlight keeps the two comparable.
		o = append(o, kgo.DisableIdempotentWrite(), kgo.MaxProduceRequestsInflightPerBroker(s.MaxInFlight))
	}
	switch s.Partitioner {
	case "sticky-key":
		o = append(o, kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	case "round-robin":
		o = append(o, kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	case "manual":
		o = append(o, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	default:
		o = append(o, kgo.RecordPartitioner(kgo.UniformBytesPartitioner(64<<10, true, true, nil)))
	}
	var c kgo.CompressionCodec
	switch s.Compression {
	case "snappy":
		c = kgo.SnappyCompression()
	case "lz4":
		c = kgo.Lz4Compression()
	case "zstd":
		c = kgo.ZstdCompression()
	default:
		c = kgo.NoCompression()
	}
	o = append(o,
		kgo.ProducerBatchCompression(c),
		kgo.ProducerLinger(s.Linger),
		kgo.ProducerBatchMaxBytes(s.BatchBytes),
	)
	return o
}

// JavaProps are the same settings as Java producer properties.
func (s Settings) JavaProps() map[string]string {
	p := map[string]string{
		"acks":                                  s.Acks,
		"enable.idempotence":                    fmt.Sprint(s.Idempotence),
		"linger.ms":                             fmt.Sprint(s.Linger.Milliseconds()),
		"batch.size":                            fmt.Sprint(s.BatchBytes),
		"compression.type":                      s.Compression,
		"max.in.flight.requests.per.connection": fmt.Sprint(s.MaxInFlight),
	}
	if s.Idempotence && s.MaxInFlight > 5 {
		p["max.in.flight.requests.per.connection"] = "5"
	}
	return p
}
