package compare

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/clock"
	"github.com/kpar/kpar/internal/compare/stuck"
	"github.com/kpar/kpar/internal/confluentpc"
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
// kpar-share), PC, then up to HeapSteps capped PC runs; per dead-letter
// repeat two kpar-share runs; the window one more.
func (c Config) Runs() int {
	perIO, perNoop, rss := 3, 5, 4
	if c.KparShare {
		perIO, perNoop, rss = perIO+1, perNoop+1, rss+1
	}
	n := c.Repeat*(perIO*len(c.Concurrencies)+perNoop) + 1 + rss + c.HeapSteps
	if c.Window != nil {
		n++
	}
	if c.DeadLetterRecords > 0 && c.KparShare {
		n += 2 * c.Repeat
	}
	return n
}

// Run counts the lines of code, prepares the topics (producing only what
// is missing) and runs every part, one process at a time: io (per
// concurrency), no-op, memory, PC's heap search, dead letters, window;
// within a part the contenders are interleaved, each repeat running every
// one of them once. seeds must answer (the caller probed them).
//
// A part that fails (a contender that failed, timed out or measured a
// window shorter than Config.MinWindow) is recorded in Result.Failures
// and the next part runs: Run then returns the Result of what completed
// with an error wrapping ErrPartsFailed. Only a cancelled ctx (or a
// failure before any part) returns no Result.
func Run(ctx context.Context, c Config) (Result, error) {
	if err := c.Validate(); err != nil {
		return Result{}, err
	}
	loc, err := CountLOC(c.SourceRoot, LOCSpecs)
	if err != nil {
		return Result{}, err
	}
	admin, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.Brokers...)}, c.Opts()...)...)
	if err != nil {
		return Result{}, err
	}
	defer admin.Close()
	res := newResult(c, loc)
	r := &runner{c: c, admin: admin, env: &res.Env}
	backlog := fmt.Sprintf("%s-backlog-%dp-%dk-%dv", c.TopicPrefix, c.Partitions, c.Keys, c.ValueSize)
	// part runs one part; on the backlog, it prepares it first.
	part := func(name string, onBacklog bool, fn func() error) {
		if ctx.Err() != nil {
			return
		}
		var err error
		if onBacklog {
			err = r.prepare(ctx, backlog, max(c.NoopRecords, c.RSSRecords, c.DeadLetterRecords), c.Keys)
		}
		if err == nil {
			err = fn()
		}
		if err != nil && ctx.Err() == nil {
			res.Failures = append(res.Failures, Failure{Part: name, Reason: err.Error()})
			r.measured("%s: failed: %s", name, firstLine(err.Error()))
		}
	}
	for _, n := range c.Concurrencies {
		name := fmt.Sprintf("io c=%d", n)
		part(name, false, func() error {
			p, err := r.ioPoint(ctx, name, n)
			if err == nil {
				res.IO = append(res.IO, p)
			}
			return err
		})
	}
	part(PartNoop, true, into(&res.Noop, func() (*Noop, error) { return r.noop(ctx, backlog) }))
	part(PartRSS, true, into(&res.RSS, func() (*RSS, error) { return r.rss(ctx, backlog) }))
	part(PartHeap, false, func() error {
		if res.RSS == nil {
			return errors.New("needs kpar's memory run, which failed")
		}
		return r.heapSearch(ctx, res.RSS)
	})
	if c.DeadLetterRecords > 0 && c.KparShare {
		part(PartDeadLetters, true, into(&res.DeadLetters, func() (*DeadLetters, error) { return r.deadLetters(ctx, backlog) }))
	}
	if c.Window != nil {
		part(PartWindow, false, into(&res.Window, func() (*stuck.Result, error) { return r.window(ctx) }))
	}
	if ctx.Err() != nil {
		return Result{}, ctx.Err()
	}
	return res, res.finish()
}

// into runs fn and keeps its value in dst when it succeeds.
func into[T any](dst *T, fn func() (T, error)) func() error {
	return func() error {
		v, err := fn()
		if err == nil {
			*dst = v
		}
		return err
	}
}

// window is the out-of-order window part, on the comparison's brokers,
// security and log.
func (r *runner) window(ctx context.Context) (*stuck.Result, error) {
	r.start("window")
	wc := *r.c.Window
	wc.Env = r.c.Env
	w, err := stuck.Run(ctx, wc)
	if err != nil {
		return nil, err
	}
	return &w, nil
}

// finish judges the result once every part ran; the error names the
// parts that failed.
func (res *Result) finish() error {
	*res = Rejudge(*res)
	res.Finish()
	if len(res.Failures) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s (each with its reason in the result)", ErrPartsFailed, join(res.Failures, ", ", func(f Failure) string { return f.Part }))
}

// newResult is the Result before any part ran: the header, the lines of
// code and what every part runs with.
func newResult(c Config, loc []LOC) Result {
	res := Result{Header: Kind.Header(c.Command), LOC: loc,
		Env: Env{Brokers: c.Brokers, CPUs: runtime.NumCPU(), Partitions: c.Partitions, ValueSize: c.ValueSize,
			SleepMs: float64(c.Sleep) / 1e6, IORecords: c.IORecords, NoopRecords: c.NoopRecords, NoopConc: c.NoopConcurrency,
			RSSRecords: c.RSSRecords, KparMaxBuffered: c.KparMaxBuffered, KparPerPart: c.KparPerPart,
			PCOrdering: string(confluentpc.OrderKey), PCCommitMode: string(confluentpc.CommitAsync),
			ShareMembers: c.ShareMembers, KparShare: c.KparShare, Repeat: c.Repeat, MinWindowS: c.MinWindow.Seconds()}}
	runs := "One run of every io and no-op contender"
	if c.Repeat > 1 {
		runs = fmt.Sprintf("%d runs of every io and no-op contender, interleaved (each repeat runs every contender once)", c.Repeat)
	}
	res.Note = fmt.Sprintf("%s; rates count distinct records from the warm-up "+
		"(the first %.0f%%) to the last, in the process that handled them, over windows of at least %g s; "+
		"CPU is each process's whole life from rusage (JVM start-up included for PC)",
		runs, 100*clock.Warmup, c.MinWindow.Seconds())
	return res
}

// contender is one run of a contender in a part: the repeat's tag in,
// its Side out.
type contender func(tag string) (Side, error)

// interleave runs every contender Repeat times, each repeat running each
// once in order, and returns each one's median Side (aggregate).
func (r *runner) interleave(name string, cs ...contender) ([]Side, error) {
	runs := make([][]Side, len(cs))
	for i := range r.c.Repeat {
		tag := name
		if r.c.Repeat > 1 {
			tag = fmt.Sprintf("%s #%d", name, i+1)
		}
		for j, run := range cs {
			s, err := run(tag)
			if err != nil {
				return nil, err
			}
			runs[j] = append(runs[j], s)
		}
	}
	out := make([]Side, len(cs))
	for j := range runs {
		out[j] = aggregate(runs[j])
	}
	return out, nil
}

// withKparShare adds kpar's share mode to cs when the config asks for it;
// kparShareOf is its Side (nil when it did not run).
func (r *runner) withKparShare(ctx context.Context, slug string, spec KparSpec, cs ...contender) []contender {
	if !r.c.KparShare {
		return cs
	}
	return append(cs, func(tag string) (Side, error) { return r.kparShare(ctx, tag, slug, spec) })
}

func kparShareOf(sides []Side, i int) *Side {
	if len(sides) <= i {
		return nil
	}
	return &sides[i]
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
	ks := c.kparSpec(topic, c.IORecords, n, c.Sleep)
	ks.Trace = true
	slug := fmt.Sprintf("io%d", n)
	sides, err := r.interleave(name, r.withKparShare(ctx, slug, ks,
		func(tag string) (Side, error) { return r.kpar(ctx, tag, ks) },
		func(tag string) (Side, error) {
			return r.pc(ctx, tag, c.pcConfig(topic, c.IORecords, n, c.Sleep))
		},
		func(tag string) (Side, error) {
			return r.share(ctx, tag, slug, ShareSpec{Source: c.source(topic, c.IORecords), Concurrency: n, Sleep: c.Sleep, Trace: true})
		})...)
	if err != nil {
		return IOPoint{}, err
	}
	p := IOPoint{Concurrency: n, Keys: keys, Topic: topic, Kpar: sides[0], PC: sides[1], Share: sides[2], KparShare: kparShareOf(sides, 3)}
	judgeIO(&p, r.env.SleepMs)
	r.measured("%s: kpar %s | pc %s | kpar/pc %s", name, ioLine(p.Kpar), ioLine(p.PC), ratioLine(p.SpeedupRuns))
	r.measured("%s: share %s, %s%s", name, ioLine(p.Share), orderLine(p.Share.Order), kparShareLine(p.KparShare, ioLine))
	return p, nil
}

// noop is the no-op part: every contender Repeat times, interleaved, then
// ShareConsumerPerformance once (its own clock: in no ratio).
func (r *runner) noop(ctx context.Context, backlog string) (*Noop, error) {
	c := r.c
	spec := c.kparSpec(backlog, c.NoopRecords, c.NoopConcurrency, 0)
	plain := PlainSpec{Source: c.source(backlog, c.NoopRecords)}
	var k Side // this repeat's kpar run, whose fetch size the second plain loop takes
	sides, err := r.interleave(PartNoop, r.withKparShare(ctx, "noop", spec,
		func(tag string) (s Side, err error) { k, err = r.kpar(ctx, tag, spec); return k, err },
		func(tag string) (Side, error) {
			return r.pc(ctx, tag, c.pcConfig(backlog, c.NoopRecords, c.NoopConcurrency))
		},
		func(tag string) (Side, error) { return r.plain(ctx, tag, plain) },
		func(tag string) (Side, error) {
			same := plain
			same.FetchMaxBytes = k.FetchMaxBytes
			return r.plain(ctx, tag, same)
		},
		func(tag string) (Side, error) {
			return r.share(ctx, tag, "noop", ShareSpec{Source: c.source(backlog, c.NoopRecords), Concurrency: c.NoopConcurrency})
		})...)
	if err != nil {
		return nil, err
	}
	n := &Noop{Topic: backlog, Kpar: sides[0], PC: sides[1], PlainDefault: sides[2], PlainSameFetch: sides[3], Share: sides[4],
		KparShare: kparShareOf(sides, 5), SameFetchBytes: sides[0].FetchMaxBytes}
	if n.JavaShare, err = r.javaShare(ctx, backlog, c.NoopRecords); err != nil {
		return nil, err
	}
	judgeNoop(n)
	r.measured("noop: kpar %s | pc %s | plain (kgo default fetch) %s | plain (kpar's fetch) %s | kpar/pc %s, kpar/plain %s",
		noopLine(n.Kpar), noopLine(n.PC), noopLine(n.PlainDefault), noopLine(n.PlainSameFetch),
		ratioLine(n.VsPCRuns), ratioLine(n.VsPlainRuns))
	r.measured("noop: share %s%s | ShareConsumerPerformance %.0f rec/s over its whole run (its own clock), %.2f CPU-s/M", noopLine(n.Share),
		kparShareLine(n.KparShare, noopLine), n.JavaShare.RecordsPerS, n.JavaShare.CPUPerMillion)
	return n, nil
}

// rss is the memory part: each contender once over the backlog (peak
// RSS; no minimum window: its figure is memory), PC with the JVM's
// defaults.
func (r *runner) rss(ctx context.Context, backlog string) (*RSS, error) {
	c := r.c
	m := &RSS{Topic: backlog}
	spec := c.kparSpec(backlog, c.RSSRecords, c.NoopConcurrency, 0)
	var err error
	if m.Kpar, err = r.kpar(ctx, "rss", spec); err != nil {
		return nil, err
	}
	r.measured("rss: kpar peak %.0f MiB", kib2mib(m.Kpar.PeakRSSKiB))
	if m.Plain, err = r.plain(ctx, "rss", PlainSpec{Source: c.source(backlog, c.RSSRecords)}); err != nil {
		return nil, err
	}
	r.measured("rss: plain loop peak %.0f MiB", kib2mib(m.Plain.PeakRSSKiB))
	if m.Share, err = r.share(ctx, "rss", "rss", ShareSpec{Source: c.source(backlog, c.RSSRecords),
		Concurrency: c.NoopConcurrency}); err != nil {
		return nil, err
	}
	if c.KparShare {
		ks, err := r.kparShare(ctx, "rss", "rss", spec)
		if err != nil {
			return nil, err
		}
		m.KparShare = &ks
	}
	r.measured("rss: share peak %.0f MiB%s", kib2mib(m.Share.PeakRSSKiB),
		kparShareLine(m.KparShare, func(s Side) string { return fmt.Sprintf("%.0f MiB", kib2mib(s.PeakRSSKiB)) }))
	if m.PC, err = r.pc(ctx, "rss", c.pcConfig(backlog, c.RSSRecords, c.NoopConcurrency)); err != nil {
		return nil, err
	}
	r.env.JVMDefaultMaxHeap = m.PC.MaxHeapBytes
	r.measured("rss: %s (max %.0f MiB) peak %.0f MiB", PCLabel(m.PC), float64(m.PC.MaxHeapBytes)/(1<<20), kib2mib(m.PC.PeakRSSKiB))
	return m, nil
}
