package trogdor

import "context"

// produceStatus is ProduceBenchWorker.StatusData, the status each agent's
// worker reports.
type produceStatus struct {
	TotalSent    int64   `json:"totalSent"`
	AverageMs    float64 `json:"averageLatencyMs"`
	P50LatencyMs int     `json:"p50LatencyMs"`
	P95LatencyMs int     `json:"p95LatencyMs"`
	P99LatencyMs int     `json:"p99LatencyMs"`
}

// produceStep posts one ProduceBenchSpec per agent of the first n, waits
// for them, reads each worker back from its agent (agent clock start and
// end, totalSent, latency percentiles) and checks the topic's end offsets
// grew by the merged count.
func (sw *sweep) produceStep(ctx context.Context, runID string, n int) (Step, error) {
	c := sw.cfg
	before, err := endOffsets(ctx, sw.adm, c.Topic)
	if err != nil {
		return Step{}, err
	}
	ts := sw.tasksFor("produce", runID, n, func(i int, a Process) map[string]any {
		return c.produceSpec(a.Name, sw.boot, c.Seed+int64(i)<<32)
	})
	st, err := runTasks(ctx, sw, ts, n, "sent", func(s produceStatus) int64 { return s.TotalSent }, func(s produceStatus) *Latency {
		return &Latency{AvgMs: s.AverageMs, P50Ms: float64(s.P50LatencyMs), P95Ms: float64(s.P95LatencyMs), P99Ms: float64(s.P99LatencyMs)}
	})
	if err != nil {
		return Step{}, err
	}
	after, err := endOffsets(ctx, sw.adm, c.Topic)
	if err != nil {
		return Step{}, err
	}
	st.Written = after - before
	st.fill(c.Settings.RecordBytes)
	return st, nil
}
