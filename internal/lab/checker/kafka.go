package checker

import (
	"context"
	"fmt"
	"time"

	"github.com/kpar/kpar/internal/lab/workload"
	"github.com/twmb/franz-go/pkg/kgo"
)

// CheckTopics reads the input topic, the processed-log topic and the
// dead-letter topic (if dlqTopic is not "") and checks them. A record in the
// dead-letter topic counts as handled. Call it only after every consumer
// under test has stopped.
func CheckTopics(ctx context.Context, seeds []string, inputTopic, logTopic, dlqTopic string, start time.Time) (Result, error) {
	input, log, err := ReadTopics(ctx, seeds, inputTopic, logTopic, dlqTopic)
	if err != nil {
		return Result{}, err
	}
	return Check(input, log, start), nil
}

// ReadTopics reads what Check compares: the input records, and the
// processed-log entries followed by the dead-letter topic's records as
// entries with Outcome DeadLettered.
func ReadTopics(ctx context.Context, seeds []string, inputTopic, logTopic, dlqTopic string, clientOpts ...kgo.Opt) ([]workload.Record, []Processed, error) {
	fail := func(err error) ([]workload.Record, []Processed, error) { return nil, nil, err }
	inRecs, err := workload.ReadAll(ctx, seeds, inputTopic, clientOpts...)
	if err != nil {
		return fail(err)
	}
	input := make([]workload.Record, 0, len(inRecs))
	for _, r := range inRecs {
		rec, err := workload.DecodeRecord(r.Value)
		if err != nil {
			return fail(fmt.Errorf("%s partition %d offset %d: %w", inputTopic, r.Partition, r.Offset, err))
		}
		input = append(input, rec)
	}
	// Read committed: the eos strategy writes entries (and dead letters)
	// in transactions, and an aborted one processed nothing.
	logRecs, err := workload.ReadAllCommitted(ctx, seeds, logTopic, clientOpts...)
	if err != nil {
		return fail(err)
	}
	log := make([]Processed, 0, len(logRecs))
	for _, r := range logRecs {
		e, err := workload.DecodeEntry(r.Value)
		if err != nil {
			return fail(fmt.Errorf("%s partition %d offset %d: %w", logTopic, r.Partition, r.Offset, err))
		}
		log = append(log, Processed{Entry: e, At: r.Timestamp})
	}
	if dlqTopic != "" {
		dead, err := workload.ReadAllCommitted(ctx, seeds, dlqTopic, clientOpts...)
		if err != nil {
			return fail(err)
		}
		for _, r := range dead {
			rec, err := workload.DecodeRecord(r.Value)
			if err != nil {
				return fail(fmt.Errorf("%s partition %d offset %d: %w", dlqTopic, r.Partition, r.Offset, err))
			}
			log = append(log, Processed{Entry: workload.Entry{Record: rec, Outcome: workload.DeadLettered}, At: r.Timestamp})
		}
	}
	return input, log, nil
}
