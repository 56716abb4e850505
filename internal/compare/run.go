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
	"github.com/kpar/kpar/internal/compare/window"
	"github.com/kpar/kpar/internal/pc"
	"github.com/kpar/kpar/internal/results"
	"github.com/kpar/kpar/internal/sharegroup"
)

// Runs is how many contender runs c makes: the progress total. Per io
// concurrency kpar, PC, share (and kpar-share); noop kpar, PC, two plain
// loops, share, ShareConsumerPerformance (and kpar-share); rss kpar,
// plain, PC, share (and kpar-share), PC capped; the window one more.
func (c Config) Runs() int {
	n := 3*len(c.Concurrencies) + 6 + 5
	if c.KparShare {
		n += len(c.Concurrencies) + 2
	}
	if c.Window != nil {
		n++
	}
	return n
}

// Run counts the lines of code, prepares the topics (producing only what
// is missing) and runs every contender of every measurement, one process
// at a time, in the order io, noop, rss. seeds must answer (the caller
// probed them). The Result is complete only when the error is nil: a side
// that fails (PC's reduced-heap run excepted, whose failure is a result)
// fails the whole run, so no comparison is ever presented with a side
// missing.
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
	r := &runner{c: c, seeds: seeds, admin: admin}
	res := Result{Header: results.NewHeader(Schema, Version, c.Command), LOC: loc,
		Env: Env{Brokers: seeds, CPUs: runtime.NumCPU(), Partitions: c.Partitions, ValueSize: c.ValueSize,
			SleepMs: float64(c.Sleep) / 1e6, IORecords: c.IORecords, NoopRecords: c.NoopRecords, NoopConc: c.NoopConcurrency,
			RSSRecords: c.RSSRecords, KparMaxBuffered: c.KparMaxBuffered, KparPerPart: c.KparPerPart,
			PCOrdering: string(pc.OrderKey), PCCommitMode: string(pc.CommitAsync),
			ShareMembers: c.ShareMembers, KparShare: c.KparShare},
		Note: "one run per figure on the machine named by cpus, shared with other work: timings are noisy; " +
			"CPU is each process's whole life from rusage (JVM start-up included for PC)"}

	for _, n := range c.Concurrencies {
		keys := c.keysAt(n)
		topic := fmt.Sprintf("%s-io-%dp-%dk-%dv", c.TopicPrefix, c.Partitions, keys, c.ValueSize)
		if err := r.prepare(ctx, topic, c.IORecords, keys); err != nil {
			return Result{}, err
		}
		p := IOPoint{Concurrency: n, Keys: keys, Topic: topic}
		name := fmt.Sprintf("io c=%d", n)
		ks := c.kparSpec(seeds, topic, c.IORecords, n, c.Sleep)
		ks.Trace = true
		if p.Kpar, err = r.kpar(ctx, name, ks); err != nil {
			return Result{}, err
		}
		pr, err := r.pc(ctx, name, pc.Config{Seeds: seeds, Topic: topic, Records: int(c.IORecords), MaxConcurrency: n,
			Work: pc.WorkSleep, Sleep: c.Sleep})
		if err != nil {
			return Result{}, err
		}
		p.PC = pcSide(pr, true)
		res.Env.setJVM(pr)
		slug := fmt.Sprintf("io%d", n)
		if p.Share, err = r.share(ctx, name, slug, ShareSpec{Brokers: seeds, Topic: topic, Records: c.IORecords,
			Concurrency: n, Sleep: c.Sleep, Trace: true}); err != nil {
			return Result{}, err
		}
		if p.KparShare, err = r.kparShare(ctx, name, slug, ks); err != nil {
			return Result{}, err
		}
		judgeIO(&p, res.Env.SleepMs)
		res.IO = append(res.IO, p)
		r.measured("%s: kpar %s | pc %s | kpar/pc %.2fx", name, ioLine(p.Kpar), ioLine(p.PC), p.Speedup)
		r.measured("%s: share %s, %s%s", name, ioLine(p.Share), orderLine(p.Share.Order), kparShareLine(p.KparShare, ioLine))
	}

	backlog := fmt.Sprintf("%s-backlog-%dp-%dk-%dv", c.TopicPrefix, c.Partitions, c.Keys, c.ValueSize)
	if err := r.prepare(ctx, backlog, max(c.NoopRecords, c.RSSRecords), c.Keys); err != nil {
		return Result{}, err
	}
	noop := &Noop{Topic: backlog}
	if noop.Kpar, err = r.kpar(ctx, "noop", c.kparSpec(seeds, backlog, c.NoopRecords, c.NoopConcurrency, 0)); err != nil {
		return Result{}, err
	}
	pr, err := r.pc(ctx, "noop", pc.Config{Seeds: seeds, Topic: backlog, Records: int(c.NoopRecords), MaxConcurrency: c.NoopConcurrency})
	if err != nil {
		return Result{}, err
	}
	noop.PC = pcSide(pr, false)
	res.Env.setJVM(pr)
	if noop.PlainDefault, err = r.plain(ctx, "noop", PlainSpec{Brokers: seeds, Topic: backlog, Records: c.NoopRecords}); err != nil {
		return Result{}, err
	}
	noop.SameFetchBytes = noop.Kpar.FetchMaxBytes
	if noop.PlainSameFetch, err = r.plain(ctx, "noop", PlainSpec{Brokers: seeds, Topic: backlog, Records: c.NoopRecords,
		FetchMaxBytes: noop.SameFetchBytes}); err != nil {
		return Result{}, err
	}
	if noop.Share, err = r.share(ctx, "noop", "noop", ShareSpec{Brokers: seeds, Topic: backlog, Records: c.NoopRecords,
		Concurrency: c.NoopConcurrency}); err != nil {
		return Result{}, err
	}
	if noop.KparShare, err = r.kparShare(ctx, "noop", "noop", c.kparSpec(seeds, backlog, c.NoopRecords, c.NoopConcurrency, 0)); err != nil {
		return Result{}, err
	}
	if noop.JavaShare, err = r.javaShare(ctx, backlog, c.NoopRecords); err != nil {
		return Result{}, err
	}
	judgeNoop(noop)
	res.Noop = noop
	r.measured("noop: kpar %s | pc %s | plain %s | kpar/pc %.1fx, kpar/plain %.2fx",
		noopLine(noop.Kpar), noopLine(noop.PC), noopLine(noop.Plain), noop.VsPC, noop.VsPlain)
	r.measured("noop: share %s%s | ShareConsumerPerformance %.0f rec/s (whole run), %.2f CPU-s/M", noopLine(noop.Share),
		kparShareLine(noop.KparShare, noopLine), noop.JavaShare.RecordsPerS, noop.JavaShare.CPUPerMillion)

	mem := &RSS{Topic: backlog}
	if mem.Kpar, err = r.kpar(ctx, "rss", c.kparSpec(seeds, backlog, c.RSSRecords, c.NoopConcurrency, 0)); err != nil {
		return Result{}, err
	}
	r.measured("rss: kpar peak %.0f MiB", kib2mib(mem.Kpar.PeakRSSKiB))
	if mem.Plain, err = r.plain(ctx, "rss", PlainSpec{Brokers: seeds, Topic: backlog, Records: c.RSSRecords}); err != nil {
		return Result{}, err
	}
	r.measured("rss: plain loop peak %.0f MiB", kib2mib(mem.Plain.PeakRSSKiB))
	if mem.Share, err = r.share(ctx, "rss", "rss", ShareSpec{Brokers: seeds, Topic: backlog, Records: c.RSSRecords,
		Concurrency: c.NoopConcurrency}); err != nil {
		return Result{}, err
	}
	if mem.KparShare, err = r.kparShare(ctx, "rss", "rss", c.kparSpec(seeds, backlog, c.RSSRecords, c.NoopConcurrency, 0)); err != nil {
		return Result{}, err
	}
	r.measured("rss: share peak %.0f MiB%s", kib2mib(mem.Share.PeakRSSKiB),
		kparShareLine(mem.KparShare, func(s Side) string { return fmt.Sprintf("%.0f MiB", kib2mib(s.PeakRSSKiB)) }))
	if pr, err = r.pc(ctx, "rss", pc.Config{Seeds: seeds, Topic: backlog, Records: int(c.RSSRecords), MaxConcurrency: c.NoopConcurrency}); err != nil {
		return Result{}, err
	}
	mem.PC = pcSide(pr, false)
	res.Env.setJVM(pr)
	res.Env.JVMDefaultMaxHeap = pr.JVM.MaxHeapBytes
	r.measured("rss: pc (JVM default heap, max %.0f MiB) peak %.0f MiB", float64(pr.JVM.MaxHeapBytes)/(1<<20), kib2mib(mem.PC.PeakRSSKiB))
	mem.CapHeap, mem.CapFromKpar = c.PCHeap, c.PCHeap == "auto"
	if mem.CapFromKpar {
		mem.CapHeap = fmt.Sprintf("%dm", int64(math.Ceil(float64(mem.Kpar.PeakRSSKiB)/1024)))
	}
	capped := pc.Config{Seeds: seeds, Topic: backlog, Records: int(c.RSSRecords), MaxConcurrency: c.NoopConcurrency,
		JVMFlags: []string{"-Xmx" + mem.CapHeap}}
	r.start("rss pc -Xmx" + mem.CapHeap)
	capped.Timeout = c.Timeout
	if err := r.pcSecurity(&capped); err != nil {
		return Result{}, err
	}
	defer os.Remove(capped.ClientConfig) // gone already unless the JVM never read it
	start := time.Now()
	pr, err = pc.Run(ctx, capped)
	switch {
	case err == nil:
		mem.PCCapped = pcSide(pr, false)
		r.measured("rss: pc -Xmx%s finished, peak %.0f MiB, %.0f records/s", mem.CapHeap, kib2mib(mem.PCCapped.PeakRSSKiB), mem.PCCapped.SteadyPerS)
	case ctx.Err() != nil:
		return Result{}, err
	default:
		// A reduced heap not being enough is what this run asks about.
		mem.PCCapped = Side{Contender: PC, Records: c.RSSRecords, JVMFlags: capped.JVMFlags,
			WallSeconds: time.Since(start).Seconds(), DidNotFinish: didNotFinish(err)}
		r.measured("rss: pc -Xmx%s did not finish: %s", mem.CapHeap, firstLine(mem.PCCapped.DidNotFinish))
	}
	res.RSS = mem

	if c.Window != nil {
		wc := *c.Window
		wc.Security = c.Security
		wc.Brokers = seeds
		if wc.Log == nil {
			wc.Log = c.Log
		}
		r.start("window")
		w, err := window.Run(ctx, wc)
		if err != nil {
			return Result{}, err
		}
		res.Window = &w
	}

	judge(&res)
	judgeShare(&res)
	res.Table = buildTable(&res)
	res.Finish()
	return res, nil
}

// runner runs one contender at a time and reports it.
type runner struct {
	c     Config
	seeds []string
	admin *kgo.Client // sets share group configs
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

func (r *runner) kpar(ctx context.Context, name string, spec KparSpec) (Side, error) {
	r.start(name + " kpar")
	argv, err := r.c.KparChildArgv(spec)
	if err != nil {
		return Side{}, err
	}
	p, err := runChild(ctx, "kpar "+name, argv, r.c.Timeout)
	if err != nil {
		return Side{}, err
	}
	return side(Kpar, p), nil
}

func (r *runner) plain(ctx context.Context, name string, spec PlainSpec) (Side, error) {
	r.start(name + " plain")
	argv, err := r.c.PlainChildArgv(spec)
	if err != nil {
		return Side{}, err
	}
	p, err := runChild(ctx, "plain loop "+name, argv, r.c.Timeout)
	if err != nil {
		return Side{}, err
	}
	sd := side(Plain, p)
	sd.FetchMaxBytes = spec.FetchMaxBytes
	return sd, nil
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

// pc runs PC as its docs recommend (KEY order, the asynchronous periodic
// commit, the asked concurrency, batch size 1); any failure fails the run.
func (r *runner) pc(ctx context.Context, name string, cfg pc.Config) (pc.Result, error) {
	r.start(name + " pc")
	cfg.Ordering, cfg.CommitMode, cfg.Timeout = pc.OrderKey, pc.CommitAsync, r.c.Timeout
	cfg.Progress = r.c.Log
	if err := r.pcSecurity(&cfg); err != nil {
		return pc.Result{}, err
	}
	defer os.Remove(cfg.ClientConfig) // gone already unless the JVM never read it
	res, err := pc.Run(ctx, cfg)
	if err != nil {
		return pc.Result{}, fmt.Errorf("pc %s: %w", name, err)
	}
	return res, nil
}

// pcSide is PC's Side; io says the handler slept (its mean time counts).
func pcSide(r pc.Result, io bool) Side {
	s := Side{Contender: PC, Finished: true, Records: r.Records, Seconds: r.Seconds, FirstRecordS: r.FirstRecordS,
		SteadyPerS: r.SteadyRecordsPerS, CPUSeconds: r.ChildCPUSeconds, PeakRSSKiB: r.PeakRSSKiB, WallSeconds: r.WallSeconds,
		JVMFlags: r.JVMFlags, MaxHeapBytes: r.JVM.MaxHeapBytes, StartupS: r.StartupS, CloseS: r.CloseS, Duplicates: r.Duplicates}
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
	return fmt.Sprintf("%.0f rec/s (%.0f%% of ideal at %.2f ms), %.2f CPU-s/M", s.SteadyPerS, 100*s.IdealShare, s.MeanHandlerMs, s.CPUPerMillion)
}

func noopLine(s Side) string {
	return fmt.Sprintf("%.0f rec/s, %.2f CPU-s/M, %.0f MiB", s.SteadyPerS, s.CPUPerMillion, kib2mib(s.PeakRSSKiB))
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
	argv, err := r.c.ShareChildArgv(spec)
	if err != nil {
		return Side{}, err
	}
	p, err := runChild(ctx, "share "+name, argv, r.c.Timeout)
	if err != nil {
		return Side{}, err
	}
	return side(Share, p), nil
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
	argv, err := r.c.KparChildArgv(spec)
	if err != nil {
		return nil, err
	}
	p, err := runChild(ctx, "kpar-share "+name, argv, r.c.Timeout)
	if err != nil {
		return nil, err
	}
	sd := side(KparShareName, p)
	return &sd, nil
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
