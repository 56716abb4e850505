package groupsettings

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kpar/kpar/internal/kafka"
	"github.com/kpar/kpar/internal/lab/checker"
	"github.com/kpar/kpar/internal/lab/labrun"
	"github.com/kpar/kpar/internal/lab/workload"
	"github.com/kpar/kpar/internal/proc"
)

// The member's shape: records take memberLatency each, so that the crash
// comes seconds into the stream, after several auto-commits, and a pool of
// poolWorkers still falls behind its poll loop.
const (
	memberLatency = 3 * time.Millisecond
	poolWorkers   = 4
)

// crashPoint is the seeded processed-log count at which the first member
// dies: in the middle half of the input, the same for every mode so that
// the modes are compared at one point.
func crashPoint(seed int64, records int) int {
	return records/4 + int(workload.Uint64(seed, streamCrash)%uint64(records/2))
}

func runAutoCommit(ctx context.Context, cfg Config) ([]AutoCommitCell, error) {
	return runCells(cfg, AutoCommit, Repeat{
		Exact: []string{"crash_at"},
		Why:   "the kill is instant: which poll it lands in, how far a pool ran ahead of processing and when the auto-commit last ticked depend on fetch and thread timing, so lost and duplicated move between reruns; a mode that commits only processed records loses nothing on every run.",
	}, func(mode string) (AutoCommitCell, error) { return autoCommitCell(ctx, cfg, mode) })
}

// autoCommitCell: seeded input; member incarnation 0 SIGKILLs itself at the
// crash point; incarnation 1 (same static member) resumes from the group's
// commits until the group committed the whole input; then the checker reads
// the processed-log.
func autoCommitCell(ctx context.Context, cfg Config, mode string) (AutoCommitCell, error) {
	c := AutoCommitCell{Mode: mode, CrashAt: crashPoint(cfg.Seed, cfg.Records), MaxPoll: 100,
		LatencyMillis: float64(memberLatency) / float64(time.Millisecond)}
	if mode == ModeAutoPool {
		c.PoolWorkers = poolWorkers
	}
	if mode != ModeManual {
		c.AutoCommitIntervalSeconds = cfg.AutoCommitInterval.Seconds()
	}
	k, err := newKit(cfg.Brokers, cfg.clientOpts...)
	if err != nil {
		return c, err
	}
	defer k.close()
	topic := name(cfg.Seed, "autocommit", mode)
	input, err := k.input(ctx, topic, cfg.Partitions, cfg.Seed+streamRecords, cfg.Records)
	if err != nil {
		return c, err
	}
	logTopic := topic + "-log"
	if err := k.topic(ctx, logTopic, cfg.Partitions); err != nil {
		return c, err
	}
	ends, err := kafka.EndsOf(ctx, k.adm, topic)
	if err != nil {
		return c, err
	}
	spec := MemberSpec{Brokers: cfg.Brokers, Topic: topic, Group: k.group(topic), Log: logTopic, Mode: mode,
		KillAfter: int64(c.CrashAt), MaxPoll: 100, Workers: poolWorkers, AutoCommitInterval: cfg.AutoCommitInterval,
		Latency: memberLatency}
	cctx, cancel := context.WithTimeout(ctx, cfg.CellTimeout)
	defer cancel()
	started := time.Now()

	first, err := startMember(cfg, spec)
	if err != nil {
		return c, err
	}
	state := first.wait(cctx)
	c.Killed = state.killed
	if !c.Killed {
		c.Failure = "the first member did not die of its SIGKILL: " + state.describe()
	}
	if c.Failure == "" {
		spec.Incarnation, spec.KillAfter = 1, 0
		second, err := startMember(cfg, spec)
		if err != nil {
			return c, err
		}
		done := labrun.Until(cctx, 100*time.Millisecond, func() bool { return second.Exited() || k.committedThrough(cctx, spec.Group, topic, ends) })
		end := second.stop()
		switch {
		case ctx.Err() != nil:
			return c, ctx.Err()
		case !done:
			c.Failure = fmt.Sprintf("the restarted member had not committed the input after %s: %s", cfg.CellTimeout, end.describe())
		case !end.clean():
			c.Failure = "the restarted member failed: " + end.describe()
		}
	}
	// Both members are gone: the log is read to its end, and a read that
	// gets no further for the cell timeout fails naming the partition.
	recs, err := kafka.Reader{Seeds: cfg.Brokers, ClientOpts: cfg.clientOpts, Stall: cfg.CellTimeout}.All(ctx, logTopic)
	if err != nil {
		return c, err
	}
	log := make([]checker.Processed, 0, len(recs))
	for _, r := range recs {
		e, err := workload.DecodeEntry(r.Value)
		if err != nil {
			return c, err
		}
		log = append(log, checker.Processed{Entry: e, At: r.Timestamp})
	}
	c.Check = checker.Check(input, log, started)
	return c, nil
}

// member is one running member process.
type member struct {
	*proc.Process
	ready atomic.Bool // it wrote its ready line
}

// startMember starts a member; wait and stop end it (not a context, whose
// end would look like the member's own SIGKILL).
func startMember(cfg Config, s MemberSpec) (*member, error) {
	m := &member{}
	var err error
	m.Process, err = cfg.Member(context.Background(), "group-settings-member", s, proc.Options{OnLine: func(b []byte) {
		var r readyLine
		if json.Unmarshal(b, &r) == nil && r.Ready {
			m.ready.Store(true)
		}
	}})
	if err != nil {
		return nil, fmt.Errorf("start member: %w", err)
	}
	return m, nil
}

// wait waits for the process to end on its own, killing it when ctx ends.
func (m *member) wait(ctx context.Context) memberEnd {
	select {
	case <-m.Done():
	case <-ctx.Done():
		m.Kill()
		return memberEnd{member: m, timedOut: true}
	}
	return m.end()
}

// stop sends SIGTERM, once the member said it would stop cleanly on one, and
// waits 15 s before SIGKILL.
func (m *member) stop() memberEnd {
	deadline := time.Now().Add(15 * time.Second)
	for !m.Exited() && !m.ready.Load() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	_ = m.Signal(syscall.SIGTERM)
	select {
	case <-m.Done():
	case <-time.After(15 * time.Second):
		m.Kill()
		return memberEnd{member: m, timedOut: true}
	}
	return m.end()
}

func (m *member) end() memberEnd {
	return memberEnd{member: m, killed: m.ExitSignal() == syscall.SIGKILL}
}

type memberEnd struct {
	*member
	killed, timedOut bool
}

func (e memberEnd) clean() bool { return !e.timedOut && e.Wait() == nil }

// describe is how the process ended and the tail of its output.
func (e memberEnd) describe() string {
	how := "exited cleanly"
	switch {
	case e.timedOut:
		how = "did not end in time"
	case e.Wait() != nil:
		how = e.Wait().Error()
	}
	tail := e.Tail(0)
	if len(tail) > 600 {
		tail = "..." + tail[len(tail)-600:]
	}
	if tail != "" {
		how += "; output: " + tail
	}
	return how
}
