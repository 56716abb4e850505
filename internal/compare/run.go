package compare

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/clock"
	"github.com/kpar/kpar/internal/compare/window"
	"github.com/kpar/kpar/internal/pc"
	"github.com/kpar/kpar/internal/results"
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
func Run(ctx context.Context, c Config) (Result, error) {
	seeds := c.Brokers
	if err := c.Validate(); err != nil {
		return Result{}, err
	}
	loc, err := CountLOC(c.SourceRoot, LOCSpecs)
	if err != nil {
		return Result{}, err
	}
	admin, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(seeds...)}, c.Opts()...)...)
	if err != nil {
		return Result{}, err
	}
	defer admin.Close()
	res := newResult(c, seeds, loc)
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
			r.start("window")
			w, err := window.Run(ctx, c.windowConfig(seeds))
			if err == nil {
				res.Window = &w
			}
			return err
		})
	}
	if ctx.Err() != nil {
		return Result{}, ctx.Err()
	}

	err = res.finish()
	return res, err
}

// finish judges the result once every part ran; the error names the
// parts that failed.
func (res *Result) finish() error {
	judge(res)
	judgeShare(res)
	res.Table = buildTable(res)
	res.Finish()
	if len(res.Failures) == 0 {
		return nil
	}
	names := make([]string, len(res.Failures))
	for i, f := range res.Failures {
		names[i] = f.Part
	}
	return fmt.Errorf("%w: %s (each with its reason in the result)", ErrPartsFailed, strings.Join(names, ", "))
}

// newResult is the Result before any part ran: the header, the lines of
// code and what every part runs with.
func newResult(c Config, seeds []string, loc []LOC) Result {
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
	return res
}

// windowConfig is the window's Config with the comparison's brokers,
// security and log.
func (c Config) windowConfig(seeds []string) window.Config {
	wc := *c.Window
	wc.Env = c.Env
	wc.Brokers = seeds
	return wc
}

// runsPhrase: how each io and no-op contender ran.
func runsPhrase(n int) string {
	if n == 1 {
		return "One run of every io and no-op contender"
	}
	return fmt.Sprintf("%d runs of every io and no-op contender, interleaved (each repeat runs every contender once)", n)
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
