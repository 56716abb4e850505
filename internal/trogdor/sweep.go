package trogdor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/env"
	"github.com/kpar/kpar/internal/kafka"
)

// Workload is what every agent runs in a step: one of Trogdor's three
// client workloads.
type Workload string

const (
	// Produce is ProduceBenchSpec: each agent sends Records records.
	Produce Workload = "produce"
	// Consume is ConsumeBenchSpec: the largest step's agents first fill
	// the topic with Records each (not measured); each step then reads
	// exactly those records, the partitions split among its agents.
	Consume Workload = "consume"
	// RoundTrip is RoundTripWorkloadSpec: each agent sends Records
	// records to a topic of its own and reads every one back.
	RoundTrip Workload = "roundtrip"
)

// Workloads lists the accepted workloads.
var Workloads = []Workload{Produce, Consume, RoundTrip}

// Config is one distributed sweep.
type Config struct {
	Coordinator string    // the coordinator's URL
	Agents      []Process // the agents, in the order steps take them
	SharedHost  bool      // every agent runs on one host (Up); said in the result
	Workload    Workload
	Steps       []int // agents per step, ascending: 1, 2, 4 ...
	Records     int64 // records each agent sends per step (consume: fills)
	Topic       string
	Partitions  int
	Replication int
	Settings    Settings
	// AgentBootstrap is what the agents are told, which on other hosts may
	// be another address than the Env's Brokers, where kpar itself reaches
	// the cluster (topic, end offsets, the in-process clients). Empty:
	// Brokers.
	AgentBootstrap string
	// WarmupRecords each agent sends once before the first step, not
	// measured: a fresh agent JVM's first worker pays class loading and
	// JIT on its clock otherwise. 0: none.
	WarmupRecords int64
	// Calibrate runs, right after each N-agent step, N kpar (franz-go)
	// clients in this process with the same settings and records: the
	// in-process curve beside the agents', and at 1 the calibration.
	// Produce and consume only: round trip has no in-process side.
	Calibrate   bool
	TaskTimeout time.Duration // the longest one step may take (each task's durationMs)
	Seed        int64         // seeds the agents' random values
	env.Env                   // brokers, command line, progress notes
}

// DefaultConfig holds the defaults the command's flags show.
func DefaultConfig() Config {
	return Config{Workload: Produce, Steps: []int{1, 2, 4}, Records: 200_000, Topic: "kpar-trogdor", Partitions: 12, Replication: 1,
		Settings:  Settings{Acks: "all", Idempotence: true, Linger: 5 * time.Millisecond, BatchBytes: 64 << 10, Compression: "none", MaxInFlight: 5, RecordBytes: 100},
		Calibrate: true, TaskTimeout: 10 * time.Minute}
}

// Validate names the flag of a bad setting; it touches nothing.
func (c Config) Validate() error {
	if !slices.Contains(Workloads, c.Workload) {
		return fmt.Errorf("--workload %q: want produce, consume or roundtrip", c.Workload)
	}
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
	case c.Records < 1:
		return fmt.Errorf("--records %d: want at least 1 per agent", c.Records)
	case c.Topic == "":
		return errors.New("--topic: none given")
	case c.Partitions < 1:
		return fmt.Errorf("--partitions %d: want at least 1", c.Partitions)
	case c.Workload == Consume && c.Partitions < c.Steps[len(c.Steps)-1]:
		return fmt.Errorf("--partitions %d: the consume workload splits the partitions among a step's agents; want at least %d (the largest --steps)", c.Partitions, c.Steps[len(c.Steps)-1])
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

// RefusedError is a task Trogdor would not run or failed: the agent, the
// task and Trogdor's reason, on one line.
type RefusedError struct {
	Node, Task, Bootstrap, Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("Trogdor task %s for node %s (bootstrap %s) failed: %s", e.Task, e.Node, e.Bootstrap, e.Reason)
}

func refused(node, task, boot, reason string) error {
	line, _, _ := strings.Cut(strings.TrimSpace(reason), "\n")
	return &RefusedError{Node: node, Task: task, Bootstrap: boot, Reason: line}
}

// sweep is one run's shared state: the clients, the agents' bootstrap, the
// run's id (in every task's name) and the CPU probe.
type sweep struct {
	cfg   Config
	co    *Client
	adm   *kadm.Client
	boot  string
	runID string
	cpu   cpuProbe
	fill  *fill // the consume workload's records
}

// Run creates the topic if missing, then runs every step: one task per
// agent, all posted together, waited for, read back from each agent and
// checked against the topic's end offsets; with Calibrate, N in-process
// kpar clients after each N-agent step.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	if err := cfg.CheckAgents(); err != nil {
		return Result{}, err
	}
	sw := &sweep{cfg: cfg, co: NewClient(cfg.Coordinator), boot: cfg.AgentBootstrap, runID: time.Now().UTC().Format("20060102T150405")}
	if sw.boot == "" {
		sw.boot = strings.Join(cfg.Brokers, ",")
	}
	res := Result{Header: Kind.Header(cfg.Command), TrogdorVersion: Version, Workload: cfg.Workload,
		Settings: cfg.Settings, Topic: cfg.Topic, Partitions: cfg.Partitions, Records: cfg.Records,
		SharedHost: cfg.SharedHost, AgentBootstrap: sw.boot, Seed: cfg.Seed}
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Brokers...))
	if err != nil {
		return Result{}, err
	}
	defer cl.Close()
	sw.adm = kadm.NewClient(cl)
	sw.cpu = newCPUProbe(cfg.Brokers, cfg.Agents, cfg.SharedHost)
	if err := sw.createTopic(ctx); err != nil {
		return Result{}, err
	}
	if err := sw.prepare(ctx, &res); err != nil {
		return Result{}, err
	}
	for _, n := range cfg.Steps {
		st, err := sw.step(ctx, n)
		if err != nil {
			return Result{}, err
		}
		res.Steps = append(res.Steps, st)
	}
	res.Analyze()
	res.Header.Finish()
	return res, nil
}

// createTopic makes the topic; an existing one must have the partitions
// asked for (Trogdor verifies it the same way).
func (sw *sweep) createTopic(ctx context.Context) error {
	c := sw.cfg
	counts, err := kafka.Create(ctx, sw.adm, []kafka.Topic{{Name: c.Topic, Partitions: c.Partitions, RF: c.Replication}}, kafka.Existing())
	if err != nil {
		return fmt.Errorf("--topic %s (%d partitions, replication %d): %w", c.Topic, c.Partitions, c.Replication, err)
	}
	if counts[c.Topic] != c.Partitions {
		return fmt.Errorf("--topic %s exists with %d partitions, not --partitions %d: name another topic or match it", c.Topic, counts[c.Topic], c.Partitions)
	}
	return nil
}

// prepare warms the agents up (a produce task each, not measured) and, for
// the consume workload, fills the topic.
func (sw *sweep) prepare(ctx context.Context, res *Result) error {
	c := sw.cfg
	last := c.Steps[len(c.Steps)-1]
	if c.WarmupRecords > 0 {
		c.Progress.Note("warm-up: %d records on each of %d agent(s), not measured", c.WarmupRecords, last)
		w := *sw
		w.cfg.Records = c.WarmupRecords
		if _, err := w.produceStep(ctx, sw.runID+"-warmup", last); err != nil {
			return err
		}
		res.WarmupRecords = c.WarmupRecords
	}
	if c.Workload != Consume {
		return nil
	}
	c.Progress.Note("fill: %d records from each of %d agent(s), read by every consume step", c.Records, last)
	f, err := sw.fillTopic(ctx, last)
	if err != nil {
		return err
	}
	sw.fill, res.FillRecords, res.FillAgents = f, f.records, last
	return nil
}

// step runs one step of the workload, then its in-process counterpart.
func (sw *sweep) step(ctx context.Context, n int) (Step, error) {
	c := sw.cfg
	c.Progress.Note("step %d agent(s): %s", n, c.Workload)
	var st Step
	var err error
	switch c.Workload {
	case Produce:
		st, err = sw.produceStep(ctx, sw.runID, n)
	case Consume:
		st, err = sw.consumeStep(ctx, n)
	case RoundTrip:
		st, err = sw.roundTripStep(ctx, n)
	}
	if err != nil {
		return Step{}, err
	}
	c.Progress.Note("step %d agent(s): %.0f records/s, %d records", n, st.RecordsPerSec, st.Records)
	if !c.Calibrate || c.Workload == RoundTrip {
		return st, nil
	}
	c.Progress.Note("in-process: %d kpar (franz-go) client(s) in this process", n)
	var k KparRun
	if c.Workload == Produce {
		k, err = runKpar(ctx, sw.adm, c, n)
	} else {
		k, err = sw.consumeKpar(ctx, n)
	}
	if err != nil {
		return Step{}, err
	}
	st.InProcess = &k
	return st, nil
}

// endOffsets sums topic's end offsets: the records it holds plus those
// deleted, so the difference of two sums is the records written between.
func endOffsets(ctx context.Context, adm *kadm.Client, topic string) (int64, error) {
	ends, err := kafka.Ends(ctx, adm, topic)
	return ends.Sum(), err
}
