package produce

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kgo"
)

// wireCounter counts bytes on the wire through franz-go's broker hooks.
type wireCounter struct{ out, in atomic.Int64 }

func (w *wireCounter) OnBrokerWrite(_ kgo.BrokerMetadata, _ int16, n int, _, _ time.Duration, _ error) {
	w.out.Add(int64(n))
}

func (w *wireCounter) OnBrokerRead(_ kgo.BrokerMetadata, _ int16, n int, _, _ time.Duration, _ error) {
	w.in.Add(int64(n))
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
	start time.Time
}

// slice is one producer's share of the dataset.
type slice struct {
	keys   [][]byte // nil when records have no key
	values [][]byte
}

// run produces every record of sl and, unless s.NoFlush, waits for every
// delivery report. progress (may be nil) is told about reports in chunks.
func (p *producer) run(ctx context.Context, idx int, sl slice, s Settings, partitions map[string]int, progress func(int64)) Sample {
	var (
		acked, failed atomic.Int64
		payload       int64 // touched only by the promise goroutine
		lastReport    atomic.Int64
		firstErr      atomic.Pointer[string]
		pending       int64
		hist          = newHist()
		pool          = sync.Pool{New: func() any { return new(benchRecord) }}
	)
	// Promises run serially on one goroutine per client, so the histogram
	// and payload counter need no lock.
	promise := func(r *kgo.Record, err error) {
		br := (*benchRecord)(unsafe.Pointer(r))
		now := time.Now()
		if err != nil {
			failed.Add(1)
			if firstErr.Load() == nil {
				msg := err.Error()
				firstErr.CompareAndSwap(nil, &msg)
			}
		} else {
			acked.Add(1)
			payload += int64(len(r.Key) + len(r.Value))
			_ = hist.RecordValue(now.Sub(br.start).Microseconds())
		}
		lastReport.Store(now.UnixNano())
		if progress != nil {
			if pending++; pending == 1024 {
				progress(pending)
				pending = 0
			}
		}
		*br = benchRecord{}
		pool.Put(br)
	}
	n := len(sl.values)
	start := time.Now()
	produced := int64(0)
	for i := 0; i < n; i++ {
		if ctx.Err() != nil {
			break
		}
		br := pool.Get().(*benchRecord)
		br.Value = sl.values[i]
		if sl.keys != nil {
			br.Key = sl.keys[i]
		}
		br.Topic = s.Topics[i%len(s.Topics)]
		if s.Partitioner == "manual" {
			br.Partition = int32(i % partitions[br.Topic])
		}
		br.start = time.Now()
		p.cl.Produce(ctx, &br.Record, promise)
		produced++
	}
	var noReport int64
	if s.NoFlush {
		// What a program that returns without Flush knows at exit: the
		// records buffered or in flight have no delivery report yet.
		noReport = produced - acked.Load() - failed.Load()
	} else {
		_ = p.cl.Flush(ctx)
		if progress != nil && pending > 0 {
			progress(pending)
		}
	}
	end := time.Unix(0, lastReport.Load())
	if lastReport.Load() == 0 || s.NoFlush {
		end = time.Now()
	}
	smp := Sample{
		Producer:  idx,
		Records:   produced,
		Acked:     acked.Load(),
		Failed:    failed.Load(),
		NoReport:  noReport,
		ElapsedNs: end.Sub(start).Nanoseconds(),
	}
	if e := firstErr.Load(); e != nil {
		smp.FirstError = *e
	}
	if !s.NoFlush {
		// Only after Flush are the promise-owned counters settled.
		smp.PayloadBytes = payload
		smp.Latency = hist.Export()
	}
	smp.WireOut, smp.WireIn = p.wire.out.Load(), p.wire.in.Load()
	return smp
}

// close stops the client. Under no-flush this is the "exit": buffered
// records fail with ErrClientClosed and whatever was in flight may or may
// not have reached the broker, which is what end offsets then show.
func (p *producer) close() { p.cl.Close() }
