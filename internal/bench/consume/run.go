package consume

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"time"

	"github.com/kpar/kpar/internal/clock"
	"github.com/kpar/kpar/parallel"
)

// Run prepares the topics (producing only what is missing) and runs the
// measurements c.Only names, in the order io, cpu, rss. c.Brokers must
// answer (the caller probed them). The Result is complete only when the
// error is nil.
func Run(ctx context.Context, c Config) (Result, error) {
	if err := c.Validate(); err != nil {
		return Result{}, err
	}
	res := Result{Header: Kind.Header(c.Command), Brokers: c.Brokers, CPUs: runtime.NumCPU(),
		Repeat: c.Repeat, MinWindowS: c.MinWindow.Seconds(), Note: "Timings on a shared machine are noisy"}
	if c.runs("io") {
		ms, err := c.ioRepeats(ctx)
		if err != nil {
			return Result{}, err
		}
		res.IO = newIO(c, ms, res.CPUs)
	}
	big := fmt.Sprintf("%s-big-%dp-%dv", c.TopicPrefix, c.Partitions, c.ValueSize)
	if c.runs("cpu") && c.CPURecords == 0 {
		cal, err := c.calibrate(ctx, big)
		if err != nil {
			return Result{}, err
		}
		res.Calibration, c.CPURecords = cal, cal.Chosen
	}
	if c.runs("cpu") || c.runs("rss") {
		n := c.CPURecords
		if c.runs("rss") {
			n = max(n, c.RSSRecords)
		}
		c.Progress.Note("preparing %d records in %s", n+n/10, big)
		if err := c.prepare(ctx, big, n); err != nil {
			return Result{}, err
		}
	}
	if c.runs("cpu") {
		reps, err := c.cpuRepeats(ctx, big, res.Calibration)
		if err != nil {
			return Result{}, err
		}
		res.CPU = newCPU(c, reps[0].PlainSameFetch.FetchMaxBytes, reps)
	}
	if c.runs("rss") {
		c.Progress.Note("rss: child consumes %d records with MaxBuffered=%d, per partition %d", c.RSSRecords, c.MaxBuffered, c.PerPart)
		r, err := measureRSS(ctx, c.RSSChild, RSSSpec{Brokers: c.Brokers, Topic: big, Records: c.RSSRecords, ParallelSpec: c.noop()})
		if err != nil {
			return Result{}, err
		}
		res.RSS = &r
	}
	res.Finish()
	return res, nil
}

// prepare makes topic hold n records and 10% more: the runs measure a
// backlog, not the log's end, where a partition resumed from backpressure
// waits out the fetch long-poll (FetchMaxWait) of the others, all idle.
func (c Config) prepare(ctx context.Context, topic string, n int64) error {
	_, err := Prepare(ctx, c.Brokers, topic, c.Partitions, n+n/10, c.Keys, c.ValueSize, c.Opts()...)
	return err
}

// ioRepeats prepares the io topic (and the output topic of a transactional
// run) and measures c.Repeat parallel runs over it.
func (c Config) ioRepeats(ctx context.Context) ([]Measurement, error) {
	topic := fmt.Sprintf("%s-io-%dp-%dk-%dv", c.TopicPrefix, c.Partitions, c.Keys, c.ValueSize)
	c.Progress.Note("io: preparing %d records in %s", c.Records, topic)
	if err := c.prepare(ctx, topic, c.Records); err != nil {
		return nil, err
	}
	spec := ParallelSpec{Order: c.Order, Concurrency: c.Concurrency, Sleep: c.Sleep, MaxBuffered: c.IOMaxBuffered,
		PerPart: c.IOPerPart, CommitInterval: &c.CommitInterval, ClientOpts: c.Opts(), Stall: c.StallTimeout}
	mode := "at-least-once"
	if c.Transactional {
		spec.OutTopic, mode = c.TopicPrefix+"-out", "transactional"
		if err := c.prepare(ctx, spec.OutTopic, 0); err != nil {
			return nil, err
		}
	}
	var ms []Measurement
	for rep := 1; rep <= c.Repeat; rep++ {
		c.Progress.Note("io %d/%d: consuming with %d goroutines, %v handler, %s order, %s, commit interval %v",
			rep, c.Repeat, c.Concurrency, c.Sleep, c.Order, mode, c.CommitInterval)
		m, err := RunParallel(ctx, c.Brokers, topic, c.Records, spec)
		if err != nil {
			return nil, err
		}
		if err := m.Check(c.MinWindow); err != nil {
			return nil, fmt.Errorf("io (raise --records): %w", err)
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// maxResizes bounds how often a calibrated cpu part restarts larger.
const maxResizes = 2

// cpuRepeats runs the repeats. When the count was calibrated (cal set) and
// a repeat's window comes out short because a contender ran faster than
// the calibration said, the part restarts from its first repeat with a
// count sized from that repeat's rates, at most maxResizes times: every
// repeat of the result is then measured on one count.
func (c *Config) cpuRepeats(ctx context.Context, big string, cal *Calibration) ([]CPURepeat, error) {
	var reps []CPURepeat
	for rep := 1; rep <= c.Repeat; rep++ {
		r, err := c.cpuRepeat(ctx, big, rep)
		if err == nil {
			reps = append(reps, r)
			continue
		}
		n, err := c.resizeFor(err, r, cal)
		if err != nil {
			return nil, err
		}
		c.Progress.Note("cpu: repeat %d ran faster than calibrated: restarting the cpu part with %d records each", rep, n)
		if err := c.prepare(ctx, big, n); err != nil {
			return nil, err
		}
		cal.Resized = append(cal.Resized, n)
		c.CPURecords, reps, rep = n, nil, 0
	}
	return reps, nil
}

// resizeFor is the record count a calibrated cpu part restarts with when
// repeat r came out short (err), sized from r's fastest contender; or the
// error that ends the part: a count given by hand, resizes used up, another
// failure, or a count past CPURecordsMax.
func (c Config) resizeFor(err error, r CPURepeat, cal *Calibration) (int64, error) {
	if cal == nil || len(cal.Resized) >= maxResizes || !errors.Is(err, clock.ErrTooShort) {
		return 0, err
	}
	n, cerr := chooseRecords(max(r.Parallel.PerS(), r.PlainSameFetch.PerS(), r.PlainDefault.PerS()), c.MinWindow, c.CPURecords+1, c.CPURecordsMax)
	if cerr != nil {
		return 0, errors.Join(err, cerr)
	}
	return n, nil
}

// cpuRepeat runs the three no-op contenders once, back to back (kpar, the
// plain loop with kpar's fetch size, with kgo's default), and refuses the
// repeat when any window is shorter than MinWindow, naming every one.
// kpar's fetch size is --fetch-max-bytes when given, else the size the
// library's adaptive fetch had reached at kpar's n-th record.
func (c Config) cpuRepeat(ctx context.Context, topic string, rep int) (CPURepeat, error) {
	var r CPURepeat
	var err error
	c.Progress.Note("cpu %d/%d: kpar, no-op handler, %d records", rep, c.Repeat, c.CPURecords)
	if r.Parallel, err = RunParallel(ctx, c.Brokers, topic, c.CPURecords, c.noop()); err != nil {
		return r, err
	}
	same := c.FetchMaxBytes
	if same <= 0 {
		same = r.Parallel.FetchMaxBytes
	}
	c.Progress.Note("cpu %d/%d: plain franz-go poll loop, FetchMaxBytes %d (kpar's), %d records", rep, c.Repeat, same, c.CPURecords)
	if r.PlainSameFetch, err = RunPlain(ctx, c.Brokers, topic, c.CPURecords, same, c.StallTimeout, c.Opts()...); err != nil {
		return r, err
	}
	c.Progress.Note("cpu %d/%d: plain franz-go poll loop, kgo's default fetch size, %d records", rep, c.Repeat, c.CPURecords)
	if r.PlainDefault, err = RunPlain(ctx, c.Brokers, topic, c.CPURecords, 0, c.StallTimeout, c.Opts()...); err != nil {
		return r, err
	}
	var short []error
	for _, m := range []Measurement{r.Parallel, r.PlainSameFetch, r.PlainDefault} {
		if err := m.Check(c.MinWindow); err != nil {
			short = append(short, err)
		}
	}
	if len(short) > 0 {
		return r, fmt.Errorf("cpu (raise --cpu-records): %w", errors.Join(short...))
	}
	return r, nil
}

// noop is the parallel consumer of the cpu and rss parts: a no-op handler
// under key order.
func (c Config) noop() ParallelSpec {
	return ParallelSpec{Order: parallel.OrderKey, Concurrency: c.CPUConcurrency, MaxBuffered: c.MaxBuffered, PerPart: c.PerPart,
		FetchMaxBytes: c.FetchMaxBytes, ClientOpts: c.Opts(), Stall: c.StallTimeout}
}

// calibrationRecords is the backlog the calibration run reads: enough for
// the fastest contender to pass its first fetches and settle, small enough
// to cost a second or two.
var calibrationRecords int64 = 4_000_000 // a var: tests calibrate on fewer

// calibrationMargin is how much longer than MinWindow the chosen size aims
// for: the repeats can still run faster than the calibration (a quieter
// machine, a warmer page cache); 1.5 was seen failing the 4 s window of a
// short run when the machine's load dropped.
const calibrationMargin = 2.0

// calibrate measures the fastest contender (the plain loop with kgo's
// default fetch size) over a small backlog and chooses CPURecords so that
// its window lasts calibrationMargin x MinWindow after the warm-up: every
// contender's window is then at least that long, the others being slower.
func (c Config) calibrate(ctx context.Context, topic string) (*Calibration, error) {
	n := calibrationRecords
	c.Progress.Note("cpu: calibrating on %d records (the fastest contender, the plain loop with kgo's default fetch size)", n)
	if err := c.prepare(ctx, topic, n); err != nil {
		return nil, err
	}
	// Twice, the faster kept: the first read starts cold (page cache, the
	// broker's and the client's first fetches) and underrates the repeats.
	var rate float64
	for range 2 {
		m, err := RunPlain(ctx, c.Brokers, topic, n, 0, c.StallTimeout, c.Opts()...)
		if err != nil {
			return nil, fmt.Errorf("cpu calibration: %w", err)
		}
		rate = max(rate, m.PerS())
	}
	if rate <= 0 {
		return nil, fmt.Errorf("cpu calibration: no records after the warm-up of %d: raise --cpu-records past 0 to size the runs by hand", n)
	}
	chosen, err := chooseRecords(rate, c.MinWindow, n, c.CPURecordsMax)
	if err != nil {
		return nil, err
	}
	c.Progress.Note("cpu: calibration ran at %.0f records/s: %d records each for a %.0f s window", rate, chosen, c.MinWindow.Seconds()*calibrationMargin)
	return &Calibration{Records: n, PerS: rate, Margin: calibrationMargin, Chosen: chosen}, nil
}

// chooseRecords is the record count whose window after the warm-up lasts
// calibrationMargin x minWindow at rate, at least floor, at most most.
func chooseRecords(rate float64, minWindow time.Duration, floor, most int64) (int64, error) {
	chosen := max(floor, int64(math.Ceil(rate*minWindow.Seconds()*calibrationMargin/(1-clock.Warmup))))
	if chosen > most {
		return 0, fmt.Errorf("cpu: the fastest contender ran at %.0f records/s, so a %s window needs %d records, above --cpu-records-max %d: raise it (the broker stores them) or lower --min-window",
			rate, minWindow, chosen, most)
	}
	return chosen, nil
}
