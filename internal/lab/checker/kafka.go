package checker

import (
	"context"
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/kafka"
	"github.com/kpar/kpar/internal/lab/workload"
)

// ReadTopics reads what Check compares: the input records, and the
// processed-log entries followed by the dead-letter topic's records (if
// dlqTopic is not "") as entries with Outcome DeadLettered: a record in the
// dead-letter topic counts as handled. Every topic is read to its end (r's
// rules: the high watermark, the last stable offset once every transaction
// ended); a topic that gets no further for r.Stall fails the read with a
// kafka.StalledError naming the partitions and how far each got. Call it
// only after every consumer under test has stopped.
func ReadTopics(ctx context.Context, r kafka.Reader, inputTopic, logTopic, dlqTopic string) ([]workload.Record, []Processed, error) {
	inRecs, err := r.All(ctx, inputTopic)
	if err != nil {
		return nil, nil, err
	}
	input, err := decode(inputTopic, inRecs, func(rec *kgo.Record) (workload.Record, error) { return workload.DecodeRecord(rec.Value) })
	if err != nil {
		return nil, nil, err
	}
	// Read committed: the eos strategy writes entries (and dead letters)
	// in transactions, and an aborted one processed nothing.
	logRecs, err := r.Committed(ctx, logTopic)
	if err != nil {
		return nil, nil, err
	}
	log, err := decode(logTopic, logRecs, func(rec *kgo.Record) (Processed, error) {
		e, err := workload.DecodeEntry(rec.Value)
		return Processed{Entry: e, At: rec.Timestamp}, err
	})
	if err != nil {
		return nil, nil, err
	}
	if dlqTopic == "" {
		return input, log, nil
	}
	dead, err := r.Committed(ctx, dlqTopic)
	if err != nil {
		return nil, nil, err
	}
	at := map[[2]int64]int{} // (partition, offset) of the input -> index in input
	for i, rec := range inRecs {
		at[[2]int64{int64(rec.Partition), rec.Offset}] = i
	}
	dl, err := decode(dlqTopic, dead, func(rec *kgo.Record) (Processed, error) {
		d, err := deadRecord(rec, inputTopic, input, at)
		return Processed{Entry: workload.Entry{Record: d, Outcome: workload.DeadLettered}, At: rec.Timestamp}, err
	})
	if err != nil {
		return nil, nil, err
	}
	return input, append(log, dl...), nil
}

// decode turns a topic's records into values, an error naming the record.
func decode[T any](topic string, recs []*kgo.Record, f func(*kgo.Record) (T, error)) ([]T, error) {
	out := make([]T, 0, len(recs))
	for _, rec := range recs {
		v, err := f(rec)
		if err != nil {
			return nil, fmt.Errorf("%s partition %d offset %d: %w", topic, rec.Partition, rec.Offset, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// deadRecord is the input record a dead-letter record stands for. A record
// the broker wrote (KIP-1191) names its origin in __dlq.errors.* headers,
// and the input record found there is the one counted, whatever the value
// holds (the broker copies it only when the group asks); any other
// dead-letter record is the input record itself, decoded from its value.
func deadRecord(rec *kgo.Record, inputTopic string, input []workload.Record, at map[[2]int64]int) (workload.Record, error) {
	h := map[string]string{}
	for _, x := range rec.Headers {
		h[x.Key] = string(x.Value)
	}
	topic, ok := h[brokerDLQTopic]
	if !ok {
		return workload.DecodeRecord(rec.Value)
	}
	p, perr := strconv.ParseInt(h[brokerDLQPartition], 10, 32)
	o, oerr := strconv.ParseInt(h[brokerDLQOffset], 10, 64)
	if topic != inputTopic || perr != nil || oerr != nil {
		return workload.Record{}, fmt.Errorf("broker dead letter from %s[%s]@%s, not a record of %s",
			topic, h[brokerDLQPartition], h[brokerDLQOffset], inputTopic)
	}
	i, ok := at[[2]int64{p, o}]
	if !ok {
		return workload.Record{}, fmt.Errorf("broker dead letter from %s[%d]@%d: no such input record", topic, p, o)
	}
	return input[i], nil
}

// The origin headers of a record the broker dead-lettered (KIP-1191).
const (
	brokerDLQTopic     = "__dlq.errors.topic"
	brokerDLQPartition = "__dlq.errors.partition"
	brokerDLQOffset    = "__dlq.errors.offset"
)
