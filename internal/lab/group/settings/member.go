package settings

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/clientsec"
	"github.com/kpar/kpar/internal/lab/workload"
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

// ReadyLine is what a member prints once a SIGTERM would stop it cleanly.
const ReadyLine = "group-settings member ready"

// memberSpec is one member process's arguments.
type memberSpec struct {
	brokers            []string
	security           clientsec.Settings // TLS, SASL as flags, resolved into clientOpts by the member
	clientOpts         []kgo.Opt
	topic, group, log  string
	mode               string
	incarnation        int
	killAfter          int64 // SIGKILL itself at this many entries (0: never)
	maxPoll, workers   int
	autoCommitInterval time.Duration
	latency            time.Duration // per record, before its entry is written
}

func (s memberSpec) args() []string {
	return append([]string{"--brokers", strings.Join(s.brokers, ","), "--topic", s.topic, "--group", s.group,
		"--log", s.log, "--mode", s.mode, "--incarnation", fmt.Sprint(s.incarnation),
		"--kill-after", fmt.Sprint(s.killAfter), "--max-poll", fmt.Sprint(s.maxPoll),
		"--workers", fmt.Sprint(s.workers), "--autocommit-interval", s.autoCommitInterval.String(),
		"--latency", s.latency.String()}, s.security.Args()...)
}

// MemberMain is the autocommit experiment's member process (`kpar child
// group-settings-member`): it consumes topic in group, writes a
// processed-log entry per record (acks=all) as its processing, commits per
// --mode, and SIGKILLs itself the instant its --kill-after-th entry is
// acknowledged. It stops on ctx (SIGTERM) and prints ReadyLine on stdout
// once its arguments are good: the caller's signal handling is in place by
// then, so a SIGTERM stops it cleanly instead of killing it. The exit code is
// 0 on a clean stop, 2 on bad arguments, 1 otherwise.
func MemberMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var s memberSpec
	fs := flag.NewFlagSet("group-settings-member", flag.ContinueOnError)
	fs.SetOutput(stderr)
	brokers := fs.String("brokers", "", "seed brokers, comma-separated")
	fs.StringVar(&s.topic, "topic", "", "input topic")
	fs.StringVar(&s.group, "group", "", "consumer group")
	fs.StringVar(&s.log, "log", "", "processed-log topic")
	fs.StringVar(&s.mode, "mode", ModeManual, strings.Join(commitModes, ", "))
	fs.IntVar(&s.incarnation, "incarnation", 0, "which start of the member this is")
	fs.Int64Var(&s.killAfter, "kill-after", 0, "SIGKILL at this many processed-log entries (0: never)")
	fs.IntVar(&s.maxPoll, "max-poll", 100, "records per poll")
	fs.IntVar(&s.workers, "workers", 8, "pool size in the auto-pool mode")
	fs.DurationVar(&s.autoCommitInterval, "autocommit-interval", time.Second, "kgo's auto-commit period")
	fs.DurationVar(&s.latency, "latency", 0, "processing time per record, before its entry is written")
	s.security.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	for _, b := range strings.Split(*brokers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			s.brokers = append(s.brokers, b)
		}
	}
	var errs []error
	if len(s.brokers) == 0 || s.topic == "" || s.group == "" || s.log == "" {
		errs = append(errs, errors.New("--brokers, --topic, --group and --log are required"))
	}
	if s.mode != ModeAutoSync && s.mode != ModeAutoPool && s.mode != ModeManual {
		errs = append(errs, fmt.Errorf("--mode %q: want one of %s", s.mode, strings.Join(commitModes, ", ")))
	}
	if s.maxPoll < 1 || s.workers < 1 || s.killAfter < 0 || s.autoCommitInterval <= 0 || s.latency < 0 {
		errs = append(errs, errors.New("--max-poll, --workers and --autocommit-interval must be positive, --kill-after and --latency not negative"))
	}
	if sec, err := s.security.Resolve(os.Getenv); err != nil {
		errs = append(errs, err)
	} else {
		s.clientOpts = sec.Opts
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	fmt.Fprintln(stdout, ReadyLine)
	if err := runMember(ctx, s); err != nil {
		fmt.Fprintln(stderr, "member:", err)
		return 1
	}
	return 0
}

func runMember(ctx context.Context, s memberSpec) error {
	m, err := newMemberRun(s)
	if err != nil {
		return err
	}
	defer m.close()
	var pool *memberPool
	if s.mode == ModeAutoPool {
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
	s       memberSpec
	cl, log *kgo.Client
	entries atomic.Int64
}

func newMemberRun(s memberSpec) (*memberRun, error) {
	// Static membership: the restarted process takes the dead one's
	// partitions at once instead of waiting out its session.
	opts := []kgo.Opt{kgo.SeedBrokers(s.brokers...), kgo.ConsumerGroup(s.group), kgo.ConsumeTopics(s.topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.InstanceID("m0"),
		kgo.FetchMaxWait(200 * time.Millisecond)}
	if s.mode == ModeManual {
		opts = append(opts, kgo.DisableAutoCommit())
	} else {
		opts = append(opts, kgo.AutoCommitInterval(s.autoCommitInterval))
	}
	cl, err := kgo.NewClient(append(opts, s.clientOpts...)...)
	if err != nil {
		return nil, err
	}
	logCl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(s.brokers...)}, s.clientOpts...)...)
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
	time.Sleep(m.s.latency)
	e := workload.Entry{Record: rec, Worker: "m0", Incarnation: m.s.incarnation, Outcome: workload.OK, Attempts: 1}
	if err := m.log.ProduceSync(context.WithoutCancel(ctx), &kgo.Record{Topic: m.s.log, Key: []byte(rec.Key), Value: workload.EncodeEntry(e)}).FirstErr(); err != nil {
		return fmt.Errorf("processed-log write: %w", err)
	}
	if n := m.entries.Add(1); m.s.killAfter > 0 && n == m.s.killAfter {
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
	for range m.s.workers {
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
		fs := m.cl.PollRecords(ctx, m.s.maxPoll)
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
		if loopErr == nil && m.s.mode == ModeManual && len(recs) > 0 {
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
