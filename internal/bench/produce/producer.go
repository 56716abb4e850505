package produce

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/twmb/franz-go/pkg/kgo"
)

// wireCounter counts bytes on the wire through franz-go's broker hooks and
// keeps when the client last wrote or read a request, which is when a
// delivery report's acknowledgement arrived (see reports.promise).
type wireCounter struct {
	out, in atomic.Int64
	last    atomic.Int64 // the latest write or read, as time since clockBase
}

// clockBase is the origin of wireCounter.last.
var clockBase = time.Now()

func (w *wireCounter) OnBrokerWrite(_ kgo.BrokerMetadata, _ int16, n int, _, _ time.Duration, _ error) {
	w.out.Add(int64(n))
	w.mark()
}

func (w *wireCounter) OnBrokerRead(_ kgo.BrokerMetadata, _ int16, n int, _, _ time.Duration, _ error) {
	w.in.Add(int64(n))
	w.mark()
}

// mark moves last to now; a writer and a reader race, so it only grows.
func (w *wireCounter) mark() {
	now := int64(time.Since(clockBase))
	for {
		old := w.last.Load()
		if now <= old || w.last.CompareAndSwap(old, now) {
			return
		}
	}
}

// producer is one franz-go client with its own counters.
type producer struct {
	cl   *kgo.Client
	wire *wireCounter
}

// dialTimeout bounds connecting to a broker, so a wrong address fails fast.
const dialTimeout = 10 * time.Second

func newProducer(seeds []string, s Settings, clientOpts ...kgo.Opt) (*producer, error) {
	w := &wireCounter{}
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(seeds...),
		kgo.WithHooks(w),
		kgo.DialTimeout(dialTimeout),
		// Without a bound a dead broker would make the bench hang forever.
		kgo.RecordDeliveryTimeout(2 * time.Minute),
	}, s.kgoOpts()...)
	opts = append(opts, clientOpts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("producer client: %w", err)
	}
	return &producer{cl: cl, wire: w}, nil
}

// benchRecord carries the send time with the record. kgo hands the same
// *kgo.Record back to the promise, and Record is the first field, so the
// promise recovers the wrapper without a map or a per-record context
// (kgo's own Timestamp is truncated to milliseconds: too coarse).
type benchRecord struct {
	kgo.Record
	sent time.Duration // monotonic, since the run's start
}

// slice is one producer's share of the dataset.
type slice struct {
	keys   [][]byte // nil when records have no key
	values [][]byte
}

// source hands a producer its records in order, key (nil: none) and value,
// until yield returns false; an error ends the run as failed.
type source func(yield func(key, value []byte) bool) error

// records is sl as a source.
func (sl slice) records(yield func(key, value []byte) bool) error {
	for i, v := range sl.values {
		var k []byte
		if sl.keys != nil {
			k = sl.keys[i]
		}
		if !yield(k, v) {
			break
		}
	}
	return nil
}

// reports counts one producer's delivery reports. Promises run serially
// on one goroutine per client, so the histogram, payload and pending
// counters need no lock.
type reports struct {
	acked, failed atomic.Int64
	payload       int64 // touched only by the promise goroutine
	// start is the run's start: send and report times are read as
	// time.Since(start), one monotonic clock read, where time.Now reads
	// the wall clock too (the largest single cost per record in the
	// profile of one producer process).
	start      time.Time
	lastReport atomic.Int64 // time.Duration since start; 0: none yet
	// stamp is the last record timestamp handed out, at millisecond
	// precision as Kafka keeps it, and stampMs its Unix milliseconds:
	// records sent in the same millisecond share it (sender only).
	startNs  int64 // start as Unix nanoseconds
	stamp    time.Time
	stampMs  int64
	firstErr atomic.Pointer[string]
	pending  int64
	hist     *hdrhistogram.Histogram
	recs     recycler
	progress func(int64) // may be nil; told about reports in chunks
	// wire, when set, gives a delivery report's time without a clock
	// read (see promise); base is start as time since clockBase.
	wire *wireCounter
	base time.Duration
}

func newReports(progress func(int64), wire *wireCounter) *reports {
	start := time.Now()
	return &reports{hist: newHist(), progress: progress, start: start, startNs: start.UnixNano(), wire: wire, base: start.Sub(clockBase)}
}

// next fills a wrapper with the i-th record sent, key and value, round
// robin over the topics (and partitions, when s.Partitioner is manual),
// and stamps it: one clock read gives both the latency's start and the
// record's timestamp, which kgo would otherwise read again with time.Now.
func (d *reports) next(key, value []byte, i int, s Settings, partitions map[string]int) *benchRecord {
	br := d.recs.get()
	br.Key, br.Value = key, value
	br.Topic = s.Topics[i%len(s.Topics)]
	if s.Partitioner == "manual" {
		br.Partition = int32(i % partitions[br.Topic])
	}
	br.sent = time.Since(d.start)
	br.Timestamp = d.timestamp(br.sent)
	return br
}

// timestamp is the wall time sent after the run's start, cut to the
// millisecond: what kgo would send for time.Now, without time.Time
// arithmetic per record (time.Time.Add was 6% of the samples).
func (d *reports) timestamp(sent time.Duration) time.Time {
	if ms := (d.startNs + int64(sent)) / 1e6; ms != d.stampMs {
		d.stamp, d.stampMs = time.UnixMilli(ms), ms
	}
	return d.stamp
}

// promise counts r's delivery report and hands its wrapper back. An acked
// record's report time is the client's latest read or write (wire): franz-go
// reads the response that acknowledges a record (writes the request, under
// acks=0) before it runs the record's promise, so that time lies between
// the acknowledgement's arrival and the promise itself, without a clock
// read per record (with the send's, the largest single cost in the
// profile of one producer process). A failure reads the clock.
func (d *reports) promise(r *kgo.Record, err error) {
	br := (*benchRecord)(unsafe.Pointer(r))
	var now time.Duration
	if d.wire != nil && err == nil {
		now = max(time.Duration(d.wire.last.Load())-d.base, br.sent)
	} else {
		now = time.Since(d.start)
	}
	if err != nil {
		d.failed.Add(1)
		if d.firstErr.Load() == nil {
			msg := err.Error()
			d.firstErr.CompareAndSwap(nil, &msg)
		}
	} else {
		d.acked.Add(1)
		d.payload += int64(len(r.Key) + len(r.Value))
		_ = d.hist.RecordValue((now - br.sent).Microseconds())
	}
	d.lastReport.Store(int64(max(now, 1)))
	if d.progress != nil {
		if d.pending++; d.pending == 1024 {
			d.progress(d.pending)
			d.pending = 0
		}
	}
	d.recs.put(br)
}

// run hands every record of src to the client (see next) until ctx ends
// and, unless s.NoFlush, waits for every delivery report. progress (may
// be nil) is told about reports in chunks. An error of src is returned
// after the records it gave were flushed.
func (p *producer) run(ctx context.Context, idx int, src source, s Settings, partitions map[string]int, progress func(int64)) (Sample, error) {
	d := newReports(progress, p.wire)
	promise, produced := d.promise, int64(0)
	srcErr := src(func(key, value []byte) bool {
		if ctx.Err() != nil {
			return false
		}
		p.cl.Produce(ctx, &d.next(key, value, int(produced), s, partitions).Record, promise)
		produced++
		return true
	})
	var noReport int64
	if s.NoFlush {
		// What a program that returns without Flush knows at exit: the
		// records buffered or in flight have no delivery report yet.
		noReport = produced - d.acked.Load() - d.failed.Load()
	} else {
		_ = p.cl.Flush(ctx)
		if progress != nil && d.pending > 0 {
			progress(d.pending)
		}
	}
	elapsed := time.Duration(d.lastReport.Load())
	if elapsed == 0 || s.NoFlush {
		elapsed = time.Since(d.start)
	}
	smp := Sample{Producer: idx, Records: produced, Acked: d.acked.Load(), Failed: d.failed.Load(), NoReport: noReport,
		ElapsedNs: elapsed.Nanoseconds(), WireOut: p.wire.out.Load(), WireIn: p.wire.in.Load()}
	if e := d.firstErr.Load(); e != nil {
		smp.FirstError = *e
	}
	if !s.NoFlush {
		// Only after Flush are the promise-owned counters settled.
		smp.PayloadBytes = d.payload
		smp.Latency = d.hist.Export()
	}
	return smp, srcErr
}

// close stops the client. Under no-flush this is the "exit": buffered
// records fail with ErrClientClosed and whatever was in flight may or may
// not have reached the broker, which is what end offsets then show.
func (p *producer) close() { p.cl.Close() }
