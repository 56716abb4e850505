package trogdor

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/kafka"
)

// fill is what the consume workload's fill wrote: every partition's
// offsets before and after it. Every consume step reads exactly these.
type fill struct {
	start, end map[int32]int64
	records    int64
}

// fillTopic has the first n agents produce Records each into the topic.
func (sw *sweep) fillTopic(ctx context.Context, n int) (*fill, error) {
	start, err := kafka.EndsOf(ctx, sw.adm, sw.cfg.Topic)
	if err != nil {
		return nil, err
	}
	if _, err := sw.produceStep(ctx, sw.runID+"-fill", n); err != nil {
		return nil, err
	}
	end, err := kafka.EndsOf(ctx, sw.adm, sw.cfg.Topic)
	if err != nil {
		return nil, err
	}
	f := &fill{start: start, end: end}
	for p, e := range end {
		f.records += e - start[p]
	}
	return f, nil
}

// share is agent i's part of an n-agent step: the partitions p with
// p mod n == i, and the fill's records in them.
func (f *fill) share(partitions, n, i int) ([]int32, int64) {
	var ps []int32
	var recs int64
	for p := int32(i); p < int32(partitions); p += int32(n) {
		ps = append(ps, p)
		recs += f.end[p] - f.start[p]
	}
	return ps, recs
}

// consumeStep posts one ConsumeBenchSpec per agent of the first n, each
// its share of the fill from its own group's committed offsets. An agent
// is done, on kpar's clock, when its group has committed its share's end:
// the broker's record that its consumer read every record of the share,
// which is the count merged. kpar then stops the tasks. Trogdor's consume
// worker publishes its status (count, poll latency) only when it ends, a
// minute after it starts whatever it read, so the step has no latency.
func (sw *sweep) consumeStep(ctx context.Context, n int) (Step, error) {
	c := sw.cfg
	groups, wants := make([]string, n), make([]int64, n)
	ts := sw.tasksFor("consume", sw.runID, n, func(i int, a Process) map[string]any {
		ps, recs := sw.fill.share(c.Partitions, n, i)
		groups[i], wants[i] = fmt.Sprintf("kpar-trogdor-%s-n%d-%s", sw.runID, n, a.Name), recs
		return c.consumeSpec(a.Name, sw.boot, groups[i], ps, recs+1)
	})
	// The groups are kpar's bookkeeping: gone after the step.
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_, _ = sw.adm.DeleteGroups(dctx, groups...)
	}()
	for i := range ts {
		if err := sw.commitStart(ctx, groups[i], n, i); err != nil {
			return Step{}, err
		}
	}
	cpu0 := sw.cpu.read()
	posted := time.Now()
	wctx, end, err := sw.post(ctx, ts)
	if err != nil {
		return Step{}, err
	}
	defer end()
	doneAt, err := sw.waitCommitted(wctx, ts, groups, n)
	if err != nil {
		return Step{}, err
	}
	st := Step{Agents: n, CPU: sw.cpu.since(cpu0)}
	for i, t := range ts {
		if err := sw.co.StopTask(wctx, t.id); err != nil {
			return Step{}, fmt.Errorf("stopping Trogdor task %s on %s: %w", t.id, t.agent.Name, err)
		}
		if _, err := sw.done(wctx, t); err != nil {
			return Step{}, err
		}
		st.PerAgent = append(st.PerAgent, AgentRun{Node: t.agent.Name, Records: wants[i], StartedMs: posted.UnixMilli(), DoneMs: doneAt[i].UnixMilli()})
	}
	st.fill(c.Settings.RecordBytes)
	return st, nil
}

// commitStart commits the fill's start offsets of agent i's partitions for
// its group, so its consumer starts there.
func (sw *sweep) commitStart(ctx context.Context, group string, n, i int) error {
	ps, _ := sw.fill.share(sw.cfg.Partitions, n, i)
	os := kadm.Offsets{}
	for _, p := range ps {
		os.Add(kadm.Offset{Topic: sw.cfg.Topic, Partition: p, At: sw.fill.start[p], LeaderEpoch: -1})
	}
	resp, err := sw.adm.CommitOffsets(ctx, group, os)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		return fmt.Errorf("committing the start offsets of group %s: %w", group, err)
	}
	return nil
}

// waitCommitted polls every group's committed offsets until each reaches
// its share's end, and returns when each did; a task that ends with an
// error meanwhile is a RefusedError.
func (sw *sweep) waitCommitted(ctx context.Context, ts []task, groups []string, n int) ([]time.Time, error) {
	doneAt := make([]time.Time, len(ts))
	left := len(ts)
	for round := 0; ; round++ {
		for i := range ts {
			if !doneAt[i].IsZero() {
				continue
			}
			if sw.committed(ctx, groups[i], n, i) {
				doneAt[i], left = time.Now(), left-1
			} else if round%20 == 19 {
				if st, err := sw.co.Task(ctx, ts[i].id); err == nil && st.Error != "" {
					return nil, refused(ts[i].agent.Name, ts[i].id, sw.boot, st.Error)
				}
			}
		}
		if left == 0 {
			return doneAt, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the consume tasks' groups to reach the end (--task-timeout %s): %w", sw.cfg.TaskTimeout, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// committed reports whether group has committed the end of agent i's share.
func (sw *sweep) committed(ctx context.Context, group string, n, i int) bool {
	resp, err := sw.adm.FetchOffsets(ctx, group)
	if err != nil {
		return false
	}
	ps, _ := sw.fill.share(sw.cfg.Partitions, n, i)
	for _, p := range ps {
		o, ok := resp.Lookup(sw.cfg.Topic, p)
		if !ok || o.Err != nil || o.At < sw.fill.end[p] {
			return false
		}
	}
	return true
}

// consumeKpar is the in-process side of an n-agent consume step: n
// franz-go consumers in this process, each reading the same share of the
// fill an agent read, timed from the first client's creation to the last
// one's close.
func (sw *sweep) consumeKpar(ctx context.Context, n int) (KparRun, error) {
	c := sw.cfg
	var total int64
	for i := range n {
		_, want := sw.fill.share(c.Partitions, n, i)
		total += want
	}
	ms, err := inProcess(ctx, n, func(ctx context.Context, i int) error {
		ps, want := sw.fill.share(c.Partitions, n, i)
		return sw.readShare(ctx, ps, want)
	})
	if err != nil {
		return KparRun{}, err
	}
	return newKparRun(n, total, ms, c.Settings.RecordBytes), nil
}

// readShare reads want records from partitions ps, from the fill's start.
func (sw *sweep) readShare(ctx context.Context, ps []int32, want int64) error {
	at := map[int32]kgo.Offset{}
	for _, p := range ps {
		at[p] = kgo.NewOffset().At(sw.fill.start[p])
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(sw.cfg.Brokers...), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{sw.cfg.Topic: at}))
	if err != nil {
		return err
	}
	defer cl.Close()
	for got := int64(0); got < want; {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return err
		}
		if errs := fs.Errors(); len(errs) > 0 {
			return fmt.Errorf("in-process consumer, %s[%d]: %w", errs[0].Topic, errs[0].Partition, errs[0].Err)
		}
		got += int64(fs.NumRecords())
	}
	return nil
}
