package trogdor

import (
	"context"
	"fmt"
	"time"

	"github.com/kpar/kpar/internal/kafka"
)

// roundTripStatus is RoundTripWorker.StatusData. Trogdor's round trip
// reports no latency.
type roundTripStatus struct {
	TotalUniqueSent int64 `json:"totalUniqueSent"`
	TotalReceived   int64 `json:"totalReceived"`
}

// roundTripStep posts one RoundTripWorkloadSpec per agent of the first n,
// each on a topic of its own (kpar creates it and deletes it after the
// step), waits for them and reads each worker back from its agent.
func (sw *sweep) roundTripStep(ctx context.Context, n int) (Step, error) {
	c := sw.cfg
	topics := make([]string, n)
	ts := sw.tasksFor("roundtrip", sw.runID, n, func(i int, a Process) map[string]any {
		topics[i] = fmt.Sprintf("%s-rt-%s-n%d-%s", c.Topic, sw.runID, n, a.Name)
		return c.roundTripSpec(a.Name, sw.boot, topics[i], c.Seed+int64(i)<<32)
	})
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_, _ = sw.adm.DeleteTopics(dctx, topics...)
	}()
	// Made and ready before the tasks start: a worker that creates its
	// topic produces at once, and Java's idempotent producer, refused by a
	// leader not yet elected, was seen retrying OUT_OF_ORDER_SEQUENCE_NUMBER
	// on that partition until the task timed out.
	var tps []kafka.Topic
	for _, t := range topics {
		tps = append(tps, kafka.Topic{Name: t, Partitions: c.Partitions, RF: c.Replication})
	}
	if _, err := kafka.Create(ctx, sw.adm, tps); err != nil {
		return Step{}, fmt.Errorf("the round-trip topics: %w", err)
	}
	st, err := runTasks(ctx, sw, ts, n, "read back", func(s roundTripStatus) int64 { return s.TotalReceived }, (func(roundTripStatus) *Latency)(nil))
	if err != nil {
		return Step{}, err
	}
	ends, err := kafka.Ends(ctx, sw.adm, topics...)
	if err != nil {
		return Step{}, err
	}
	st.Written = ends.Sum()
	st.fill(c.Settings.RecordBytes)
	return st, nil
}
