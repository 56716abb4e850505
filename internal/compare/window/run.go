package window

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/clientsec"
	"github.com/kpar/kpar/internal/pc"
)

// metadataLimit is Kafka's default offset.metadata.max.bytes: kpar's
// default MaxMetadataBytes and PC's hard-coded limit.
const metadataLimit = 4096

// Run prepares the topic and runs, for each library in c.Only, the run
// through and the restart. A stall is a measured outcome, not an error. A
// part that fails is kept in the Result with its reason (Failed) and the
// others still run; the error is then non-nil and names every failed part,
// and the Result holds every part that completed. A cancelled ctx stops
// the experiment: the part it interrupted is marked failed, the parts not
// started are left out. Without the topic (or with a bad Config) the
// Result is empty.
func Run(ctx context.Context, c Config) (Result, error) {
	if err := c.Validate(); err != nil {
		return Result{}, err
	}
	if len(c.Brokers) == 0 {
		return Result{}, errors.New("window: no brokers given")
	}
	logf := c.Progress.Note
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.Brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner())}, c.Opts()...)...)
	if err != nil {
		return Result{}, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)

	topic := c.Topic
	if topic == "" {
		topic = fmt.Sprintf("kpar-window-%dp-%dr-%dk", c.Partitions, c.RecordsPerPartition, c.Keys)
	}
	logf("window: preparing %d x %d records in %s", c.Partitions, c.RecordsPerPartition, topic)
	keys, err := prepare(ctx, cl, adm, c, topic)
	if err != nil {
		return Result{}, err
	}
	dir := c.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "kpar-window-"); err != nil {
			return Result{}, err
		}
		defer os.RemoveAll(dir)
	}
	res := Result{Brokers: c.Brokers, Topic: topic, Partitions: c.Partitions, RecordsPerPartition: c.RecordsPerPartition,
		KeysPerPartition: keys, Order: c.Order.String(), StuckOffset: c.StuckOffset, MaxHoldS: c.MaxHold.Seconds(),
		Concurrency: c.Concurrency, SessionTimeoutS: c.SessionTimeout.Seconds(), PCVersion: pc.PCVersion,
		PCJVMFlags: c.PCJVMFlags, MetadataLimit: metadataLimit}
	r := runner{c: c, adm: adm, topic: topic, dir: dir, logf: logf}
	for range c.Partitions {
		r.start = append(r.start, 0)
		r.end = append(r.end, int64(c.RecordsPerPartition))
	}
	stamp := time.Now().UnixNano()
	var errs []error
	failed := func(lib, part string, err error) string {
		errs = append(errs, fmt.Errorf("window %s %s: %w", lib, part, err))
		logf("window %s: %s failed: %v", lib, part, err)
		return err.Error()
	}
	for _, lib := range Libraries {
		if !c.runs(lib) {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		l := Library{Name: lib}
		logf("window %s: run through (stuck until the plateau, at most %v; then released)", lib, c.MaxHold)
		if l.Through, err = r.through(ctx, lib, fmt.Sprintf("kpar-window-%s-through-%d", lib, stamp)); err != nil {
			l.Through = Through{Failed: failed(lib, "run through", err)}
		}
		if ctx.Err() == nil {
			logf("window %s: restart (SIGKILL at the plateau, the stuck records still held; then a fresh process)", lib)
			if l.Restart, err = r.restart(ctx, lib, fmt.Sprintf("kpar-window-%s-restart-%d", lib, stamp)); err != nil {
				l.Restart = Restart{Failed: failed(lib, "restart", err)}
			}
		} else {
			l.Restart = Restart{Failed: failed(lib, "restart", fmt.Errorf("not run: %w", ctx.Err()))}
		}
		res.Libraries = append(res.Libraries, l)
	}
	return res, errors.Join(errs...)
}

// runner runs the consumer processes of one experiment.
type runner struct {
	c          Config
	adm        *kadm.Client
	topic, dir string
	start, end []int64
	logf       func(string, ...any)
}

// startProc starts the consumer process of lib: with the stuck record or fast.
func (r *runner) startProc(ctx context.Context, lib, group, logPath, name string, stuck bool) (*consumerProc, error) {
	c := r.c
	if lib == "kpar" {
		return startKpar(ctx, c.Child, name, ChildSpec{Brokers: c.Brokers, Topic: r.topic, Group: group, Order: c.Order,
			Concurrency: c.Concurrency, StuckOffset: c.StuckOffset, Stuck: stuck, ProcessedLog: logPath,
			Progress: c.Poll, Session: c.SessionTimeout})
	}
	var total int
	for p := range r.end {
		total += int(r.end[p] - r.start[p])
	}
	var clientConfig string
	if c.Secured() {
		f, err := os.CreateTemp(r.dir, "pc-client-*.properties")
		if err != nil {
			return nil, err
		}
		f.Close()
		if err := clientsec.WritePropertiesTo(f.Name(), c.Client.Java, true); err != nil {
			return nil, err
		}
		clientConfig = f.Name()
	}
	argv, _, err := pc.Command(ctx, pc.Config{Seeds: c.Brokers, ClientConfig: clientConfig, Topic: r.topic, Group: group, Records: total,
		Ordering: pc.Ordering(pcOrdering(c.Order)), MaxConcurrency: c.Concurrency, Work: pc.WorkNoop,
		Timeout: time.Hour, JVMFlags: c.PCJVMFlags, StuckOffset: c.StuckOffset, HoldStuck: stuck,
		ProcessedLog: logPath, ProgressEvery: c.Poll, SessionTimeout: c.SessionTimeout,
		Progress: func(s string) { r.logf("%s", s) }})
	if err != nil {
		return nil, err
	}
	return startPC(ctx, name, argv)
}

func (r *runner) launch(ctx context.Context, lib, group, name string, stuck bool) (*consumerProc, string, error) {
	logPath := filepath.Join(r.dir, group+"-"+name+".log")
	p, err := r.startProc(ctx, lib, group, logPath, lib+" "+name+" process", stuck)
	return p, logPath, err
}

// through runs one process whose stuck records finish.
func (r *runner) through(ctx context.Context, lib, group string) (Through, error) {
	p, logPath, err := r.launch(ctx, lib, group, "through", true)
	if err != nil {
		return Through{}, err
	}
	defer p.Kill()
	w := r.newWatch(lib, group, p, logPath)
	plateaued, err := w.untilPlateau(ctx)
	if err != nil {
		return Through{}, err
	}
	var t Through
	t.Window = w.window(plateaued)
	if plateaued {
		r.logf("window %s: plateau after %.1fs: %d held past the stuck records, metadata up to %d bytes; releasing them",
			lib, t.PlateauS, t.HeldPastTotal, t.MaxMetadataBytes)
	} else {
		r.logf("window %s: no plateau within %v: %d held past the stuck records; releasing them", lib, r.c.MaxHold, t.HeldPastTotal)
	}
	// The last look before the release: nothing stuck may be done yet.
	if err := w.tail.read(w.log); err != nil {
		return Through{}, err
	}
	if err := w.early(); err != nil {
		return Through{}, err
	}
	if err := p.release(); err != nil {
		return Through{}, err
	}
	t.ReleasedS = time.Since(w.t0).Seconds()
	// Sample on until the stuck records finish (bounded by Drain).
	for released := time.Now(); !w.released(); {
		if time.Since(released) > r.c.Drain {
			return Through{}, fmt.Errorf("the stuck records were not all processed within %v of their release", r.c.Drain)
		}
		select {
		case <-ctx.Done():
			return Through{}, ctx.Err()
		case <-p.Done():
			if err := p.unexpected(); err != nil {
				return Through{}, err
			}
			return Through{}, fmt.Errorf("%s exited while its records were stuck", p.Name)
		case <-time.After(r.c.Poll):
		}
		if _, err := w.sample(ctx, true); err != nil {
			return Through{}, err
		}
	}
	t.MaxMetadataBytes = w.maxMeta
	t.StuckDoneS = time.Since(w.t0).Seconds()
	r.logf("window %s: stuck records done after %.1fs; waiting for every record to be committed", lib, t.StuckDoneS)
	t.DrainedS, err = w.untilDrained(ctx, time.Now())
	if err != nil {
		return Through{}, err
	}
	p.Stop(20 * time.Second)
	if err := w.tail.read(w.log); err != nil {
		return Through{}, err
	}
	t.Samples = w.samples
	t.Stalled = w.stalled()
	t.Duplicates = sum(w.log.Duplicates())
	t.Missing = sum(Missing(w.log))
	t.ExactlyOnce = t.Duplicates == 0 && t.Missing == 0 && len(t.Stalled) == 0
	return t, nil
}

// restart runs a process until the plateau, SIGKILLs it and lets a fresh
// one of the same group finish.
func (r *runner) restart(ctx context.Context, lib, group string) (Restart, error) {
	p, logPath, err := r.launch(ctx, lib, group, "first", true)
	if err != nil {
		return Restart{}, err
	}
	defer p.Kill()
	w := r.newWatch(lib, group, p, logPath)
	plateaued, err := w.untilPlateau(ctx)
	if err != nil {
		return Restart{}, err
	}
	var rs Restart
	rs.Window = w.window(plateaued)
	if !plateaued {
		r.logf("window %s: no plateau within %v; killing it there", lib, r.c.MaxHold)
	}
	p.Kill()
	rs.KilledS = time.Since(w.t0).Seconds()
	// The last word on what the killed process committed.
	if err := w.tail.read(w.log); err != nil {
		return Restart{}, err
	}
	if err := w.fetch(ctx); err != nil {
		return Restart{}, err
	}
	rs.CommittedAtKill = slices.Clone(w.committed)
	if err := w.early(); err != nil {
		return Restart{}, err
	}
	r.logf("window %s: killed after %.1fs with %d held past the stuck records; starting a fresh process", lib, rs.KilledS, rs.HeldPastTotal)

	p2, logPath2, err := r.launch(ctx, lib, group, "second", false)
	if err != nil {
		return Restart{}, err
	}
	defer p2.Kill()
	w2 := r.newWatch(lib, group, p2, logPath2)
	rs.SecondDrainedS, err = w2.untilDrained(ctx, time.Now())
	if err != nil {
		return Restart{}, err
	}
	p2.Stop(20 * time.Second)
	if err := w2.tail.read(w2.log); err != nil {
		return Restart{}, err
	}
	rs.Samples2 = w2.samples
	rs.Stalled = w2.stalled()
	rs.FirstProcessed, rs.SecondProcessed = w.log.Distinct(), w2.log.Distinct()
	rs.Replays = Replays(w.log, w2.log)
	rs.ReplaysTotal = sum(rs.Replays)
	rs.ReplaysBelowCommitted = sum(ReplaysBelow(w.log, w2.log, rs.CommittedAtKill))
	rs.SkippedByMap = sum(w.log.HeldPast(rs.CommittedAtKill)) - (rs.ReplaysTotal - rs.ReplaysBelowCommitted)
	rs.Missing = sum(Missing(w.log, w2.log))
	rs.SecondDuplicates = sum(w2.log.Duplicates())
	return rs, nil
}
