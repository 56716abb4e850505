package produce

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/kafka"
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

// The franz-go partitioner of each accepted value (Validate refuses the
// others) at a batch size; acks and codecs are kafka.Acks and kafka.Codecs.
// uniform-bytes moves on after a batch's bytes, as KIP-794 has the Java
// client do (after batch.size): switching after 64 KiB cut batches at
// 64 KiB where kcat and Java fill up to a whole one, which costs CPU per
// record on both sides of the wire.
var (
	kgoPartitioners = map[string]func(batch int32) kgo.Partitioner{
		"sticky-key":    func(int32) kgo.Partitioner { return kgo.StickyKeyPartitioner(nil) },
		"round-robin":   func(int32) kgo.Partitioner { return kgo.RoundRobinPartitioner() },
		"uniform-bytes": func(batch int32) kgo.Partitioner { return kgo.UniformBytesPartitioner(int(batch), true, true, nil) },
		"manual":        func(int32) kgo.Partitioner { return kgo.ManualPartitioner() },
	}
)

// MaxBufferedRecords is how many records one producer holds unacknowledged
// before a send waits: franz-go's default, stated so that kcat gets the
// same (its queue.buffering.max.messages, whose default is 100,000).
const MaxBufferedRecords = 50_000

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
	switch {
	case s.Acks != "0" && s.Acks != "1" && s.Acks != "all":
		return fmt.Errorf("--acks %q: want 0 (no broker ack), 1 (leader ack) or all (every in-sync replica)", s.Acks)
	case s.Idempotence && s.Acks != "all":
		return fmt.Errorf("--acks %s with --idempotence on: an idempotent producer needs acks=all (use --idempotence off or auto)", s.Acks)
	case !slices.Contains(Partitioners, s.Partitioner):
		return fmt.Errorf("--partitioner %q: want one of %s", s.Partitioner, strings.Join(Partitioners, ", "))
	case !slices.Contains(Compressions, s.Compression):
		return fmt.Errorf("--compression %q: want one of %s", s.Compression, strings.Join(Compressions, ", "))
	case s.Linger < 0:
		return fmt.Errorf("--linger %s: want 0 or more", s.Linger)
	case s.BatchBytes < 1024:
		return fmt.Errorf("--batch-size %d: want at least 1024 bytes", s.BatchBytes)
	case s.MaxInFlight < 1:
		return fmt.Errorf("--max-in-flight %d: want at least 1", s.MaxInFlight)
	case len(s.Topics) == 0:
		return fmt.Errorf("--topic: no topic given")
	}
	return nil
}

// kgoOpts translates the settings to franz-go options.
func (s Settings) kgoOpts() []kgo.Opt {
	o := []kgo.Opt{kgo.RequiredAcks(kafka.Acks[s.Acks]), kgo.RecordPartitioner(kgoPartitioners[s.Partitioner](s.BatchBytes)), kgo.MaxBufferedRecords(MaxBufferedRecords),
		kgo.ProducerBatchCompression(kafka.Codecs[s.Compression]), kgo.ProducerLinger(s.Linger), kgo.ProducerBatchMaxBytes(s.BatchBytes)}
	if !s.Idempotence {
		// Without idempotence franz-go defaults to one request in flight per
		// broker; Java defaults to 5. MaxInFlight keeps the two comparable.
		o = append(o, kgo.DisableIdempotentWrite(), kgo.MaxProduceRequestsInflightPerBroker(s.MaxInFlight))
	}
	return o
}

// JavaProps are the same settings as Java producer properties.
func (s Settings) JavaProps() map[string]string { return s.props("compression.type") }

// KcatProps are the settings as librdkafka properties. batch.num.messages
// is raised to librdkafka's maximum because franz-go and the Java client
// cap a batch by bytes only; the buffer holds MaxBufferedRecords, as kpar's.
func (s Settings) KcatProps() map[string]string {
	p := s.props("compression.codec")
	p["batch.num.messages"] = "1000000"
	p["queue.buffering.max.messages"] = fmt.Sprint(MaxBufferedRecords)
	return p
}

// props are the properties the Java client and librdkafka share, the
// compression under its key; an idempotent producer allows at most 5 in
// flight.
func (s Settings) props(compression string) map[string]string {
	inFlight := s.MaxInFlight
	if s.Idempotence {
		inFlight = min(inFlight, 5)
	}
	return map[string]string{"acks": s.Acks, "enable.idempotence": fmt.Sprint(s.Idempotence),
		"linger.ms": fmt.Sprint(s.Linger.Milliseconds()), "batch.size": fmt.Sprint(s.BatchBytes), compression: s.Compression,
		"max.in.flight.requests.per.connection": fmt.Sprint(inFlight)}
}
