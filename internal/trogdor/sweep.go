package trogdor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/kpar/kpar/internal/env"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/kafka"
	"github.com/kpar/kpar/internal/results"
)

// Config is one distributed produce sweep.
type Config struct {
	Coordinator string    // the coordinator's URL
	Agents      []Process // the agents, in the order steps take them
	SharedHost  bool      // every agent runs on one host (Up); said in the result
	Steps       []int     // agents per step, ascending: 1, 2, 4 ...
	Records     int64     // records each agent sends per step
	Topic       string
	Partitions  int
	Replication int
	Settings    Settings
	// AgentBootstrap is what the agents are told, which on other hosts may
	// be another address than the Env's Brokers, where kpar itself reaches
	// the cluster (topic, end offsets, calibration). Empty: Brokers.
	AgentBootstrap string
	// WarmupRecords each agent sends once before the first step, not
	// measured: a fresh agent JVM's first worker pays class loading and
	// JIT on its clock otherwise. 0: none.
	WarmupRecords int64
	Calibrate     bool          // also run one in-process kpar producer beside the 1-agent step
	TaskTimeout   time.Duration // the longest one step may take (each task's durationMs)
	Seed          int64         // seeds the agents' random values
	env.Env                     // brokers, command line, progress notes
}

// DefaultConfig holds the defaults the command's flags show.
func DefaultConfig() Config {
	return Config{Steps: []int{1, 2, 4}, Records: 200_000, Topic: "kpar-trogdor", Partitions: 12, Replication: 1,
		Settings:  Settings{Acks: "all", Idempotence: true, Linger: 5 * time.Millisecond, BatchBytes: 64 << 10, Compression: "none", MaxInFlight: 5, RecordBytes: 100},
		Calibrate: true, TaskTimeout: 10 * time.Minute}
}

// Validate names the flag of a bad setting; it touches nothing.
func (c Config) Validate() error {
	if err := c.Settings.Validate(); err != nil {
		return err
	}
	for i, s := range c.Steps {
		if s < 1 || (i > 0 && s <= c.Steps[i-1]) {
			return fmt.Errorf("--steps %v: want ascending agent counts from 1", c.Steps)
		}
	}
	switch {
	case len(c.Steps) == 0:
		return errors.New("--steps: none given")
	case c.Calibrate && c.Steps[0] != 1:
		return fmt.Errorf("--steps %v: calibration compares with the 1-agent step; start at 1 or pass --calibrate=false", c.Steps)
	case c.Records < 1:
		return fmt.Errorf("--records %d: want at least 1 per agent", c.Records)
	case c.Topic == "":
		return errors.New("--topic: none given")
	case c.Partitions < 1:
		return fmt.Errorf("--partitions %d: want at least 1", c.Partitions)
	case c.Replication < 1:
		return fmt.Errorf("--replication %d: want at least 1", c.Replication)
	case c.WarmupRecords < 0:
		return fmt.Errorf("--warmup-records %d: want 0 or more", c.WarmupRecords)
	case c.TaskTimeout < time.Second:
		return fmt.Errorf("--task-timeout %s: want at least 1s", c.TaskTimeout)
	}
	return nil
}

// CheckAgents refuses steps needing more agents than the platform has.
func (c Config) CheckAgents() error {
	if last := c.Steps[len(c.Steps)-1]; last > len(c.Agents) {
		return fmt.Errorf("--steps %v: the largest step needs %d agents, the platform has %d (kpar trogdor up --agents %d)", c.Steps, last, len(c.Agents), last)
	}
	return nil
}

// agentStatus is ProduceBenchWorker.StatusData, the status each agent's
// worker reports.
type agentStatus struct {
	TotalSent    int64   `json:"totalSent"`
	AverageMs    float64 `json:"averageLatencyMs"`
	P50LatencyMs int     `json:"p50LatencyMs"`
	P95LatencyMs int     `json:"p95LatencyMs"`
	P99LatencyMs int     `json:"p99LatencyMs"`
}

// RefusedError is a task Trogdor would not run or failed: the agent, the
// task and Trogdor's reason, on one line.
type RefusedError struct {
	Node, Task, Bootstrap, Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("Trogdor task %s for node %s (bootstrap %s) failed: %s", e.Task, e.Node, e.Bootstrap, e.Reason)
}

// Run creates the topic if missing, then runs every step: one
// ProduceBenchSpec per agent, all posted together, waited for, read back
// from each agent and checked against the topic's end offsets.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	if err := cfg.CheckAgents(); err != nil {
		return Result{}, err
	}
	boot := cfg.AgentBootstrap
	if boot == "" {
		boot = strings.Join(cfg.Brokers, ",")
	}
	res := Result{Header: results.NewHeader(Schema, SchemaVersion, cfg.Command), TrogdorVersion: Version,
		Settings: cfg.Settings, Topic: cfg.Topic, Partitions: cfg.Partitions, Records: cfg.Records,
		SharedHost: cfg.SharedHost, AgentBootstrap: boot, Seed: cfg.Seed}
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Brokers...))
	if err != nil {
		return Result{}, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	// An existing topic must have the partitions asked for (Trogdor
	// verifies it the same way).
	counts, err := kafka.Create(ctx, adm, []kafka.Topic{{Name: cfg.Topic, Partitions: cfg.Partitions, RF: cfg.Replication}}, kafka.Existing())
	if err != nil {
		return Result{}, fmt.Errorf("--topic %s (%d partitions, replication %d): %w", cfg.Topic, cfg.Partitions, cfg.Replication, err)
	}
	if counts[cfg.Topic] != cfg.Partitions {
		return Result{}, fmt.Errorf("--topic %s exists with %d partitions, not --partitions %d: name another topic or match it", cfg.Topic, counts[cfg.Topic], cfg.Partitions)
	}
	co := NewClient(cfg.Coordinator)
	runID := time.Now().UTC().Format("20060102T150405")
	if cfg.WarmupRecords > 0 {
		last := cfg.Steps[len(cfg.Steps)-1]
		cfg.Progress.Note("warm-up: %d records on each of %d agent(s), not measured", cfg.WarmupRecords, last)
		w := cfg
		w.Records = cfg.WarmupRecords
		if _, err := runStep(ctx, w, co, adm, boot, runID+"-warmup", last); err != nil {
			return Result{}, err
		}
		res.WarmupRecords = cfg.WarmupRecords
	}
	for _, n := range cfg.Steps {
		cfg.Progress.Note("step %d agent(s): %d records each", n, cfg.Records)
		st, err := runStep(ctx, cfg, co, adm, boot, runID, n)
		if err != nil {
			return Result{}, err
		}
		res.Steps = append(res.Steps, st)
		cfg.Progress.Note("step %d agent(s): %.0f records/s, %d written", n, st.RecordsPerSec, st.Written)
		if n == 1 && cfg.Calibrate {
			cfg.Progress.Note("calibration: one in-process kpar (franz-go) producer, %d records", cfg.Records)
			cal, err := runKpar(ctx, adm, cfg)
			if err != nil {
				return Result{}, err
			}
			res.Kpar = &cal
		}
	}
	res.Analyze()
	res.Header.Finish()
	return res, nil
}

func runStep(ctx context.Context, cfg Config, co *Client, adm *kadm.Client, boot, runID string, n int) (Step, error) {
	before, err := endOffsets(ctx, adm, cfg.Topic)
	if err != nil {
		return Step{}, err
	}
	agents := cfg.Agents[:n]
	ids := make([]string, n)
	for i, a := range agents {
		ids[i] = fmt.Sprintf("kpar-produce-%s-n%d-%s", runID, n, a.Name)
		if err := co.CreateTask(ctx, ids[i], cfg.produceSpec(a.Name, boot, cfg.Seed+int64(i)<<32)); err != nil {
			return Step{}, fmt.Errorf("coordinator %s refused task %s for node %s: %w", cfg.Coordinator, ids[i], a.Name, err)
		}
	}
	// Forget the tasks afterwards, on success or not, so nothing keeps
	// running on an agent after we returned.
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		for _, id := range ids {
			_ = co.DestroyTask(dctx, id)
		}
	}()
	wctx, cancel := context.WithTimeout(ctx, cfg.TaskTimeout+30*time.Second)
	defer cancel()
	hc := &http.Client{Timeout: 10 * time.Second}
	st := Step{Agents: n}
	for i, a := range agents {
		ts, err := co.Wait(wctx, ids[i], 200*time.Millisecond)
		if err != nil {
			return Step{}, fmt.Errorf("waiting for Trogdor task %s on %s: %w", ids[i], a.Name, err)
		}
		refused := func(reason string) error {
			line, _, _ := strings.Cut(strings.TrimSpace(reason), "\n")
			return &RefusedError{Node: a.Name, Task: ids[i], Bootstrap: boot, Reason: line}
		}
		if ts.Error != "" {
			return Step{}, refused(ts.Error)
		}
		// The agent's own record: its clock for start and end, and the
		// worker's final status.
		ws, err := AgentWorkers(wctx, hc, a.URL())
		if err != nil {
			return Step{}, fmt.Errorf("the Trogdor agent %s at %s: %w", a.Name, a.URL(), err)
		}
		w, ok := ws[ids[i]]
		if !ok {
			return Step{}, fmt.Errorf("the Trogdor agent %s has no worker for task %s", a.Name, ids[i])
		}
		if w.Error != "" {
			return Step{}, refused(w.Error)
		}
		var s agentStatus
		if err := json.Unmarshal(w.Status, &s); err != nil {
			return Step{}, fmt.Errorf("the Trogdor agent %s, task %s: status %s: %w", a.Name, ids[i], w.Status, err)
		}
		if s.TotalSent != cfg.Records {
			return Step{}, fmt.Errorf("the Trogdor agent %s, task %s: %d of %d records sent (did it reach --task-timeout %s?)", a.Name, ids[i], s.TotalSent, cfg.Records, cfg.TaskTimeout)
		}
		st.PerAgent = append(st.PerAgent, AgentRun{Node: a.Name, Records: s.TotalSent, StartedMs: w.StartedMs, DoneMs: w.DoneMs,
			AvgLatencyMs: s.AverageMs, P50LatencyMs: s.P50LatencyMs, P95LatencyMs: s.P95LatencyMs, P99LatencyMs: s.P99LatencyMs})
	}
	after, err := endOffsets(ctx, adm, cfg.Topic)
	if err != nil {
		return Step{}, err
	}
	st.Written = after - before
	st.fill(cfg.Settings.RecordBytes)
	return st, nil
}

// endOffsets sums topic's end offsets: the records it holds plus those
// deleted, so the difference of two sums is the records written between.
func endOffsets(ctx context.Context, adm *kadm.Client, topic string) (int64, error) {
	ends, err := kafka.Ends(ctx, adm, topic)
	return ends.Sum(), err
}
