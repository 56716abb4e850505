package groupsettings

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

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
	var errs []error
	if len(s.Brokers) == 0 || s.Topic == "" || s.Group == "" || s.Log == "" {
		errs = append(errs, errors.New("brokers, topic, group and log are required"))
	}
	if s.Mode != ModeAutoSync && s.Mode != ModeAutoPool && s.Mode != ModeManual {
		errs = append(errs, fmt.Errorf("mode %q: want one of %s", s.Mode, strings.Join(commitModes, ", ")))
	}
	if s.MaxPoll < 1 || s.Workers < 1 || s.KillAfter < 0 || s.AutoCommitInterval <= 0 || s.Latency < 0 {
		errs = append(errs, errors.New("max poll, workers and the autocommit interval must be positive, kill after and latency not negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := out.Write(readyLine{Ready: true}); err != nil {
		return err
	}
	if err := runMember(ctx, s); err != nil {
		return fmt.Errorf("member: %w", err)
	}
	return nil
}

func runMember(ctx context.Context, s MemberSpec) error {
	m, err := newMemberRun(s)
	if err != nil {
		return err
	}
	defer m.close()
	var pool *memberPool
	if s.Mode == ModeAutoPool {
		pool = m.startPool(ctx)
	}
	loopErr := m.consume(ctx, pool)
	if pool != nil {
		// The pool finishes what it was handed before Close's final commit.
		close(pool.jobs)
		pool.wg.Wait()
		if err := pool.failed(); err != nil && loopErr == nil {
			loopErr = err
		}
	}
	return loopErr
}

// memberRun is the member's consuming: its group client, the processed-log
// writer and the entries written so far.
type memberRun struct {
	s       MemberSpec
	cl, log *kgo.Client
	entries atomic.Int64
}

func newMemberRun(s MemberSpec) (*memberRun, error) {
	// Static membership: the restarted process takes the dead one's
	// partitions at once instead of waiting out its session.
	opts := []kgo.Opt{kgo.SeedBrokers(s.Brokers...), kgo.ConsumerGroup(s.Group), kgo.ConsumeTopics(s.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.InstanceID("m0"),
		kgo.FetchMaxWait(200 * time.Millisecond)}
	if s.Mode == ModeManual {
		opts = append(opts, kgo.DisableAutoCommit())
	} else {
		opts = append(opts, kgo.AutoCommitInterval(s.AutoCommitInterval))
	}
	cl, err := kgo.NewClient(append(opts, s.ClientOpts...)...)
	if err != nil {
		return nil, err
	}
	logCl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(s.Brokers...)}, s.ClientOpts...)...)
	if err != nil {
		cl.Close()
		return nil, err
	}
	return &memberRun{s: s, cl: cl, log: logCl}, nil
}

func (m *memberRun) close() {
	m.log.Close()
	m.cl.Close()
}

// process is the record's processing: its entry on the broker. The context
// never ends, so a record handed to processing is finished.
func (m *memberRun) process(ctx context.Context, r *kgo.Record) error {
	rec, err := workload.DecodeRecord(r.Value)
	if err != nil {
		return err
	}
	time.Sleep(m.s.Latency)
	e := workload.Entry{Record: rec, Worker: "m0", Incarnation: m.s.Incarnation, Outcome: workload.OK, Attempts: 1}
	if err := m.log.ProduceSync(context.WithoutCancel(ctx), &kgo.Record{Topic: m.s.Log, Key: []byte(rec.Key), Value: workload.EncodeEntry(e)}).FirstErr(); err != nil {
		return fmt.Errorf("processed-log write: %w", err)
	}
	if n := m.entries.Add(1); m.s.KillAfter > 0 && n == m.s.KillAfter {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal lands before anything else runs here
	}
	return nil
}

// memberPool is the auto-pool mode's workers: the loop hands them records
// and polls on.
type memberPool struct {
	jobs chan *kgo.Record
	wg   sync.WaitGroup
	err  atomic.Pointer[error]
}

func (m *memberRun) startPool(ctx context.Context) *memberPool {
	p := &memberPool{jobs: make(chan *kgo.Record, 1000)}
	for range m.s.Workers {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for r := range p.jobs {
				if err := m.process(ctx, r); err != nil {
					p.err.CompareAndSwap(nil, &err)
				}
			}
		}()
	}
	return p
}

// failed is the pool's first processing error (nil for no pool).
func (p *memberPool) failed() error {
	if p == nil {
		return nil
	}
	if e := p.err.Load(); e != nil {
		return *e
	}
	return nil
}

// consume polls until ctx ends or processing fails: each record processed
// in the loop (or handed to the pool), and in the manual mode the poll's
// records committed once processed.
func (m *memberRun) consume(ctx context.Context, pool *memberPool) error {
	var loopErr error
	for ctx.Err() == nil && loopErr == nil {
		fs := m.cl.PollRecords(ctx, m.s.MaxPoll)
		if ctx.Err() != nil {
			break
		}
		for _, fe := range fs.Errors() {
			loopErr = fmt.Errorf("poll %s/%d: %w", fe.Topic, fe.Partition, fe.Err)
		}
		recs := fs.Records()
		for _, r := range recs {
			if loopErr != nil {
				break
			}
			if pool != nil {
				pool.jobs <- r
			} else {
				loopErr = m.process(ctx, r)
			}
		}
		if loopErr == nil && m.s.Mode == ModeManual && len(recs) > 0 {
			if err := m.cl.CommitRecords(context.WithoutCancel(ctx), recs...); err != nil {
				loopErr = fmt.Errorf("commit: %w", err)
			}
		}
		if err := pool.failed(); err != nil {
			loopErr = err
		}
	}
	return loopErr
}
