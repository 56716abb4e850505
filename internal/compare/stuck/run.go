package stuck

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
	"github.com/kpar/kpar/internal/confluentpc"
	"github.com/kpar/kpar/internal/pcmap"
	"github.com/kpar/kpar/internal/proc"
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
		Concurrency: c.Concurrency, SessionTimeoutS: c.SessionTimeout.Seconds(), PCVersion: confluentpc.PCVersion,
		PCJVMFlags: c.PCJVMFlags, MetadataLimit: metadataLimit}
	r := runner{c: c, adm: adm, topic: topic, dir: dir, logf: logf, start: make([]int64, c.Partitions),
		end: slices.Repeat([]int64{int64(c.RecordsPerPartition)}, c.Partitions)}
	stamp := time.Now().UnixNano()
	var errs []error
	failed := func(lib, part string, err error) string {
		errs = append(errs, fmt.Errorf("window %s %s: %w", lib, part, err))
		logf("window %s: %s failed: %v", lib, part, err)
		return err.Error()
	}
	for _, lib := range Libraries {
		if !slices.Contains(c.Only, lib) || ctx.Err() != nil {
			continue
		}
		l := Library{Name: lib}
		logf("window %s: run through (stuck until the plateau, at most %v; then released)", lib, c.MaxHold)
		if l.Through, err = r.through(ctx, lib, fmt.Sprintf("kpar-window-%s-through-%d", lib, stamp)); err != nil {
			l.Through = Through{Failed: failed(lib, "run through", err)}
		}
		if err = ctx.Err(); err == nil {
			logf("window %s: restart (SIGKILL at the plateau, the stuck records still held; then a fresh process)", lib)
			l.Restart, err = r.restart(ctx, lib, fmt.Sprintf("kpar-window-%s-restart-%d", lib, stamp))
		} else {
			err = fmt.Errorf("not run: %w", err)
		}
		if err != nil {
			l.Restart = Restart{Failed: failed(lib, "restart", err)}
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

// launch starts lib's consumer process, with the stuck records held
// (stuck) or not, its processed log named after its group and name.
func (r *runner) launch(ctx context.Context, lib, group, name string, stuck bool) (*watch, error) {
	c := r.c
	logPath := filepath.Join(r.dir, group+"-"+name+".log")
	name = lib + " " + name + " process"
	var p *consumerProc
	var err error
	if lib == "kpar" {
		p, err = startProc(ctx, name, func(o proc.Options) (*proc.Process, error) {
			return c.Child(ctx, "window-kpar", ChildSpec{Brokers: c.Brokers, Topic: r.topic, Group: group, Order: c.Order,
				Concurrency: c.Concurrency, StuckOffset: c.StuckOffset, Stuck: stuck, ProcessedLog: logPath,
				Progress: c.Poll, Session: c.SessionTimeout}, o)
		})
	} else {
		p, err = r.startPC(ctx, name, group, logPath, stuck)
	}
	if err != nil {
		return nil, err
	}
	return r.newWatch(lib, group, p, logPath), nil
}

// startPC starts PC's harness; the security settings go in a file of the
// run's directory, which the JVM deletes once read.
func (r *runner) startPC(ctx context.Context, name, group, logPath string, stuck bool) (*consumerProc, error) {
	c := r.c
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
	argv, _, err := confluentpc.Command(ctx, confluentpc.Config{Seeds: c.Brokers, ClientConfig: clientConfig, Topic: r.topic, Group: group,
		Records: c.Partitions * c.RecordsPerPartition, Ordering: confluentpc.Ordering(pcOrdering(c.Order)), MaxConcurrency: c.Concurrency,
		Work: confluentpc.WorkNoop, Timeout: time.Hour, JVMFlags: c.PCJVMFlags, StuckOffset: c.StuckOffset, HoldStuck: stuck,
		ProcessedLog: logPath, ProgressEvery: c.Poll, SessionTimeout: c.SessionTimeout,
		Progress: func(s string) { r.logf("%s", s) }})
	if err != nil {
		return nil, err
	}
	return startProc(ctx, name, func(o proc.Options) (*proc.Process, error) {
		o.Stdin = true
		return proc.Start(ctx, name, argv, o)
	})
}

// held starts lib's process with its stuck records held, samples it
// until the plateau (or MaxHold without one) and hands it to then; the
// process is killed once then returned.
func (r *runner) held(ctx context.Context, lib, group, name string, then func(*watch, Window) error) error {
	w, err := r.launch(ctx, lib, group, name, true)
	if err != nil {
		return err
	}
	defer w.p.Kill()
	plateaued, err := w.untilPlateau(ctx)
	if err != nil {
		return err
	}
	return then(w, w.window(plateaued))
}

// lastLook reads the rest of the processed log: nothing stuck may be done
// while the records are held.
func (w *watch) lastLook() error {
	if err := w.read(); err != nil {
		return err
	}
	return w.early()
}

// through runs one process whose stuck records finish.
func (r *runner) through(ctx context.Context, lib, group string) (t Through, err error) {
	err = r.held(ctx, lib, group, "through", func(w *watch, win Window) (err error) {
		t = Through{Window: win}
		if t.Plateaued {
			r.logf("window %s: plateau after %.1fs: %d held past the stuck records, metadata up to %d bytes; releasing them",
				lib, t.PlateauS, t.HeldPastTotal, t.MaxMetadataBytes)
		} else {
			r.logf("window %s: no plateau within %v: %d held past the stuck records; releasing them", lib, r.c.MaxHold, t.HeldPastTotal)
		}
		if err := w.lastLook(); err != nil {
			return err
		}
		if err := w.p.release(); err != nil {
			return err
		}
		t.ReleasedS = time.Since(w.t0).Seconds()
		if err := w.untilReleased(ctx); err != nil {
			return err
		}
		t.MaxMetadataBytes = w.maxMeta
		t.StuckDoneS = time.Since(w.t0).Seconds()
		r.logf("window %s: stuck records done after %.1fs; waiting for every record to be committed", lib, t.StuckDoneS)
		if t.DrainedS, err = w.finish(ctx); err != nil {
			return err
		}
		t.Samples, t.Stalled = w.samples, w.stalled()
		t.Duplicates, t.Missing = sum(w.log.Duplicates()), sum(Missing(w.log))
		t.ExactlyOnce = t.Duplicates == 0 && t.Missing == 0 && len(t.Stalled) == 0
		return nil
	})
	return t, err
}

// restart runs a process until the plateau, SIGKILLs it and lets a fresh
// one of the same group finish.
func (r *runner) restart(ctx context.Context, lib, group string) (rs Restart, err error) {
	var first *watch
	var metaAtKill []string
	err = r.held(ctx, lib, group, "first", func(w *watch, win Window) error {
		rs, first = Restart{Window: win}, w
		if !rs.Plateaued {
			r.logf("window %s: no plateau within %v; killing it there", lib, r.c.MaxHold)
		}
		w.p.Kill()
		rs.KilledS = time.Since(w.t0).Seconds()
		// The last word on what the killed process committed.
		if err := w.lastLook(); err != nil {
			return err
		}
		if err := w.fetch(ctx); err != nil {
			return err
		}
		rs.CommittedAtKill, metaAtKill = slices.Clone(w.committed), slices.Clone(w.meta)
		return nil
	})
	if err != nil {
		return rs, err
	}
	r.logf("window %s: killed after %.1fs with %d held past the stuck records; starting a fresh process", lib, rs.KilledS, rs.HeldPastTotal)
	second, err := r.launch(ctx, lib, group, "second", false)
	if err != nil {
		return rs, err
	}
	defer second.p.Kill()
	if rs.SecondDrainedS, err = second.finish(ctx); err != nil {
		return rs, err
	}
	a, b := first.log, second.log
	rs.Samples2, rs.Stalled = second.samples, second.stalled()
	rs.FirstProcessed, rs.SecondProcessed = a.Distinct(), b.Distinct()
	rs.Replays = Replays(a, b)
	rs.ReplaysTotal = sum(rs.Replays)
	rs.ReplaysBelowCommitted = sum(ReplaysBelow(a, b, rs.CommittedAtKill))
	rs.SkippedByMap = sum(a.HeldPast(rs.CommittedAtKill)) - (rs.ReplaysTotal - rs.ReplaysBelowCommitted)
	rs.Missing = sum(Missing(a, b))
	if lib == "pc" && rs.Missing > 0 {
		rs.MissingByCommit = r.claims(ctx, rs.CommittedAtKill, metaAtKill, MissingOffsets(a, b))
	}
	rs.SecondDuplicates = sum(b.Duplicates())
	return rs, nil
}

// claims counts the missing offsets by how PC's commit at the kill (its
// committed offsets and metadata, decoded by PC's own decoder) counted
// them done (pcmap.Partition.By, "none" when it did not).
func (r *runner) claims(ctx context.Context, committed []int64, meta []string, missing [][]int64) map[string]int {
	ps := make([]pcmap.Partition, len(committed))
	for p := range ps {
		ps[p] = pcmap.Partition{Topic: r.topic, Partition: int32(p), Committed: committed[p], Metadata: meta[p], Highest: -1}
	}
	out := map[string]int{}
	if err := pcmap.Decode(ctx, ps); err != nil {
		r.logf("window pc: PC's offset decoder: %v", err)
		for _, os := range missing {
			out["undecoded"] += len(os)
		}
		return out
	}
	for p, os := range missing {
		for _, o := range os {
			by := ps[p].By(o)
			if by == "" {
				by = "none"
			}
			out[by]++
		}
	}
	return out
}
