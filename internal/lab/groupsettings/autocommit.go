package groupsettings

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/kafka"
	"github.com/kpar/kpar/internal/lab/checker"
	"github.com/kpar/kpar/internal/lab/labrun"
	"github.com/kpar/kpar/internal/lab/workload"
	"github.com/kpar/kpar/internal/proc"
)

// The autocommit experiment's commit modes.
const (
	// ModeAutoSync: kgo's auto-commit, records processed in the poll loop.
	ModeAutoSync = "auto"
	// ModeAutoPool: kgo's auto-commit, records handed to a worker pool and
	// the loop polls on.
	ModeAutoPool = "auto-pool"
	// ModeManual: auto-commit off, the loop commits a poll's records after
	// processing them.
	ModeManual = "manual"
)

var commitModes = []string{ModeAutoSync, ModeAutoPool, ModeManual}

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

var autoCommitRepeat = Repeat{
	Exact: []string{"crash_at"},
	Why:   "the kill is instant: which poll it lands in, how far a pool ran ahead of processing and when the auto-commit last ticked depend on fetch and thread timing, so lost and duplicated move between reruns; a mode that commits only processed records loses nothing on every run.",
}

// autoCommitCell: seeded input; member incarnation 0 SIGKILLs itself at the
// crash point; incarnation 1 (same static member) resumes from the group's
// commits until the group committed the whole input; then the checker reads
// the processed-log.
func autoCommitCell(ctx context.Context, k *cellKit, mode string) (AutoCommitCell, error) {
	cfg := k.cfg
	c := AutoCommitCell{Mode: mode, CrashAt: crashPoint(cfg.Seed, cfg.Records), MaxPoll: 100,
		LatencyMillis: float64(memberLatency) / float64(time.Millisecond)}
	if mode == ModeAutoPool {
		c.PoolWorkers = poolWorkers
	}
	if mode != ModeManual {
		c.AutoCommitIntervalSeconds = cfg.AutoCommitInterval.Seconds()
	}
	topic, err := k.input(ctx, cfg.Partitions, "autocommit", mode)
	if err != nil {
		return c, err
	}
	logTopic, err := k.topic(ctx, cfg.Partitions, "autocommit", mode, "log")
	if err != nil {
		return c, err
	}
	k.groups = append(k.groups, topic)
	spec := MemberSpec{Brokers: cfg.Brokers, Topic: topic, Group: topic, Log: logTopic, Mode: mode,
		KillAfter: int64(c.CrashAt), MaxPoll: 100, Workers: poolWorkers, AutoCommitInterval: cfg.AutoCommitInterval,
		Latency: memberLatency}
	cctx, cancel := context.WithTimeout(ctx, cfg.CellTimeout)
	defer cancel()
	started := time.Now()
	first, err := startMember(cfg, spec)
	if err != nil {
		return c, err
	}
	if c.Killed = first.wait(cctx); !c.Killed {
		c.Failure = "the first member did not die of its SIGKILL: " + first.describe()
	} else {
		spec.Incarnation, spec.KillAfter = 1, 0
		second, err := startMember(cfg, spec)
		if err != nil {
			return c, err
		}
		done := labrun.Until(cctx, 100*time.Millisecond, func() bool { return second.Exited() || k.committedThrough(cctx, topic, topic) })
		clean := second.stop()
		switch {
		case ctx.Err() != nil:
			return c, ctx.Err()
		case !done:
			c.Failure = fmt.Sprintf("the restarted member had not committed the input after %s: %s", cfg.CellTimeout, second.describe())
		case !clean:
			c.Failure = "the restarted member failed: " + second.describe()
		}
	}
	// Both members are gone: the input and the log are read to their ends,
	// and a read that gets no further for the cell timeout fails naming the
	// partition.
	input, log, err := checker.ReadTopics(ctx, kafka.Reader{Seeds: cfg.Brokers, ClientOpts: cfg.clientOpts, Stall: cfg.CellTimeout}, topic, logTopic, "")
	c.Check = checker.Check(input, log, started)
	return c, err
}

// member is one member process; timedOut: it did not end in time and was
// killed.
type member struct {
	*proc.Process
	ready    atomic.Bool // it wrote its ready line
	timedOut bool
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

// wait waits for the process to end on its own, killing it when ctx ends;
// it reports whether the process died of a SIGKILL of its own.
func (m *member) wait(ctx context.Context) bool {
	select {
	case <-m.Done():
		return m.ExitSignal() == syscall.SIGKILL
	case <-ctx.Done():
		m.Kill()
		m.timedOut = true
		return false
	}
}

// stop sends SIGTERM, once the member said it would stop cleanly on one,
// and SIGKILL 15 s later; it reports whether the member ended cleanly.
func (m *member) stop() bool {
	deadline := time.Now().Add(15 * time.Second)
	for !m.Exited() && !m.ready.Load() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	m.Stop(15 * time.Second)
	m.timedOut = m.ExitSignal() == syscall.SIGKILL
	return !m.timedOut && m.Wait() == nil
}

// describe is how the process ended and the tail of its output.
func (m *member) describe() string {
	how := "exited cleanly"
	switch {
	case m.timedOut:
		how = "did not end in time"
	case m.Wait() != nil:
		how = m.Wait().Error()
	}
	if tail := m.Tail(0); len(tail) > 600 {
		how += "; output: ..." + tail[len(tail)-600:]
	} else if tail != "" {
		how += "; output: " + tail
	}
	return how
}

// MemberSpec is one member process's spec (`kpar child
// group-settings-member` reads it on stdin); ClientOpts come from the
// security in its spec line.
type MemberSpec struct {
	Brokers            []string
	ClientOpts         []kgo.Opt `json:"-"`
	Topic, Group, Log  string
	Mode               string
	Incarnation        int
	KillAfter          int64 // SIGKILL itself at this many entries (0: never)
	MaxPoll, Workers   int
	AutoCommitInterval time.Duration
	Latency            time.Duration // per record, before its entry is written
}

// readyLine is what a member writes once a SIGTERM would stop it cleanly.
type readyLine struct {
	Ready bool `json:"ready"`
}

// RunMember is the autocommit experiment's member process (`kpar child
// group-settings-member`): it consumes Topic in Group, writes a
// processed-log entry per record (acks=all) as its processing, commits per
// Mode, and SIGKILLs itself the instant its KillAfter-th entry is
// acknowledged. It stops on ctx (SIGTERM, or stdin's end) and writes a
// ready line on out once its spec is good: the caller's signal handling is
// in place by then, so a SIGTERM stops it cleanly instead of killing it.
func RunMember(ctx context.Context, s MemberSpec, out *proc.Lines) error {
	switch {
	case len(s.Brokers) == 0 || s.Topic == "" || s.Group == "" || s.Log == "":
		return errors.New("brokers, topic, group and log are required")
	case !slices.Contains(commitModes, s.Mode):
		return fmt.Errorf("mode %q: want one of %s", s.Mode, strings.Join(commitModes, ", "))
	case s.MaxPoll < 1 || s.Workers < 1 || s.KillAfter < 0 || s.AutoCommitInterval <= 0 || s.Latency < 0:
		return errors.New("max poll, workers and the autocommit interval must be positive, kill after and latency not negative")
	}
	if err := out.Write(readyLine{Ready: true}); err != nil {
		return err
	}
	// Static membership: the restarted process takes the dead one's
	// partitions at once instead of waiting out its session.
	opts := []kgo.Opt{kgo.SeedBrokers(s.Brokers...), kgo.ConsumerGroup(s.Group), kgo.ConsumeTopics(s.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.InstanceID("m0"), kgo.FetchMaxWait(200 * time.Millisecond),
		kgo.AutoCommitInterval(s.AutoCommitInterval)}
	if s.Mode == ModeManual {
		opts = append(opts, kgo.DisableAutoCommit())
	}
	cl, err := kgo.NewClient(append(opts, s.ClientOpts...)...)
	if err != nil {
		return fmt.Errorf("member: %w", err)
	}
	defer cl.Close()
	logCl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(s.Brokers...)}, s.ClientOpts...)...)
	if err != nil {
		return fmt.Errorf("member: %w", err)
	}
	defer logCl.Close()
	if err := consume(ctx, s, cl, logCl); err != nil {
		return fmt.Errorf("member: %w", err)
	}
	return nil
}

// consume polls until ctx ends or processing fails: each record processed
// in the loop or handed to the pool, and in the manual mode the poll's
// records committed once processed. Processing a record is writing its
// entry; the write's context never ends, so a record handed to processing
// is finished.
func consume(ctx context.Context, s MemberSpec, cl, logCl *kgo.Client) error {
	var entries atomic.Int64
	process := func(r *kgo.Record) error {
		rec, err := workload.DecodeRecord(r.Value)
		if err != nil {
			return err
		}
		time.Sleep(s.Latency)
		e := workload.Entry{Record: rec, Worker: "m0", Incarnation: s.Incarnation, Outcome: workload.OK, Attempts: 1}
		if err := logCl.ProduceSync(context.WithoutCancel(ctx), &kgo.Record{Topic: s.Log, Key: []byte(rec.Key), Value: workload.EncodeEntry(e)}).FirstErr(); err != nil {
			return fmt.Errorf("processed-log write: %w", err)
		}
		if n := entries.Add(1); s.KillAfter > 0 && n == s.KillAfter {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal lands before anything else runs here
		}
		return nil
	}
	var poolErr atomic.Pointer[error]
	var pool sync.WaitGroup
	jobs := make(chan *kgo.Record, 1000)
	if s.Mode == ModeAutoPool {
		for range s.Workers {
			pool.Go(func() {
				for r := range jobs {
					if err := process(r); err != nil {
						poolErr.CompareAndSwap(nil, &err)
					}
				}
			})
		}
	}
	var err error
	for ctx.Err() == nil && err == nil {
		fs := cl.PollRecords(ctx, s.MaxPoll)
		if ctx.Err() != nil {
			break
		}
		for _, fe := range fs.Errors() {
			err = fmt.Errorf("poll %s/%d: %w", fe.Topic, fe.Partition, fe.Err)
		}
		recs := fs.Records()
		for _, r := range recs {
			if err != nil {
				break
			}
			if s.Mode == ModeAutoPool {
				jobs <- r
			} else {
				err = process(r)
			}
		}
		if err == nil && s.Mode == ModeManual && len(recs) > 0 {
			if cerr := cl.CommitRecords(context.WithoutCancel(ctx), recs...); cerr != nil {
				err = fmt.Errorf("commit: %w", cerr)
			}
		}
		if e := poolErr.Load(); e != nil {
			err = *e
		}
	}
	// The pool finishes what it was handed before Close's final commit.
	close(jobs)
	pool.Wait()
	if e := poolErr.Load(); e != nil && err == nil {
		err = *e
	}
	return err
}
