package compare

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/bench/consume"
	"github.com/kpar/kpar/internal/broker"
	"github.com/kpar/kpar/internal/clientsec"
	"github.com/kpar/kpar/internal/pc"
	"github.com/kpar/kpar/internal/sharegroup"
)

// runner runs one contender at a time and reports it.
type runner struct {
	c     Config
	seeds []string
	admin *kgo.Client // sets share group configs
	env   *Env        // the result's, for what PC's runs report
	runs  int         // runs begun so far
}

func (r *runner) logf(format string, args ...any) { r.c.Progress.Note(format, args...) }

func (r *runner) start(name string) {
	r.runs++
	r.c.Progress.Begin(r.runs, r.c.Runs(), name)
}

func (r *runner) measured(format string, args ...any) {
	r.c.Progress.Print(fmt.Sprintf(format, args...))
}

// prepare makes topic hold n records plus 10%: every run measures a
// backlog, not the log's end.
func (r *runner) prepare(ctx context.Context, topic string, n int64, keys int) error {
	n += n / 10
	r.logf("preparing %d records (%d keys) in %s", n, keys, topic)
	_, err := consume.Prepare(ctx, r.seeds, topic, r.c.Partitions, n, keys, r.c.ValueSize, r.c.Opts()...)
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
	if !r.c.Secured() {
		return nil
	}
	f, err := clientsec.WriteProperties(r.c.Client.Java, true)
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
	cfg.Progress = r.c.Progress.Notes()
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
	if r.c.Secured() {
		f, err := clientsec.WriteProperties(r.c.Client.Java, true)
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
