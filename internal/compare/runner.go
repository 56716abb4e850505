package compare

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/bench/consume"
	"github.com/kpar/kpar/internal/broker"
	"github.com/kpar/kpar/internal/clientsec"
	"github.com/kpar/kpar/internal/clock"
	"github.com/kpar/kpar/internal/confluentpc"
	"github.com/kpar/kpar/parallel/sharegroup"
)

// runner runs one contender at a time and reports it.
type runner struct {
	c     Config
	admin *kgo.Client // sets share group configs
	env   *Env        // the result's, for what PC's runs report
	runs  int         // runs begun so far
}

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
	r.c.Progress.Note("preparing %d records (%d keys) in %s", n, keys, topic)
	_, err := consume.Prepare(ctx, r.c.Brokers, topic, r.c.Partitions, n, keys, r.c.ValueSize, r.c.Opts()...)
	return err
}

// checked refuses a rate run (the io and no-op parts) whose window is
// shorter than the minimum; the memory part's runs (tag "rss") are not
// rates.
func (r *runner) checked(tag, label string, s Side, err error) (Side, error) {
	if err == nil && tag != "rss" {
		err = s.Window.Check(label, r.c.MinWindow)
	}
	if err != nil {
		return Side{}, err
	}
	return s, nil
}

// child runs one Go contender's process (`kpar child <kind>`).
func (r *runner) child(ctx context.Context, tag, contender, kind, label string, spec any) (Side, error) {
	r.start(tag + " " + contender)
	s, err := runChild(ctx, r.c.Child, kind, label, contender, spec, r.c.Timeout)
	return r.checked(tag, label, s, err)
}

func (r *runner) kpar(ctx context.Context, tag string, spec KparSpec) (Side, error) {
	return r.child(ctx, tag, Kpar, "compare-kpar", "kpar "+tag, spec)
}

func (r *runner) plain(ctx context.Context, tag string, spec PlainSpec) (Side, error) {
	label := "plain loop (kgo's default fetch size) " + tag
	if spec.FetchMaxBytes > 0 {
		label = fmt.Sprintf("plain loop (FetchMaxBytes %d) %s", spec.FetchMaxBytes, tag)
	}
	s, err := r.child(ctx, tag, Plain, "compare-plain", label, spec)
	s.FetchMaxBytes = spec.FetchMaxBytes // 0 names kgo's default
	return s, err
}

// share and kparShare run the bare share consumer and kpar's share mode,
// each on a fresh share group that reads the topic from its start (a new
// share group reads from the end otherwise).
func (r *runner) share(ctx context.Context, tag, slug string, spec ShareSpec) (s Side, err error) {
	if spec.Group, err = r.shareGroup(ctx, Share, slug); err != nil {
		return Side{}, err
	}
	spec.Members = r.c.ShareMembers
	return r.child(ctx, tag, Share, "compare-share", "share "+tag, spec)
}

func (r *runner) kparShare(ctx context.Context, tag, slug string, spec KparSpec) (s Side, err error) {
	if spec.ShareGroup, err = r.shareGroup(ctx, KparShareName, slug); err != nil {
		return Side{}, err
	}
	spec.Members = r.c.ShareMembers
	return r.child(ctx, tag, KparShareName, "compare-kpar", "kpar-share "+tag, spec)
}

func (r *runner) shareGroup(ctx context.Context, contender, slug string) (string, error) {
	g := fmt.Sprintf("%s-%s-%s-%d", r.c.TopicPrefix, contender, slug, time.Now().UnixNano())
	return g, sharegroup.FromEarliest(ctx, r.admin, g)
}

// javaConfig writes the security settings for one JVM run (PC's harness
// deletes it once read) into a file of its own; "" when there are none.
// The caller removes it after the run.
func (r *runner) javaConfig() (string, error) {
	if !r.c.Secured() {
		return "", nil
	}
	return clientsec.WriteProperties(r.c.Client.Java, true)
}

// runPC runs PC as its docs recommend (KEY order, the asynchronous
// periodic commit, the asked concurrency, batch size 1), bounded by
// cfg.Timeout (0: Config.Timeout): confluentpc.Run, or the Config's
// stand-in in tests.
func (r *runner) runPC(ctx context.Context, cfg confluentpc.Config) (confluentpc.Result, error) {
	cfg.Ordering, cfg.CommitMode, cfg.Progress = confluentpc.OrderKey, confluentpc.CommitAsync, r.c.Progress.Notes()
	if cfg.Timeout == 0 {
		cfg.Timeout = r.c.Timeout
	}
	var err error
	if cfg.ClientConfig, err = r.javaConfig(); err != nil {
		return confluentpc.Result{}, err
	}
	defer os.Remove(cfg.ClientConfig) // gone already unless the JVM never read it
	if r.c.pcRun != nil {
		return r.c.pcRun(ctx, cfg)
	}
	return confluentpc.Run(ctx, cfg)
}

// pc is one PC run of a part; any failure fails the part.
func (r *runner) pc(ctx context.Context, tag string, cfg confluentpc.Config) (Side, error) {
	r.start(tag + " pc")
	res, err := r.runPC(ctx, cfg)
	if err != nil {
		return Side{}, fmt.Errorf("pc %s: %w", tag, err)
	}
	r.env.setJVM(res)
	return r.checked(tag, "pc "+tag, pcSide(res, cfg.Work == confluentpc.WorkSleep), nil)
}

// pcSide is PC's Side; io says the handler slept (its mean time counts).
func pcSide(r confluentpc.Result, io bool) Side {
	s := Side{Contender: PC, Finished: true, CPUSeconds: r.ChildCPUSeconds, PeakRSSKiB: r.PeakRSSKiB, WallSeconds: r.WallSeconds,
		JVMFlags: append([]string{}, r.JVMFlags...), MaxHeapBytes: r.JVM.MaxHeapBytes, StartupS: r.StartupS, CloseS: r.CloseS,
		Duplicates: r.Duplicates, FetchMaxBytes: int32(r.Options.FetchMaxBytes), FetchMaxPartitionBytes: int32(r.Options.MaxPartitionFetchBytes)}
	s.setWindow(r.Window())
	if io {
		s.MeanHandlerMs = r.MeanHandlerMs
	}
	s.CPUPerMillion = clock.PerMillion(s.CPUSeconds, s.Records)
	return s
}

// setJVM records the versions PC's harness reported at run time.
func (e *Env) setJVM(r confluentpc.Result) {
	e.PCVersion, e.KafkaClientsVersion = r.PCVersion, r.KafkaClientsVersion
	e.JavaVersion, e.JavaVM = r.JVM.Version, r.JVM.VM
	if e.JVMFlags == nil {
		e.JVMFlags = append([]string{}, r.JVMFlags...)
	}
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
	args := javaShareArgs(cp, r.c.Brokers, topic, g, records, r.c.ShareMembers)
	f, err := r.javaConfig()
	if err != nil {
		return JavaShare{}, err
	}
	if f != "" {
		defer os.Remove(f)
		args = append(args, "--consumer.config", f)
	}
	if r.c.javaShareRun != nil {
		return r.c.javaShareRun(ctx, args)
	}
	return runJavaShare(ctx, java, args, r.c.ShareMembers, r.c.Timeout)
}

// heapSearch runs PC with kpar's fetch sizes under shrinking or growing
// heaps (see HeapSearch) and fills mem.HeapSearch and mem.PCCapped (its
// first step). A heap too small is a result, not a failure.
func (r *runner) heapSearch(ctx context.Context, mem *RSS) error {
	c := r.c
	hs := &HeapSearch{FetchMaxBytes: mem.Kpar.FetchMaxBytes, MaxPartitionFetchBytes: mem.Kpar.FetchMaxPartitionBytes,
		StartFromKpar: c.PCHeap == "auto", StartMiB: int64(math.Ceil(float64(mem.Kpar.PeakRSSKiB) / 1024))}
	if !hs.StartFromKpar {
		hs.StartMiB = heapMiB(c.PCHeap)
	}
	step := c.HeapTimeout
	if step == 0 { // three times PC's default-heap run, at least a minute, at most --timeout
		step = min(c.Timeout, max(time.Minute, 3*time.Duration(mem.PC.WallSeconds*float64(time.Second))))
	}
	hs.StepTimeoutS = step.Seconds()
	mem.HeapSearch, mem.CapFromKpar = hs, hs.StartFromKpar
	for size, ok := hs.StartMiB, true; ok && len(hs.Steps) < c.HeapSteps; size, ok = nextHeap(hs.FailedMiB, hs.NeedsMiB, size) {
		s, err := r.cappedPC(ctx, mem.Topic, size, hs, step)
		if err != nil {
			return err
		}
		hs.Steps = append(hs.Steps, HeapStep{HeapMiB: size, Side: s})
		if len(hs.Steps) == 1 {
			mem.PCCapped, mem.CapHeap = s, fmt.Sprintf("%dm", size)
		}
		hs.NeedsMiB, hs.FailedMiB = heapBounds(hs.Steps)
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
	case failed == 0 && last <= MinHeapMiB, failed != 0 && finished-failed <= max(4, finished/8):
		return 0, false
	case failed == 0: // everything finished: shrink
		return max(MinHeapMiB, last/2), true
	}
	return (failed + finished) / 2, true
}

// heapMiB is a -Xmx size (heapRe) in MiB, rounded up.
func heapMiB(s string) int64 {
	unit := map[byte]int64{'k': 1 << 10, 'm': 1 << 20, 'g': 1 << 30}[s[len(s)-1]|0x20]
	if unit == 0 {
		unit = 1
	} else {
		s = s[:len(s)-1]
	}
	var n int64
	fmt.Sscan(s, &n)
	return max(1, (n*unit+(1<<20)-1)>>20)
}

// cappedPC is one step of the heap search; not finishing is a Side with
// DidNotFinish, only a cancelled ctx or a set-up error is an error.
func (r *runner) cappedPC(ctx context.Context, topic string, heapMiB int64, hs *HeapSearch, timeout time.Duration) (Side, error) {
	// ExitOnOutOfMemoryError: a JVM whose heap ran out ends there. Without it
	// PC's harness could live on after an OutOfMemoryError in one of its
	// threads, thrashing until the timeout and its grace killed it (1m45s
	// in a 2M-record run, against 4 s when it ended at the error).
	capped := Side{Contender: PC, Records: r.c.RSSRecords, JVMFlags: []string{fmt.Sprintf("-Xmx%dm", heapMiB), "-XX:+ExitOnOutOfMemoryError"},
		FetchMaxBytes: hs.FetchMaxBytes, FetchMaxPartitionBytes: hs.MaxPartitionFetchBytes}
	label := PCLabel(capped)
	r.start("rss " + label)
	start := time.Now()
	cfg := r.c.pcConfig(topic, r.c.RSSRecords, r.c.NoopConcurrency)
	cfg.JVMFlags, cfg.FetchMaxBytes, cfg.MaxPartitionFetchBytes, cfg.Timeout = capped.JVMFlags, hs.FetchMaxBytes, hs.MaxPartitionFetchBytes, timeout
	pr, err := r.runPC(ctx, cfg)
	switch {
	case err == nil:
		s := pcSide(pr, false)
		s.FetchMaxBytes, s.FetchMaxPartitionBytes = capped.FetchMaxBytes, capped.FetchMaxPartitionBytes
		r.measured("rss: %s finished, peak %.0f MiB", label, kib2mib(s.PeakRSSKiB))
		return s, nil
	case ctx.Err() != nil:
		return Side{}, err
	}
	capped.WallSeconds, capped.DidNotFinish = time.Since(start).Seconds(), didNotFinish(err)
	r.measured("rss: %s did not finish: %s", label, firstLine(capped.DidNotFinish))
	return capped, nil
}

// didNotFinish is the reason PC's reduced-heap run gave up, kept short.
func didNotFinish(err error) string {
	kind := "failed"
	switch {
	case errors.Is(err, confluentpc.ErrHarnessTimeout), errors.Is(err, confluentpc.ErrKilled):
		kind = "timed out"
	case errors.Is(err, confluentpc.ErrPCFailed):
		kind = "PC closed or failed"
	case errors.Is(err, confluentpc.ErrExit):
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
	first, _, _ := strings.Cut(s, "\n")
	return first
}
