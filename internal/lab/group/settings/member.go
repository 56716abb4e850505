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
		return err
	}
	defer cl.Close()
	logCl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(s.brokers...)}, s.clientOpts...)...)
	if err != nil {
		return err
	}
	defer logCl.Close()

	var entries atomic.Int64
	// process is the record's processing: its entry on the broker. The
	// context never ends, so a record handed to processing is finished.
	process := func(r *kgo.Record) error {
		rec, err := workload.DecodeRecord(r.Value)
		if err != nil {
			return err
		}
		time.Sleep(s.latency)
		e := workload.Entry{Record: rec, Worker: "m0", Incarnation: s.incarnation, Outcome: workload.OK, Attempts: 1}
		if err := logCl.ProduceSync(context.WithoutCancel(ctx), &kgo.Record{Topic: s.log, Key: []byte(rec.Key), Value: workload.EncodeEntry(e)}).FirstErr(); err != nil {
			return fmt.Errorf("processed-log write: %w", err)
		}
		if n := entries.Add(1); s.killAfter > 0 && n == s.killAfter {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal lands before anything else runs here
		}
		return nil
	}

	var (
		jobs     chan *kgo.Record
		wg       sync.WaitGroup
		poolErr  atomic.Pointer[error]
		loopErr  error
		stopPool = func() {}
	)
	if s.mode == ModeAutoPool {
		jobs = make(chan *kgo.Record, 1000)
		for range s.workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := range jobs {
					if err := process(r); err != nil {
						poolErr.CompareAndSwap(nil, &err)
					}
				}
			}()
		}
		stopPool = func() { close(jobs); wg.Wait() }
	}
	for ctx.Err() == nil && loopErr == nil {
		fs := cl.PollRecords(ctx, s.maxPoll)
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
			if jobs != nil {
				jobs <- r
			} else {
				loopErr = process(r)
			}
		}
		if loopErr == nil && s.mode == ModeManual && len(recs) > 0 {
			if err := cl.CommitRecords(context.WithoutCancel(ctx), recs...); err != nil {
				loopErr = fmt.Errorf("commit: %w", err)
			}
		}
		if p := poolErr.Load(); p != nil {
			loopErr = *p
		}
	}
	// The pool finishes what it was handed before Close's final commit.
	stopPool()
	if p := poolErr.Load(); p != nil && loopErr == nil {
		loopErr = *p
	}
	return loopErr
}
