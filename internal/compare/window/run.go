package window

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/clientsec"
	"github.com/kpar/kpar/internal/pc"
	"github.com/kpar/kpar/parallel"
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
	logf := func(format string, args ...any) {
		if c.Log != nil {
			c.Log(fmt.Sprintf(format, args...))
		}
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.Brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner())}, c.Security.Opts...)...)
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

// roomAbove counts the records of partition p above the stuck one that
// the order lets run while it is stuck: under key order not those of its
// key, which wait behind it; under partition order none.
func roomAbove(c Config, p int, stuck, end int64) int {
	above := end - stuck - 1
	switch c.Order {
	case parallel.OrderPartition:
		return 0
	case parallel.OrderKey:
		above -= above / int64(keysOf(p, c.Partitions, c.Keys))
	}
	return int(max(above, 0))
}

// keysOf is how many keys partition p of parts gets out of keys: key j
// belongs to partition j % parts.
func keysOf(p, parts, keys int) int {
	n := keys / parts
	if p < keys%parts {
		n++
	}
	return max(n, 1)
}

// recordKey is the key of the i-th record of partition p: its keys in turn,
// so the stuck record's key comes back every keysOf records.
func recordKey(p, i, parts, keys int) string {
	return "k" + strconv.Itoa(p+parts*(i%keysOf(p, parts, keys)))
}

// prepare creates the topic and writes RecordsPerPartition records into
// each partition, unless it already holds exactly that. It returns the
// keys per partition.
func prepare(ctx context.Context, cl *kgo.Client, adm *kadm.Client, c Config, topic string) ([]int, error) {
	keys := make([]int, c.Partitions)
	for p := range keys {
		keys[p] = keysOf(p, c.Partitions, c.Keys)
	}
	resp, err := adm.CreateTopic(ctx, int32(c.Partitions), 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return nil, fmt.Errorf("create topic %s: %w", topic, err)
	}
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("start offsets of %s: %w", topic, err)
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	var empty, full int
	for p := range c.Partitions {
		s, ok1 := starts.Lookup(topic, int32(p))
		e, ok2 := ends.Lookup(topic, int32(p))
		switch {
		case !ok1 || !ok2 || s.Err != nil || e.Err != nil:
			return nil, fmt.Errorf("topic %s: partition %d: no offsets (does it have %d partitions?)", topic, p, c.Partitions)
		case s.Offset == 0 && e.Offset == 0:
			empty++
		case s.Offset == 0 && e.Offset == int64(c.RecordsPerPartition):
			full++
		}
	}
	if len(ends[topic]) != c.Partitions || (empty != c.Partitions && full != c.Partitions) {
		return nil, fmt.Errorf("topic %s exists but does not hold %d partitions of %d records each from offset 0; delete it or name another",
			topic, c.Partitions, c.RecordsPerPartition)
	}
	if full == c.Partitions {
		return keys, nil
	}
	var perrMu sync.Mutex
	var perr error
	val := []byte("window-record-16")
	for i := range c.RecordsPerPartition {
		for p := range c.Partitions {
			r := &kgo.Record{Topic: topic, Partition: int32(p), Key: []byte(recordKey(p, i, c.Partitions, c.Keys)), Value: val}
			cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
				perrMu.Lock()
				if err != nil && perr == nil {
					perr = err
				}
				perrMu.Unlock()
			})
		}
	}
	if err := cl.Flush(ctx); err != nil {
		return nil, err
	}
	perrMu.Lock()
	defer perrMu.Unlock()
	if perr != nil {
		return nil, fmt.Errorf("produce to %s: %w", topic, perr)
	}
	if ends, err = adm.ListEndOffsets(ctx, topic); err != nil {
		return nil, fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	for p := range c.Partitions {
		if e, _ := ends.Lookup(topic, int32(p)); e.Offset != int64(c.RecordsPerPartition) {
			return nil, fmt.Errorf("topic %s: partition %d holds %d records after producing, want %d", topic, p, e.Offset, c.RecordsPerPartition)
		}
	}
	return keys, nil
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
	if len(c.Security.Opts) > 0 {
		f, err := os.CreateTemp(r.dir, "pc-client-*.properties")
		if err != nil {
			return nil, err
		}
		f.Close()
		if err := clientsec.WritePropertiesTo(f.Name(), c.Security.Java, true); err != nil {
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

// watch samples one consumer process, its processed log and its group.
type watch struct {
	r     *runner
	lib   string
	group string
	p     *consumerProc
	log   *Log
	tail  tail
	t0    time.Time

	committed []int64
	meta      []string
	held      []int
	samples   []Sample
	maxMeta   int

	// plateau bookkeeping: when the held count or the commits last changed
	lastKey    string
	lastChange time.Time
}

func (r *runner) newWatch(lib, group string, p *consumerProc, logPath string) *watch {
	n := len(r.end)
	w := &watch{r: r, lib: lib, group: group, p: p, log: NewLog(r.start, r.end), tail: tail{path: logPath},
		t0: p.Started, committed: make([]int64, n), meta: make([]string, n), held: make([]int, n)}
	for i := range w.committed {
		w.committed[i] = -1
	}
	return w
}

// stuckAt is the stuck record of partition p (prepare checked that the
// topic's offsets run from 0 without gaps).
func (r *runner) stuckAt(int) int64 { return r.c.StuckOffset }

// fetch reads the group's committed offsets and metadata.
func (w *watch) fetch(ctx context.Context) error {
	resps, err := w.r.adm.FetchOffsets(ctx, w.group)
	if kerr.IsRetriable(err) || errors.Is(err, kerr.GroupIDNotFound) {
		return nil // the coordinator is moving or loading, or the group has not joined yet: the next poll reads it
	}
	if err != nil {
		return fmt.Errorf("fetch offsets of group %s: %w", w.group, err)
	}
	for p := range w.committed {
		if o, ok := resps.Lookup(w.r.topic, int32(p)); ok && o.Err == nil && o.At >= 0 {
			w.committed[p], w.meta[p] = o.At, o.Metadata
		}
	}
	return nil
}

// sample takes one sample; stuck says the stuck records were still
// running.
func (w *watch) sample(ctx context.Context, stuck bool) (Sample, error) {
	if err := w.tail.read(w.log); err != nil {
		return Sample{}, err
	}
	if err := w.fetch(ctx); err != nil {
		return Sample{}, err
	}
	w.held = w.log.HeldPast(w.committed)
	s := Sample{T: time.Since(w.t0).Seconds(), Processed: w.log.Distinct(), Completed: -1, HeldPast: sum(w.held),
		Paused: -1, Stuck: stuck}
	for p := range w.committed {
		s.Metadata = max(s.Metadata, len(w.meta[p]))
		s.Committed += max(w.committed[p], 0)
	}
	if pl, ok := w.p.progress(); ok {
		s.Completed = pl.Completed
		if w.lib == "kpar" {
			s.Paused = 0
			for _, pp := range pl.Partitions {
				if pp.Paused {
					s.Paused++
				}
			}
		}
	}
	if stuck {
		w.maxMeta = max(w.maxMeta, s.Metadata)
	}
	key := fmt.Sprint(s.Processed, w.held, w.committed, w.meta)
	if key != w.lastKey {
		w.lastKey, w.lastChange = key, time.Now()
	}
	w.samples = append(w.samples, s)
	return s, nil
}

// committedUpTo reports whether the process has processed records and no
// partition has a committed offset past its stuck record. (A partition may
// have none: a library that stopped taking records before it read the
// partition; nor need it be at the stuck record: a library may hold back
// records done before it, Window.DoneNotCommitted counts them.)
func (w *watch) committedUpTo() bool {
	if w.log.Distinct() == 0 {
		return false // not started: nothing can have settled
	}
	for p := range w.committed {
		if w.committed[p] > w.r.stuckAt(p) {
			return false
		}
	}
	return true
}

// released reports whether every stuck record is in the processed log.
func (w *watch) released() bool {
	for p := range w.committed {
		if !w.log.Done(p, w.r.stuckAt(p)) {
			return false
		}
	}
	return true
}

// drained reports whether the group has committed every record.
func (w *watch) drained() bool {
	for p := range w.committed {
		if w.committed[p] != w.r.end[p] {
			return false
		}
	}
	return true
}

// window captures the state of w as a Window (at the plateau or now).
func (w *watch) window(plateaued bool) Window {
	win := Window{Group: w.group, Plateaued: plateaued, HeldPast: slices.Clone(w.held),
		HeldPastTotal: sum(w.held), HeldPastMax: maxOf(w.held), Committed: slices.Clone(w.committed),
		MaxMetadataBytes: w.maxMeta, PausedAtPlateau: -1, Samples: w.samples}
	if plateaued {
		win.PlateauS = time.Since(w.t0).Seconds()
	}
	for p := range w.committed {
		room := roomAbove(w.r.c, p, w.r.stuckAt(p), w.r.end[p])
		win.Room = append(win.Room, room)
		if w.held[p] < room {
			win.Stopped = append(win.Stopped, p)
		}
		win.MetadataBytes = append(win.MetadataBytes, len(w.meta[p]))
		for o := max(w.committed[p], w.r.start[p]); o < w.r.stuckAt(p); o++ {
			if w.log.Done(p, o) {
				win.DoneNotCommitted++
			}
		}
		if w.held[p] > 0 && w.meta[p] == "" {
			win.NoMap = append(win.NoMap, p)
		}
		if w.log.Partition(p) == 0 {
			win.Untouched = append(win.Untouched, p)
		}
	}
	if n := len(w.samples); n > 0 {
		win.PausedAtPlateau = w.samples[n-1].Paused
	}
	return win
}

// untilPlateau samples, the stuck records held, until the plateau (true)
// or MaxHold from the process's start (false). A stuck record in the
// processed log before then (errEarly) or the process exiting is an error.
func (w *watch) untilPlateau(ctx context.Context) (bool, error) {
	tick := time.NewTicker(w.r.c.Poll)
	defer tick.Stop()
	deadline := w.t0.Add(w.r.c.MaxHold)
	for {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-w.p.Done():
			if err := w.p.unexpected(); err != nil {
				return false, err
			}
			return false, fmt.Errorf("%s exited while its records were stuck", w.p.Name)
		case <-tick.C:
		}
		if _, err := w.sample(ctx, true); err != nil {
			return false, err
		}
		if err := w.early(); err != nil {
			return false, err
		}
		if w.committedUpTo() && time.Since(w.lastChange) >= w.r.c.Settle {
			return true, nil
		}
		if time.Now().After(deadline) {
			return false, nil
		}
	}
}

// early is errEarly, naming the partitions, when a stuck record is in the
// processed log while the records are held.
func (w *watch) early() error {
	var ps []int
	for p := range w.committed {
		if w.log.Done(p, w.r.stuckAt(p)) {
			ps = append(ps, p)
		}
	}
	if len(ps) > 0 {
		return fmt.Errorf("%w: partitions %v, offset %d", errEarly, ps, w.r.c.StuckOffset)
	}
	return nil
}

// untilDrained samples until the group has committed every record, the
// process exited and its last commit was read, or Drain passed since
// from. It returns the time drained (from w.t0), or 0.
func (w *watch) untilDrained(ctx context.Context, from time.Time) (float64, error) {
	tick := time.NewTicker(w.r.c.Poll)
	defer tick.Stop()
	for {
		exited := w.p.Exited()
		if _, err := w.sample(ctx, !w.released()); err != nil {
			return 0, err
		}
		if w.drained() {
			return time.Since(w.t0).Seconds(), nil
		}
		if exited {
			if err := w.p.unexpected(); err != nil {
				return 0, err
			}
			return 0, nil
		}
		if time.Since(from) > w.r.c.Drain {
			return 0, nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-tick.C:
		}
	}
}

func (w *watch) stalled() []int {
	var out []int
	for p := range w.committed {
		if w.committed[p] != w.r.end[p] {
			out = append(out, p)
		}
	}
	return out
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
