package produce

import "sync"

// recycler hands record wrappers from the promise goroutine, which is done
// with them, back to the sending goroutine, a batch at a time: one lock
// round per recycleBatch records. A sync.Pool put on one goroutine and
// got on another makes most Gets steal from another P's pool, which the
// profile of one producer process showed as its next cost after the clock.
// New wrappers come from slabs, one allocation per slabSize records;
// kgo's buffer bound (MaxBufferedRecords) caps how many are ever live.
type recycler struct {
	mu    sync.Mutex
	full  [][]*benchRecord // batches put back, waiting for the sender
	empty [][]*benchRecord // drained batches, for the promise side to fill
	out   []*benchRecord   // the sender's current batch (sender only)
	in    []*benchRecord   // the batch being filled (promise side only)
	slab  []benchRecord    // fresh wrappers not handed out yet (sender only)
}

const (
	recycleBatch = 256
	slabSize     = 1024
)

// get returns a zeroed wrapper: a recycled one when a batch is back, else
// one from the slab. Only the sending goroutine calls it.
func (r *recycler) get() *benchRecord {
	if len(r.out) == 0 {
		r.swap()
	}
	if n := len(r.out); n > 0 {
		br := r.out[n-1]
		r.out = r.out[:n-1]
		return br
	}
	if len(r.slab) == 0 {
		r.slab = make([]benchRecord, slabSize)
	}
	br := &r.slab[0]
	r.slab = r.slab[1:]
	return br
}

// swap trades the sender's drained batch for a full one, if any.
func (r *recycler) swap() {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(r.full)
	if n == 0 {
		return
	}
	if cap(r.out) > 0 {
		r.empty = append(r.empty, r.out[:0])
	}
	r.out, r.full[n-1] = r.full[n-1], nil
	r.full = r.full[:n-1]
}

// put zeroes br and keeps it for the sender. Only the promise goroutine
// calls it.
func (r *recycler) put(br *benchRecord) {
	*br = benchRecord{}
	if r.in == nil {
		r.in = make([]*benchRecord, 0, recycleBatch)
	}
	r.in = append(r.in, br)
	if len(r.in) < recycleBatch {
		return
	}
	r.mu.Lock()
	r.full = append(r.full, r.in)
	r.in = nil
	if n := len(r.empty); n > 0 {
		r.in, r.empty[n-1] = r.empty[n-1], nil
		r.empty = r.empty[:n-1]
	}
	r.mu.Unlock()
}
