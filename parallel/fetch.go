package parallel

import (
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kgo"
)

// fetchSizer adapts kgo.FetchMaxBytes to the records actually fetched: a
// fetch response is sized so that, decoded, the responses of every broker
// together hold about cfg.fetchBudget bytes. Bytes on the wire and decoded
// bytes per record are measured per batch by kgo's HookFetchBatchRead, so
// well-compressed records get a small fetch (a few bytes on the wire
// decode to a kgo.Record each) and incompressible ones a large one, where
// the former rule (an assumed 100 bytes a record) was off by 10x either
// way. The bound is on memory; within it a bigger fetch means fewer round
// trips, which the plain franz-go loop shows is what its default 50 MiB
// buys.
//
// It runs in kgo's fetch goroutines (one hook call per record batch, not
// per record), under its own mutex; it touches the client only through
// UpdateFetchMaxBytes, which kgo reads at each fetch request.
type fetchSizer struct {
	budget  int64                      // decoded bytes for all fetch responses together
	cl      atomic.Pointer[kgo.Client] // set once the client exists; nil: measure only
	partMax int32                      // the per-partition limit the client was built with

	mu      sync.Mutex
	recs    int64 // records measured (decayed by halving, so the size follows changes)
	wire    int64 // their bytes on the wire
	decoded int64 // their bytes decoded
	batches int   // batches since the last sizing
	brokers map[int32]struct{}
	cur     int32 // FetchMaxBytes in force
}

const (
	// recordOverhead is what a decoded record costs beside its bytes: kgo
	// decodes a batch into one []kgo.Record and a []*kgo.Record points at
	// each (grown by appending: up to two pointers a record).
	recordOverhead = int64(unsafe.Sizeof(kgo.Record{})) + 16
	// batchOverhead is a record batch's header on the wire (Kafka's v2
	// format), which FetchBatchMetrics.CompressedBytes leaves out.
	batchOverhead = 61
	// sizeEvery batches between two sizings; decayAt records measured
	// before the counts are halved.
	sizeEvery = 8
	decayAt   = 1 << 20
)

func newFetchSizer(budget int64) *fetchSizer {
	return &fetchSizer{budget: budget, brokers: make(map[int32]struct{}), cur: fetchStartBytes}
}

// start hands the sizer the client it sizes, unless ClientOpts pinned the
// fetch size (the client's FetchMaxBytes is not the library's start value).
func (f *fetchSizer) start(cl *kgo.Client) {
	if v, _ := cl.OptValue(kgo.FetchMaxBytes).(int32); v != fetchStartBytes {
		return
	}
	f.partMax, _ = cl.OptValue(kgo.FetchMaxPartitionBytes).(int32)
	f.cl.Store(cl)
}

// OnFetchBatchRead implements kgo.HookFetchBatchRead.
func (f *fetchSizer) OnFetchBatchRead(meta kgo.BrokerMetadata, _ string, _ int32, m kgo.FetchBatchMetrics) {
	if m.NumRecords <= 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.brokers[meta.NodeID]; !ok {
		f.brokers[meta.NodeID] = struct{}{}
		f.batches = sizeEvery // a new broker shares the budget: size now
	}
	n := int64(m.NumRecords)
	f.recs += n
	f.wire += int64(m.CompressedBytes) + batchOverhead
	f.decoded += int64(m.UncompressedBytes) + n*recordOverhead
	if f.recs >= decayAt {
		f.recs, f.wire, f.decoded = f.recs/2, f.wire/2, f.decoded/2
	}
	if f.batches++; f.batches < sizeEvery {
		return
	}
	f.batches = 0
	cl := f.cl.Load()
	if cl == nil {
		return
	}
	want := fetchSize(f.budget, len(f.brokers), f.wire, f.decoded)
	// Move only on a change of more than an eighth: each change is a store
	// kgo reads at the next request, but sizes that flutter help no one.
	if d := int64(want) - int64(f.cur); d*8 > int64(f.cur) || -d*8 > int64(f.cur) {
		f.cur = want
		cl.UpdateFetchMaxBytes(want, min(f.partMax, want))
	}
}

// fetchSize is the FetchMaxBytes under which one broker's response decodes
// to its share of budget, at wire bytes on the wire per decoded bytes
// measured, within [minFetchBytes, maxFetchBytes].
func fetchSize(budget int64, brokers int, wire, decoded int64) int32 {
	if decoded <= 0 || wire <= 0 {
		return fetchStartBytes
	}
	per := float64(budget) / float64(max(brokers, 1)) * float64(wire) / float64(decoded)
	return int32(min(max(per, minFetchBytes), maxFetchBytes))
}
