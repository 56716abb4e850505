package checker

import (
	"context"
	"fmt"
	"time"

	"github.com/kpar/kpar/internal/lab/workload"
)

// CheckTopics reads the input topic, the processed-log topic and the
// dead-letter topic (if dlqTopic is not "") and checks them. A record in the
// dead-letter topic counts as handled. Call it only after every consumer
// under test has stopped.
func CheckTopics(ctx context.Context, seeds []string, inputTopic, logTopic, dlqTopic string, start time.Time) (Result, error) {
	inRecs, err := workload.ReadAll(ctx, seeds, inputTopic)
	if err != nil {
		return Result{}, err
	}
	input := make([]workload.Record, 0, len(inRecs))
	for _, r := range inRecs {
		rec, err := workload.DecodeRecord(r.Value)
		if err != nil {
			return Result{}, fmt.Errorf("%s partition %d offset %d: %w", inputTopic, r.Partition, r.Offset, err)
		}
		input = append(input, rec)
	}
	logRecs, err := workload.ReadAll(ctx, seeds, logTopic)
	if err != nil {
		return Result{}, err
	}
	log := make([]Processed, 0, len(logRecs))
	for _, r := range logRecs {
		e, err := workload.DecodeEntry(r.Value)
		if err != nil {
			return Result{}, fmt.Errorf("%s partition %d offset %d: %w", logTopic, r.Partition, r.Offset, err)
		}
		log = append(log, Processed{Entry: e, At: r.Timestamp})
	}
	if dlqTopic != "" {
		dead, err := workload.ReadAll(ctx, seeds, dlqTopic)
		if err != nil {
			return Result{}, err
		}
		for _, r := range dead {
			rec, err := workload.DecodeRecord(r.Value)
			if err != nil {
				return Result{}, fmt.Errorf("%s partition %d offset %d: %w", dlqTopic, r.Partition, r.Offset, err)
			}
			log = append(log, Processed{Entry: workload.Entry{Record: rec, Outcome: workload.DeadLettered}, At: r.Timestamp})
		}
	}
	return Check(input, log, start), nil
}
