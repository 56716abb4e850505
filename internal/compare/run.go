package compare

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/bench/consume"
	"github.com/kpar/kpar/internal/broker"
	"github.com/kpar/kpar/internal/clientsec"
	"github.com/kpar/kpar/internal/clock"
	"github.com/kpar/kpar/internal/compare/window"
	"github.com/kpar/kpar/internal/pc"
	"github.com/kpar/kpar/internal/results"
	"github.com/kpar/kpar/internal/sharegroup"
)

// The parts of a comparison; a part that fails is listed in
// Result.Failures with its reason and the others are kept. The io parts
// are "io c=<concurrency>".
const (
	PartNoop   = "no-op"
	PartRSS    = "memory"
	PartHeap   = "PC heap search"
	PartWindow = "window"
)

// ErrPartsFailed: Run returns it (wrapped, with the Result of the parts
// that completed) when some part failed.
var ErrPartsFailed = errors.New("some parts of the comparison failed")

// Runs is how many contender runs c makes at most: the progress total.
// Per io concurrency and repeat kpar, PC, share (and kpar-share); per
// no-op repeat kpar, PC, two plain loops, share (and kpar-share), then
// ShareConsumerPerformance once; rss kpar, plain, share (and
// kpar-share), PC, then up to HeapSteps capped PC runs; the window one
// more.
func (c Config) Runs() int {
	perIO, perNoop, rss := 3, 5, 4
	if c.KparShare {
		perIO, perNoop, rss = perIO+1, perNoop+1, rss+1
	}
	n := c.Repeat*(perIO*len(c.Concurrencies)+perNoop) + 1 + rss + c.HeapSteps
	if c.Window != nil {
		n++
	}
	return n
}

// Run counts the lines of code, prepares the topics (producing only what
// is missing) and runs every part, one process at a time, in the order
// io (per concurrency), no-op, memory, PC's heap search, window; within a
// part the contenders are interleaved, each repeat running every one of
// them once. seeds must answer (the caller probed them).
//
// A part that fails (a contender that failed, timed out or measured a
// window shorter than Config.MinWindow) is recorded in Result.Failures
// and the next part runs: Run then returns the Result of what completed
// with an error wrapping ErrPartsFailed. Only a cancelled ctx (or a
// failure before any part) returns no Result.
func Run(ctx context.Context, c Config, seeds []string) (Result, error) {
	if err := c.Validate(); err != nil {
		return Result{}, err
	}
	loc, err := CountLOC(c.SourceRoot, LOCSpecs)
	if err != nil {
		return Result{}, err
	}
	admin, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(seeds...)}, c.Security.Opts...)...)
	if err != nil {
		return Result{}, err
	}
	defer admin.Close()
	res := Result{Header: results.NewHeader(Schema, Version, c.Command), LOC: loc,
		Env: Env{Brokers: seeds, CPUs: runtime.NumCPU(), Partitions: c.Partitions, ValueSize: c.ValueSize,
			SleepMs: float64(c.Sleep) / 1e6, IORecords: c.IORecords, NoopRecords: c.NoopRecords, NoopConc: c.NoopConcurrency,
			RSSRecords: c.RSSRecords, KparMaxBuffered: c.KparMaxBuffered, KparPerPart: c.KparPerPart,
			PCOrdering: string(pc.OrderKey), PCCommitMode: string(pc.CommitAsync),
			ShareMembers: c.ShareMembers, KparShare: c.KparShare, Repeat: c.Repeat, MinWindowS: c.MinWindow.Seconds()}}
	res.Note = fmt.Sprintf("%s; rates count distinct records from the warm-up "+
		"(the first %.0f%%) to the last, in the process that handled them, over windows of at least %g s; "+
		"CPU is each process's whole life from rusage (JVM start-up included for PC)",
		runsPhrase(c.Repeat), 100*clock.Warmup, c.MinWindow.Seconds())
	r := &runner{c: c, seeds: seeds, admin: admin, env: &res.Env}

	part := func(name string, fn func() error) {
		if ctx.Err() != nil {
			return
		}
		if err := fn(); err != nil && ctx.Err() == nil {
			res.Failures = append(res.Failures, Failure{Part: name, Reason: err.Error()})
			r.measured("%s: failed: %s", name, firstLine(err.Error()))
		}
	}
	for _, n := range c.Concurrencies {
		name := fmt.Sprintf("io c=%d", n)
		part(name, func() error {
			p, err := r.ioPoint(ctx, name, n)
			if err == nil {
				res.IO = append(res.IO, p)
			}
			return err
		})
	}
	backlog := fmt.Sprintf("%s-backlog-%dp-%dk-%dv", c.TopicPrefix, c.Partitions, c.Keys, c.ValueSize)
	prepared := func() error { return r.prepare(ctx, backlog, max(c.NoopRecords, c.RSSRecords), c.Keys) }
	part(PartNoop, func() error {
		if err := prepared(); err != nil {
			return err
		}
		n, err := r.noop(ctx, backlog)
		if err == nil {
			res.Noop = n
		}
		return err
	})
	part(PartRSS, func() error {
		if err := prepared(); err != nil {
			return err
		}
		m, err := r.rss(ctx, backlog)
		if err == nil {
			res.RSS = m
		}
		return err
	})
	part(PartHeap, func() error {
		if res.RSS == nil {
			return errors.New("needs kpar's memory run, which failed")
		}
		return r.heapSearch(ctx, res.RSS)
	})
	if c.Window != nil {
		part(PartWindow, func() error {
			wc := *c.Window
			wc.Security = c.Security
			wc.Brokers = seeds
			if wc.Log == nil {
				wc.Log = c.Log
			}
			r.start("window")
			w, err := window.Run(ctx, wc)
			if err == nil {
				res.Window = &w
			}
			return err
		})
	}
	if ctx.Err() != nil {
		return Result{}, ctx.Err()
	}

	judge(&res)
	judgeShare(&res)
	res.Table = buildTable(&res)
	res.Finish()
	if len(res.Failures) > 0 {
		names := make([]string, len(res.Failures))
		for i, f := range res.Failures {
			names[i] = f.Part
		}
		return res, fmt.Errorf("%w: %s (each with its reason in the result)", ErrPartsFailed, strings.Join(names, ", "))
	}
	return res, nil
}

// runsPhrase: how each io and no-op contender ran.
func runsPhrase(n int) string {
	if n == 1 {
		return "One run of every io and no-op contender"
	}
	return fmt.Sprintf("%d runs of every io and no-op contender, interleaved (each repeat runs every contender once)", n)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ioPoint is one io concurrency: every contender, Repeat times,
// interleaved.
func (r *runner) ioPoint(ctx context.Context, name string, n int) (IOPoint, error) {
	c := r.c
	keys := c.keysAt(n)
	topic := fmt.Sprintf("%s-io-%dp-%dk-%dv", c.TopicPrefix, c.Partitions, keys, c.ValueSize)
	if err := r.prepare(ctx, topic, c.IORecords, keys); err != nil {
		return IOPoint{}, err
	}
	p := IOPoint{Concurrency: n, Keys: keys, Topic: topic}
	ks := c.kparSpec(r.seeds, topic, c.IORecords, n, c.Sleep)
	ks.Trace = true
	slug := fmt.Sprintf("io%d", n)
	var kp, pcs, sh, kshare []Side
	for i := range c.Repeat {
		tag := r.tag(name, i)
		k, err := r.kpar(ctx, tag, ks)
		if err != nil {
			return p, err
		}
		pr, err := r.pc(ctx, tag, pc.Config{Seeds: r.seeds, Topic: topic, Records: int(c.IORecords), MaxConcurrency: n,
			Work: pc.WorkSleep, Sleep: c.Sleep}, true)
		if err != nil {
			return p, err
		}
		s, err := r.share(ctx, tag, slug, ShareSpec{Brokers: r.seeds, Topic: topic, Records: c.IORecords,
			Concurrency: n, Sleep: c.Sleep, Trace: true})
		if err != nil {
			return p, err
		}
		kps, err := r.kparShare(ctx, tag, slug, ks)
		if err != nil {
			return p, err
		}
		kp, pcs, sh = append(kp, k), append(pcs, pr), append(sh, s)
		if kps != nil {
			kshare = append(kshare, *kps)
		}
	}
	p.Kpar, p.PC, p.Share = aggregate(kp), aggregate(pcs), aggregate(sh)
	if len(kshare) > 0 {
		a := aggregate(kshare)
		p.KparShare = &a
	}
	judgeIO(&p, r.env.SleepMs)
	r.measured("%s: kpar %s | pc %s | kpar/pc %s", name, ioLine(p.Kpar), ioLine(p.PC), ratioLine(p.SpeedupRuns))
	r.measured("%s: share %s, %s%s", name, ioLine(p.Share), orderLine(p.Share.Order), kparShareLine(p.KparShare, ioLine))
	return p, nil
}

// tag names repeat i of a part in the progress and in errors.
func (r *runner) tag(name string, i int) string {
	if r.c.Repeat == 1 {
		return name
	}
	return fmt.Sprintf("%s #%d", name, i+1)
}

// noop is the no-op part: every contender Repeat times, interleaved, then
// ShareConsumerPerformance once (its own clock: in no ratio).
func (r *runner) noop(ctx context.Context, backlog string) (*Noop, error) {
	c := r.c
	noop := &Noop{Topic: backlog}
	var kp, pcs, pd, ps, sh, kshare []Side
	spec := c.kparSpec(r.seeds, backlog, c.NoopRecords, c.NoopConcurrency, 0)
	for i := range c.Repeat {
		tag := r.tag(PartNoop, i)
		k, err := r.kpar(ctx, tag, spec)
		if err != nil {
			return nil, err
		}
		pr, err := r.pc(ctx, tag, pc.Config{Seeds: r.seeds, Topic: backlog, Records: int(c.NoopRecords), MaxConcurrency: c.NoopConcurrency}, true)
		if err != nil {
			return nil, err
		}
		d, err := r.plain(ctx, tag, PlainSpec{Brokers: r.seeds, Topic: backlog, Records: c.NoopRecords}, true)
		if err != nil {
			return nil, err
		}
		same, err := r.plain(ctx, tag, PlainSpec{Brokers: r.seeds, Topic: backlog, Records: c.NoopRecords, FetchMaxBytes: k.FetchMaxBytes}, true)
		if err != nil {
			return nil, err
		}
		s, err := r.share(ctx, tag, "noop", ShareSpec{Brokers: r.seeds, Topic: backlog, Records: c.NoopRecords, Concurrency: c.NoopConcurrency})
		if err != nil {
			return nil, err
		}
		kps, err := r.kparShare(ctx, tag, "noop", spec)
		if err != nil {
			return nil, err
		}
		kp, pcs, pd, ps, sh = append(kp, k), append(pcs, pr), append(pd, d), append(ps, same), append(sh, s)
		if kps != nil {
			kshare = append(kshare, *kps)
		}
	}
	noop.Kpar, noop.PC, noop.PlainDefault, noop.PlainSameFetch, noop.Share = aggregate(kp), aggregate(pcs), aggregate(pd), aggregate(ps), aggregate(sh)
	noop.SameFetchBytes = noop.Kpar.FetchMaxBytes
	if len(kshare) > 0 {
		a := aggregate(kshare)
		noop.KparShare = &a
	}
	var err error
	if noop.JavaShare, err = r.javaShare(ctx, backlog, c.NoopRecords); err != nil {
		return nil, err
	}
	judgeNoop(noop)
	r.measured("noop: kpar %s | pc %s | plain (kgo default fetch) %s | plain (kpar's fetch) %s | kpar/pc %s, kpar/plain %s",
		noopLine(noop.Kpar), noopLine(noop.PC), noopLine(noop.PlainDefault), noopLine(noop.PlainSameFetch),
		ratioLine(noop.VsPCRuns), ratioLine(noop.VsPlainRuns))
	r.measured("noop: share %s%s | ShareConsumerPerformance %.0f rec/s over its whole run (its own clock), %.2f CPU-s/M", noopLine(noop.Share),
		kparShareLine(noop.KparShare, noopLine), noop.JavaShare.RecordsPerS, noop.JavaShare.CPUPerMillion)
	return noop, nil
}

// rss is the memory part: each contender once over the backlog (peak
// RSS; no minimum window: its figure is memory), PC with the JVM's
// defaults.
func (r *runner) rss(ctx context.Context, backlog string) (*RSS, error) {
	c := r.c
	mem := &RSS{Topic: backlog}
	spec := c.kparSpec(r.seeds, backlog, c.RSSRecords, c.NoopConcurrency, 0)
	var err error
	if mem.Kpar, err = r.kpar(ctx, "rss", spec); err != nil {
		return nil, err
	}
	r.measured("rss: kpar peak %.0f MiB", kib2mib(mem.Kpar.PeakRSSKiB))
	if mem.Plain, err = r.plain(ctx, "rss", PlainSpec{Brokers: r.seeds, Topic: backlog, Records: c.RSSRecords}, false); err != nil {
		return nil, err
	}
	r.measured("rss: plain loop peak %.0f MiB", kib2mib(mem.Plain.PeakRSSKiB))
	if mem.Share, err = r.share(ctx, "rss", "rss", ShareSpec{Brokers: r.seeds, Topic: backlog, Records: c.RSSRecords,
		Concurrency: c.NoopConcurrency}); err != nil {
		return nil, err
	}
	if mem.KparShare, err = r.kparShare(ctx, "rss", "rss", spec); err != nil {
		return nil, err
	}
	r.measured("rss: share peak %.0f MiB%s", kib2mib(mem.Share.PeakRSSKiB),
		kparShareLine(mem.KparShare, func(s Side) string { return fmt.Sprintf("%.0f MiB", kib2mib(s.PeakRSSKiB)) }))
	if mem.PC, err = r.pc(ctx, "rss", pc.Config{Seeds: r.seeds, Topic: backlog, Records: int(c.RSSRecords), MaxConcurrency: c.NoopConcurrency}, false); err != nil {
		return nil, err
	}
	r.env.JVMDefaultMaxHeap = mem.PC.MaxHeapBytes
	r.measured("rss: %s (max %.0f MiB) peak %.0f MiB", PCLabel(mem.PC), float64(mem.PC.MaxHeapBytes)/(1<<20), kib2mib(mem.PC.PeakRSSKiB))
	return mem, nil
}

// heapSearch runs PC with kpar's fetch sizes under shrinking or growing
// heaps (see HeapSearch) and fills mem.HeapSearch and mem.PCCapped (its
// first step). A heap too small is a result, not a failure.
func (r *runner) heapSearch(ctx context.Context, mem *RSS) error {
	c := r.c
	hs := &HeapSearch{FetchMaxBytes: mem.Kpar.FetchMaxBytes, MaxPartitionFetchBytes: mem.Kpar.FetchMaxPartitionBytes,
		StartFromKpar: c.PCHeap == "auto"}
	if hs.StartFromKpar {
		hs.StartMiB = int64(math.Ceil(float64(mem.Kpar.PeakRSSKiB) / 1024))
	} else {
		hs.StartMiB = heapMiB(c.PCHeap)
	}
	step := c.HeapTimeout
	if step == 0 { // three times PC's default-heap run, at least a minute, at most --timeout
		step = min(c.Timeout, max(time.Minute, 3*time.Duration(mem.PC.WallSeconds*float64(time.Second))))
	}
	hs.StepTimeoutS = step.Seconds()
	mem.HeapSearch = hs
	mem.CapFromKpar = hs.StartFromKpar
	size := hs.StartMiB
	for range c.HeapSteps {
		s, err := r.cappedPC(ctx, mem.Topic, size, hs, step)
		if err != nil {
			return err
		}
		hs.Steps = append(hs.Steps, HeapStep{HeapMiB: size, Side: s})
		if len(hs.Steps) == 1 {
			mem.PCCapped, mem.CapHeap = s, fmt.Sprintf("%dm", size)
		}
		hs.NeedsMiB, hs.FailedMiB = heapBounds(hs.Steps)
		next, ok := nextHeap(hs.FailedMiB, hs.NeedsMiB, size)
		if !ok {
			break
		}
		size = next
	}
	return nil
}

// heapBounds is the smallest heap that finished and the largest below it
// that did not (0 for none): a run near the bound that timed out above a
// smaller one that finished does not move the bound down.
func heapBounds(steps []HeapStep) (needs, failed int64) {
	for _, st := range steps {
		if st.Side.Finished && (needs == 0 || st.HeapMiB < needs) {
			needs = st.HeapMiB
		}
	}
	for _, st := range steps {
		if !st.Side.Finished && st.HeapMiB > failed && (needs == 0 || st.HeapMiB < needs) {
			failed = st.HeapMiB
		}
	}
	return needs, failed
}

// MinHeapMiB is the smallest heap the search tries.
const MinHeapMiB = 16

// nextHeap is the heap search's next size given the largest heap that
// failed and the smallest that finished (0: none yet), and the last size
// tried; ok is false when the search is done (the two within an eighth of
// the finished size, or at most 4 MiB apart, or at the smallest heap).
func nextHeap(failed, finished, last int64) (int64, bool) {
	switch {
	case finished == 0: // nothing finished yet: grow
		return last * 2, true
	case failed == 0: // everything finished: shrink
		if last <= MinHeapMiB {
			return 0, false
		}
		return max(MinHeapMiB, last/2), true
	}
	if finished-failed <= max(4, finished/8) {
		return 0, false
	}
	return (failed + finished) / 2, true
}

// heapMiB is a -Xmx size in MiB, rounded up.
func heapMiB(s string) int64 {
	unit := int64(1 << 20)
	switch s[len(s)-1] {
	case 'k', 'K':
		unit, s = 1<<10, s[:len(s)-1]
	case 'm', 'M':
		s = s[:len(s)-1]
	case 'g', 'G':
		unit, s = 1<<30, s[:len(s)-1]
	default:
		unit = 1
	}
	var n int64
	fmt.Sscan(s, &n)
	return max(1, (n*unit+(1<<20)-1)>>20)
}

// cappedPC is one step of the heap search; not finishing is a Side with
// DidNotFinish, only a cancelled ctx or a set-up error is an error.
func (r *runner) cappedPC(ctx context.Context, topic string, heapMiB int64, hs *HeapSearch, timeout time.Duration) (Side, error) {
	c := r.c
	capped := pc.Config{Seeds: r.seeds, Topic: topic, Records: int(c.RSSRecords), MaxConcurrency: c.NoopConcurrency,
		JVMFlags: []string{fmt.Sprintf("-Xmx%dm", heapMiB)}, FetchMaxBytes: hs.FetchMaxBytes, MaxPartitionFetchBytes: hs.MaxPartitionFetchBytes,
		Ordering: pc.OrderKey, CommitMode: pc.CommitAsync, Timeout: timeout, Progress: c.Log}
	label := PCLabel(Side{JVMFlags: capped.JVMFlags, FetchMaxBytes: capped.FetchMaxBytes, FetchMaxPartitionBytes: capped.MaxPartitionFetchBytes})
	r.start("rss " + label)
	if err := r.pcSecurity(&capped); err != nil {
		return Side{}, err
	}
	defer os.Remove(capped.ClientConfig) // gone already unless the JVM never read it
	start := time.Now()
	pr, err := r.runPC(ctx, capped)
	switch {
	case err == nil:
		s := pcSide(pr, false)
		s.FetchMaxBytes, s.FetchMaxPartitionBytes = capped.FetchMaxBytes, capped.MaxPartitionFetchBytes
		r.measured("rss: %s finished, peak %.0f MiB", label, kib2mib(s.PeakRSSKiB))
		return s, nil
	case ctx.Err() != nil:
		return Side{}, err
	}
	s := Side{Contender: PC, Records: c.RSSRecords, JVMFlags: capped.JVMFlags, FetchMaxBytes: capped.FetchMaxBytes,
		FetchMaxPartitionBytes: capped.MaxPartitionFetchBytes, WallSeconds: time.Since(start).Seconds(), DidNotFinish: didNotFinish(err)}
	r.measured("rss: %s did not finish: %s", label, firstLine(s.DidNotFinish))
	return s, nil
}

// runner runs one contender at a time and reports it.
type runner struct {
	c     Config
	seeds []string
	admin *kgo.Client // sets share group configs
	env   *Env        // the result's, for what PC's runs report
}

func (r *runner) logf(format string, args ...any) {
	if r.c.Log != nil {
		r.c.Log(fmt.Sprintf(format, args...))
	}
}

func (r *runner) start(name string) {
	if r.c.OnRun != nil {
		r.c.OnRun(name)
	}
}

func (r *runner) measured(format string, args ...any) {
	if r.c.OnMeasured != nil {
		r.c.OnMeasured(fmt.Sprintf(format, args...))
	}
}

// prepare makes topic hold n records plus 10%: every run measures a
// backlog, not the log's end.
func (r *runner) prepare(ctx context.Context, topic string, n int64, keys int) error {
	n += n / 10
	r.logf("preparing %d records (%d keys) in %s", n, keys, topic)
	_, err := consume.Prepare(ctx, r.seeds, topic, r.c.Partitions, n, keys, r.c.ValueSize, r.c.Security.Opts...)
	return err
}

// checked refuses a rate run whose window is shorter than the minimum
// (check: the io and no-op parts; the memory part's figure is not a rate).
func (r *runner) checked(name string, s Side, check bool) (Side, error) {
	if check {
		if err := s.Window.Check(name, r.c.MinWindow); err != nil {
			return Side{}, err
		}
	}
	return s, nil
}

// isRSS: the memory part's runs are not held to the minimum window.
func isRSS(name string) bool { return name == "rss" }

func (r *runner) kpar(ctx context.Context, name string, spec KparSpec) (Side, error) {
	r.start(name + " kpar")
	p, err := runChild(ctx, r.c.Child, "compare-kpar", "kpar "+name, spec, r.c.Timeout)
	if err != nil {
		return Side{}, err
	}
	return r.checked("kpar "+name, side(Kpar, p), !isRSS(name))
}

func (r *runner) plain(ctx context.Context, name string, spec PlainSpec, check bool) (Side, error) {
	r.start(name + " plain")
	label := "plain loop (kgo's default fetch size) " + name
	if spec.FetchMaxBytes > 0 {
		label = fmt.Sprintf("plain loop (FetchMaxBytes %d) %s", spec.FetchMaxBytes, name)
	}
	p, err := runChild(ctx, r.c.Child, "compare-plain", label, spec, r.c.Timeout)
	if err != nil {
		return Side{}, err
	}
	sd := side(Plain, p)
	sd.FetchMaxBytes = spec.FetchMaxBytes // 0 names kgo's default
	return r.checked(label, sd, check)
}

// pcSecurity gives one PC run the security settings: a file of its own,
// since the harness deletes it once read.
func (r *runner) pcSecurity(cfg *pc.Config) error {
	if len(r.c.Security.Opts) == 0 {
		return nil
	}
	f, err := clientsec.WriteProperties(r.c.Security.Java, true)
	cfg.ClientConfig = f
	return err
}

// runPC is pc.Run, or the Config's stand-in in tests.
func (r *runner) runPC(ctx context.Context, cfg pc.Config) (pc.Result, error) {
	if r.c.pcRun != nil {
		return r.c.pcRun(ctx, cfg)
	}
	return pc.Run(ctx, cfg)
}

// pc runs PC as its docs recommend (KEY order, the asynchronous periodic
// commit, the asked concurrency, batch size 1); any failure fails the
// part. io says the handler slept (its mean time counts); check holds
// the window to the minimum.
func (r *runner) pc(ctx context.Context, name string, cfg pc.Config, check bool) (Side, error) {
	r.start(name + " pc")
	cfg.Ordering, cfg.CommitMode, cfg.Timeout = pc.OrderKey, pc.CommitAsync, r.c.Timeout
	cfg.Progress = r.c.Log
	if err := r.pcSecurity(&cfg); err != nil {
		return Side{}, err
	}
	defer os.Remove(cfg.ClientConfig) // gone already unless the JVM never read it
	res, err := r.runPC(ctx, cfg)
	if err != nil {
		return Side{}, fmt.Errorf("pc %s: %w", name, err)
	}
	r.env.setJVM(res)
	return r.checked("pc "+name, pcSide(res, cfg.Work == pc.WorkSleep), check)
}

// pcSide is PC's Side; io says the handler slept (its mean time counts).
func pcSide(r pc.Result, io bool) Side {
	w := r.Window()
	s := Side{Contender: PC, Finished: true, Records: w.Records, Seconds: w.TotalS, FirstRecordS: w.FirstS,
		SteadyPerS: w.PerS, Window: w, CPUSeconds: r.ChildCPUSeconds, PeakRSSKiB: r.PeakRSSKiB, WallSeconds: r.WallSeconds,
		JVMFlags: r.JVMFlags, MaxHeapBytes: r.JVM.MaxHeapBytes, StartupS: r.StartupS, CloseS: r.CloseS, Duplicates: r.Duplicates,
		FetchMaxBytes: int32(r.Options.FetchMaxBytes), FetchMaxPartitionBytes: int32(r.Options.MaxPartitionFetchBytes)}
	if s.JVMFlags == nil {
		s.JVMFlags = []string{}
	}
	if io {
		s.MeanHandlerMs = r.MeanHandlerMs
	}
	s.CPUPerMillion = perMillion(s.CPUSeconds, s.Records)
	return s
}

// setJVM records the versions PC's harness reported at run time.
func (e *Env) setJVM(r pc.Result) {
	e.PCVersion, e.KafkaClientsVersion = r.PCVersion, r.KafkaClientsVersion
	e.JavaVersion, e.JavaVM = r.JVM.Version, r.JVM.VM
	if e.JVMFlags == nil {
		e.JVMFlags = append([]string{}, r.JVMFlags...)
	}
}

// didNotFinish is the reason PC's reduced-heap run gave up, kept short.
func didNotFinish(err error) string {
	kind := "failed"
	switch {
	case errors.Is(err, pc.ErrHarnessTimeout), errors.Is(err, pc.ErrKilled):
		kind = "timed out"
	case errors.Is(err, pc.ErrPCFailed):
		kind = "PC closed or failed"
	case errors.Is(err, pc.ErrExit):
		kind = "the JVM exited with an error"
	}
	msg := err.Error()
	// The first line is the summary: the harness's own last word (how far
	// it got) when its stderr has one, else the error's first line.
	summary := firstLine(msg)
	for _, l := range strings.Split(msg, "\n") {
		if h, ok := strings.CutPrefix(strings.TrimSpace(l), "harness: "); ok {
			summary = h
		}
	}
	if strings.Contains(msg, "OutOfMemoryError") {
		summary += " (java.lang.OutOfMemoryError in its stderr)"
	}
	if len(msg) > 1500 {
		msg = msg[:1500] + "..."
	}
	return kind + ": " + summary + "\n" + msg
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func ioLine(s Side) string {
	return fmt.Sprintf("%s rec/s (%.0f%% of ideal at %.2f ms), %.2f CPU-s/M", rateSpread(s), 100*s.IdealShare, s.MeanHandlerMs, s.CPUPerMillion)
}

func noopLine(s Side) string {
	return fmt.Sprintf("%s rec/s, %.2f CPU-s/M, %.0f MiB", rateSpread(s), s.CPUPerMillion, kib2mib(s.PeakRSSKiB))
}

// rateSpread is a Side's rate with its spread over the repeats.
func rateSpread(s Side) string {
	if len(s.Repeats) < 2 {
		return fmt.Sprintf("%.0f", s.SteadyPerS)
	}
	return fmt.Sprintf("%.0f (%.0f-%.0f)", s.SteadyPerS, s.RateMin, s.RateMax)
}

// ratioLine is a median ratio with each repeat's.
func ratioLine(runs []float64) string {
	if len(runs) < 2 {
		return fmt.Sprintf("%.2fx", median(runs))
	}
	each := make([]string, len(runs))
	for i, v := range runs {
		each[i] = fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.2fx (repeats %s)", median(runs), strings.Join(each, ", "))
}

// shareGroup names a fresh share group for one run and makes it read the
// topic from its start (a new share group reads from the end otherwise).
func (r *runner) shareGroup(ctx context.Context, contender, slug string) (string, error) {
	g := fmt.Sprintf("%s-%s-%s-%d", r.c.TopicPrefix, contender, slug, time.Now().UnixNano())
	return g, sharegroup.FromEarliest(ctx, r.admin, g)
}

func (r *runner) share(ctx context.Context, name, slug string, spec ShareSpec) (Side, error) {
	r.start(name + " share")
	var err error
	if spec.Group, err = r.shareGroup(ctx, Share, slug); err != nil {
		return Side{}, err
	}
	spec.Members = r.c.ShareMembers
	p, err := runChild(ctx, r.c.Child, "compare-share", "share "+name, spec, r.c.Timeout)
	if err != nil {
		return Side{}, err
	}
	return r.checked("share "+name, side(Share, p), !isRSS(name))
}

// kparShare is kpar's share mode, when the config asks for it.
func (r *runner) kparShare(ctx context.Context, name, slug string, spec KparSpec) (*Side, error) {
	if !r.c.KparShare {
		return nil, nil
	}
	r.start(name + " kpar-share")
	var err error
	if spec.ShareGroup, err = r.shareGroup(ctx, KparShareName, slug); err != nil {
		return nil, err
	}
	spec.Members = r.c.ShareMembers
	p, err := runChild(ctx, r.c.Child, "compare-kpar", "kpar-share "+name, spec, r.c.Timeout)
	if err != nil {
		return nil, err
	}
	sd, err := r.checked("kpar-share "+name, side(KparShareName, p), !isRSS(name))
	return &sd, err
}

// javaShare runs ShareConsumerPerformance with as many consumers as the
// share contenders have members, on its own fresh share group.
func (r *runner) javaShare(ctx context.Context, topic string, records int64) (JavaShare, error) {
	r.start("noop " + JavaShareName)
	java, err := broker.JavaBin()
	if err != nil {
		return JavaShare{}, err
	}
	cp, err := broker.ClassPath(ctx)
	if err != nil {
		return JavaShare{}, err
	}
	g, err := r.shareGroup(ctx, JavaShareName, "noop")
	if err != nil {
		return JavaShare{}, err
	}
	args := javaShareArgs(cp, r.seeds, topic, g, records, r.c.ShareMembers)
	if len(r.c.Security.Opts) > 0 {
		f, err := clientsec.WriteProperties(r.c.Security.Java, true)
		if err != nil {
			return JavaShare{}, err
		}
		defer os.Remove(f)
		args = append(args, "--consumer.config", f)
	}
	if r.c.javaShareRun != nil {
		return r.c.javaShareRun(ctx, args)
	}
	return runJavaShare(ctx, java, args, r.c.ShareMembers, r.c.Timeout)
}

func orderLine(o *Order) string {
	if o == nil {
		return "order not traced"
	}
	return fmt.Sprintf("%d of %d records reordered within their key, %d duplicates", o.Reordered, o.Records, o.Duplicates)
}

func kparShareLine(s *Side, line func(Side) string) string {
	if s == nil {
		return ""
	}
	return " | kpar-share " + line(*s)
}
