package trogdor

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// task is one agent's task in a step.
type task struct {
	agent Process
	id    string
	spec  map[string]any
}

// tasksFor names one task per agent of the first n, kind and step in the
// name, and builds each one's spec.
func (sw *sweep) tasksFor(kind, runID string, n int, spec func(i int, a Process) map[string]any) []task {
	ts := make([]task, n)
	for i, a := range sw.cfg.Agents[:n] {
		ts[i] = task{agent: a, id: fmt.Sprintf("kpar-%s-%s-n%d-%s", kind, runID, n, a.Name), spec: spec(i, a)}
	}
	return ts
}

// post creates every task and returns the step's context, bounded by its
// tasks' duration and a margin; end destroys the tasks (on success or not,
// so nothing keeps running on an agent after the step returned).
func (sw *sweep) post(ctx context.Context, ts []task) (wctx context.Context, end func(), err error) {
	destroy := func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		for _, t := range ts {
			_ = sw.co.DestroyTask(dctx, t.id)
		}
	}
	for _, t := range ts {
		if err := sw.co.CreateTask(ctx, t.id, t.spec); err != nil {
			destroy()
			return nil, nil, fmt.Errorf("coordinator %s refused task %s for node %s: %w", sw.cfg.Coordinator, t.id, t.agent.Name, err)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, sw.cfg.TaskTimeout+30*time.Second)
	return wctx, func() { cancel(); destroy() }, nil
}

// done waits for task t to be DONE and returns its worker as its agent
// reports it (the agent's clock, the worker's final status); a task that
// ended with an error is a RefusedError.
func (sw *sweep) done(ctx context.Context, t task) (TaskState, error) {
	ts, err := sw.co.Wait(ctx, t.id, 100*time.Millisecond)
	if err != nil {
		return TaskState{}, fmt.Errorf("waiting for Trogdor task %s on %s: %w", t.id, t.agent.Name, err)
	}
	if ts.Error != "" {
		return TaskState{}, refused(t.agent.Name, t.id, sw.boot, ts.Error)
	}
	return sw.worker(ctx, t)
}

// worker reads task t's worker from its agent.
func (sw *sweep) worker(ctx context.Context, t task) (TaskState, error) {
	ws, err := AgentWorkers(ctx, &http.Client{Timeout: 10 * time.Second}, t.agent.URL())
	if err != nil {
		return TaskState{}, fmt.Errorf("the Trogdor agent %s at %s: %w", t.agent.Name, t.agent.URL(), err)
	}
	w, ok := ws[t.id]
	if !ok {
		return TaskState{}, fmt.Errorf("the Trogdor agent %s has no worker for task %s", t.agent.Name, t.id)
	}
	if w.Error != "" {
		return TaskState{}, refused(t.agent.Name, t.id, sw.boot, w.Error)
	}
	return w, nil
}

// runTasks posts ts, waits for each to end and reads its status (an S) back
// from its agent into the agent's run: the loop the produce and round-trip
// steps share. A task whose count (sent, read back: what) is short of
// --records fails the step; lat, when not nil, gives the run's latency.
// The step's CPU is over the tasks' life.
func runTasks[S any](ctx context.Context, sw *sweep, ts []task, n int, what string, count func(S) int64, lat func(S) *Latency) (Step, error) {
	c := sw.cfg
	cpu0 := sw.cpu.read()
	wctx, end, err := sw.post(ctx, ts)
	if err != nil {
		return Step{}, err
	}
	defer end()
	st := Step{Agents: n}
	for _, t := range ts {
		w, err := sw.done(wctx, t)
		if err != nil {
			return Step{}, err
		}
		var s S
		if err := json.Unmarshal(w.Status, &s); err != nil {
			return Step{}, fmt.Errorf("the Trogdor agent %s, task %s: status %s: %w", t.agent.Name, t.id, w.Status, err)
		}
		if got := count(s); got != c.Records {
			return Step{}, fmt.Errorf("the Trogdor agent %s, task %s: %d of %d records %s (did it reach --task-timeout %s?)", t.agent.Name, t.id, got, c.Records, what, c.TaskTimeout)
		}
		run := AgentRun{Node: t.agent.Name, Records: count(s), StartedMs: w.StartedMs, DoneMs: w.DoneMs}
		if lat != nil {
			run.Latency = lat(s)
		}
		st.PerAgent = append(st.PerAgent, run)
	}
	st.CPU = sw.cpu.since(cpu0)
	return st, nil
}
