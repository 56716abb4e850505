package compare

import (
	"cmp"
	"slices"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Order is the per-key order a contender kept in an io run, counted
// after the run from when each record's handler started and finished.
//
// The keys live within partitions (the default partitioner hashes the
// key), so order is judged per (partition, key). A record R is
// **reordered** when its handler started before the handler of some record
// of the same partition and key with a lower offset had finished: R's work
// overlapped or preceded work that key order puts before it. Only each
// offset's first processing counts (a redelivered offset is a duplicate,
// counted apart), and only records whose handler finished before the run
// stopped: a lower-offset record never processed in the run cannot make a
// later one reordered. Under key order (kpar's consumer group runs) this
// is 0 by construction; it is measured all the same, never assumed.
type Order struct {
	Records   int64 `json:"records"`   // first processings checked
	Keys      int   `json:"keys"`      // distinct (partition, key) among them
	Reordered int64 `json:"reordered"` // records started before a lower offset of their key finished
	// Duplicates are processings of an offset already processed in the
	// run (a share group redelivering a record); not in Records.
	Duplicates int64 `json:"duplicates"`
	// Untraced processings did not fit the trace (see newTracer); 0 in
	// any run that processed at most its capacity.
	Untraced int64 `json:"untraced,omitempty"`
}

// Share is the reordered fraction of the checked records.
func (o *Order) Share() float64 {
	if o == nil || o.Records == 0 {
		return 0
	}
	return float64(o.Reordered) / float64(o.Records)
}

// event is one handler run.
type event struct {
	partition  int32
	offset     int64
	key        string
	start, end int64 // ns since the tracer's epoch
}

// tracer records handler runs from many goroutines without a lock: each
// takes a slot with one atomic add.
type tracer struct {
	epoch time.Time
	n     atomic.Int64
	ev    []event
}

// newTracer holds up to capacity events; processings beyond it are
// counted as Untraced.
func newTracer(capacity int64) *tracer {
	return &tracer{epoch: time.Now(), ev: make([]event, capacity)}
}

// record notes that r's handler ran from start to end.
func (t *tracer) record(r *kgo.Record, start, end time.Time) {
	i := t.n.Add(1) - 1
	if i >= int64(len(t.ev)) {
		return
	}
	t.ev[i] = event{partition: r.Partition, offset: r.Offset, key: string(r.Key),
		start: int64(start.Sub(t.epoch)), end: int64(end.Sub(t.epoch))}
}

// order counts; call it once every handler that will record has returned.
func (t *tracer) order() *Order {
	n := min(t.n.Load(), int64(len(t.ev)))
	return countOrder(t.ev[:n], t.n.Load()-n)
}

// countOrder applies Order's definition to evs.
func countOrder(evs []event, untraced int64) *Order {
	type pk struct {
		p int32
		k string
	}
	type po struct {
		p int32
		o int64
	}
	o := &Order{Untraced: untraced}
	first := make(map[po]int, len(evs)) // offset -> index of its earliest start
	for i, e := range evs {
		j, seen := first[po{e.partition, e.offset}]
		if !seen {
			first[po{e.partition, e.offset}] = i
			continue
		}
		o.Duplicates++
		if e.start < evs[j].start {
			first[po{e.partition, e.offset}] = i
		}
	}
	byKey := map[pk][]event{}
	for _, i := range first {
		e := evs[i]
		byKey[pk{e.partition, e.key}] = append(byKey[pk{e.partition, e.key}], e)
	}
	for _, es := range byKey {
		slices.SortFunc(es, func(a, b event) int { return cmp.Compare(a.offset, b.offset) })
		var latestEnd int64 = -1 << 62 // the latest finish among lower offsets
		for _, e := range es {
			if e.start < latestEnd {
				o.Reordered++
			}
			latestEnd = max(latestEnd, e.end)
		}
		o.Records += int64(len(es))
	}
	o.Keys = len(byKey)
	return o
}
