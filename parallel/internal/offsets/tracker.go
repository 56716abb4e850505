// Package offsets tracks out-of-order completions of one partition's records
// and encodes the completions above the committable offset into Kafka commit
// metadata, so that a restarted or newly assigned consumer can skip them.
//
// Model: records are added in increasing offset order (with gaps: compaction
// and transaction markers leave holes) and completed in any order. An offset
// that was never added but lies below the highest added one is a hole: it
// will never be delivered, so it counts as done. The committable offset is
// therefore the lowest added-but-incomplete offset, or one past the highest
// added offset when nothing is pending.
//
// The tracker refuses (CanAdd = false) a record whose admission could make
// the completion map too large for the metadata budget, whatever order the
// pending records complete in: the bitset form over the whole window is an
// upper bound on the encoding. The map is thus never dropped; the partition
// waits for its lowest pending record instead.
package offsets

import (
	"errors"
	"fmt"
	"sort"
)

type entry struct {
	off  int64
	done bool
}

// Tracker is one partition's completion state. It is not safe for
// concurrent use; the caller holds the partition's lock.
type Tracker struct {
	budget int // payload bytes available in metadata

	win  []entry // added offsets from the lowest pending one upwards, ascending
	head int     // win[head:] is live; the prefix is garbage awaiting compaction

	hi      int64 // highest added offset, -1 before the first Add
	base    int64 // committable offset when win is empty and nothing was added; -1 unknown
	pending int   // added and not done

	restored *Decoded // map from the last commit, consulted for offsets > hi

	hint int // index in win of the last Done: completions tend to ascend
}

// ErrOutOfOrder reports an Add at or below an offset already added.
var ErrOutOfOrder = errors.New("offsets: offset added out of order")

// NewTracker returns a tracker whose metadata stays within maxMetadataBytes
// characters (<= 0 means the broker default, 4096).
func NewTracker(maxMetadataBytes int) *Tracker {
	if maxMetadataBytes <= 0 {
		maxMetadataBytes = DefaultMaxMetadataBytes
	}
	return &Tracker{budget: PayloadBudget(maxMetadataBytes), hi: -1, base: -1}
}

// Restore seeds the tracker with the committed offset and its metadata, as
// fetched when the partition was assigned. Metadata that kpar did not write,
// or whose base is not the committed offset (someone reset the group), is
// ignored: the records are then re-processed, never skipped wrongly.
// It must be called before the first Add. It returns the decode error, if
// any, for logging; the tracker is usable either way.
func (t *Tracker) Restore(committed int64, meta string) error {
	if committed < 0 {
		return nil
	}
	t.base = committed
	d, err := Decode(meta)
	if err != nil {
		if errors.Is(err, ErrNotOurs) {
			return nil
		}
		return err
	}
	if d.Base != committed {
		return fmt.Errorf("offsets: metadata base %d differs from committed offset %d; ignoring map", d.Base, committed)
	}
	if d.N > 0 {
		t.restored = d
	}
	return nil
}

// low is the committable offset, or -1 when unknown.
func (t *Tracker) low() int64 {
	if t.head < len(t.win) {
		return t.win[t.head].off
	}
	if t.hi >= 0 {
		return t.hi + 1
	}
	return t.base
}

// Committable returns the offset to commit: everything below it is done.
// It is -1 when the tracker knows nothing yet.
func (t *Tracker) Committable() int64 { return t.low() }

// Pending returns how many added records are not yet done.
func (t *Tracker) Pending() int { return t.pending }

// Window returns how many offsets the completion map would have to span to
// admit offset o, i.e. from the committable offset through o (and through the
// end of a restored map).
func (t *Tracker) span(o int64) int64 {
	low := t.low()
	if low < 0 {
		low = o
	}
	end := o + 1
	if t.restored != nil && t.restored.End() > end {
		end = t.restored.End()
	}
	if end < low {
		return 0
	}
	return end - low
}

// CanAdd reports whether offset o can be admitted without risking a
// completion map larger than the metadata budget.
func (t *Tracker) CanAdd(o int64) bool {
	if t.restored != nil && o < t.restored.End() {
		// Inside a restored map the pending records are exactly its
		// not-done offsets; completing them only merges runs, so the
		// encoding cannot grow past the one that was committed.
		return true
	}
	return (t.span(o)+7)/8 <= int64(t.budget)
}

// AddableThrough returns an offset up to which CanAdd holds for a run of
// ascending offsets starting at first and added in turn, with no Done
// between: the caller checks one bound per record instead of CanAdd. The
// bound is CanAdd's at first: the committable offset only rises as offsets
// are added, so it never admits what CanAdd would refuse, and it admits
// first whenever CanAdd(first) does.
func (t *Tracker) AddableThrough(first int64) int64 {
	low := t.low()
	if low < 0 {
		low = first // Add(first) makes it the committable offset
	}
	limit := low + int64(t.budget)*8 - 1 // span(o) = o+1-low bits fit in budget bytes
	if t.restored != nil {
		limit = max(limit, t.restored.End()-1)
	}
	return limit
}

// Add admits offset o. skip is true when o was already completed before the
// restart (per the restored map): the caller must not process it again, and
// it counts as done. Offsets must be added in increasing order.
func (t *Tracker) Add(o int64) (skip bool, err error) {
	if o <= t.hi {
		return false, fmt.Errorf("%w: %d after %d", ErrOutOfOrder, o, t.hi)
	}
	if t.hi < 0 && t.base >= 0 && o < t.base {
		// Below the committed offset: done before we were assigned.
		return true, nil
	}
	t.hi = o
	if t.restored.Done(o) {
		skip = true
	}
	if t.restored != nil && o >= t.restored.End()-1 {
		t.restored = nil // fully consumed
	}
	if skip && t.head == len(t.win) {
		return true, nil // nothing pending below: the hole logic covers it
	}
	t.win = append(t.win, entry{off: o, done: skip})
	if !skip {
		t.pending++
	}
	return skip, nil
}

// Done marks offset o complete. It reports false when o is not pending (not
// added, already done, or below the committable offset).
func (t *Tracker) Done(o int64) bool {
	live := t.win[t.head:]
	i := t.find(live, o)
	if i == len(live) || live[i].off != o || live[i].done {
		return false
	}
	live[i].done = true
	t.pending--
	if i == 0 {
		for t.head < len(t.win) && t.win[t.head].done {
			t.head++
		}
		if t.head == len(t.win) {
			t.win, t.head = t.win[:0], 0
		} else if t.head > 1024 && t.head > len(t.win)/2 {
			n := copy(t.win, t.win[t.head:])
			t.win, t.head = t.win[:n], 0
		}
	}
	return true
}

// find returns the index in live of the first offset >= o. Completions of
// one key or one worker's run ascend, so it gallops from the last Done
// before falling back to a binary search over what is left.
func (t *Tracker) find(live []entry, o int64) int {
	if len(live) == 0 {
		return 0
	}
	// Offsets ascend by at least one per entry, so o sits at index
	// o-live[0].off or below; without gaps (the usual case) exactly there.
	d := o - live[0].off
	if d < 0 {
		return 0
	}
	lo, hi := 0, len(live)
	if d < int64(len(live)) {
		if live[d].off == o {
			t.hint = t.head + int(d)
			return int(d)
		}
		hi = int(d) + 1
	}
	if h := t.hint - t.head; h >= 0 && h < len(live) && live[h].off <= o {
		lo = h
		for step := 1; lo+step < hi; step *= 2 {
			if live[lo+step].off >= o {
				hi = lo + step + 1
				break
			}
			lo += step
		}
	}
	i := lo + sort.Search(hi-lo, func(i int) bool { return live[lo+i].off >= o })
	t.hint = t.head + i
	return i
}

// Metadata encodes the completions above Committable() for the commit.
// The map ends at the last done offset; trailing pending offsets need no
// bits. If the map cannot fit (only when the budget shrank since a restored
// map was written) it is cut short: the cut completions would be processed
// again after a restart, a duplicate but never a loss.
func (t *Tracker) Metadata() string {
	low := t.low()
	if low < 0 {
		return ""
	}
	live := t.win[t.head:]
	end := t.hi + 1
	if t.restored != nil && t.restored.End() > end {
		end = t.restored.End()
	}
	// Trim trailing not-done offsets. The queries descend, so a cursor
	// walks live backwards once: with thousands of records admitted and
	// not done, a binary search per offset was most of a back-to-back
	// commit loop's CPU.
	j := len(live) - 1
	for end > low {
		o := end - 1
		done := true // a hole
		if o > t.hi {
			done = t.restored.Done(o)
		} else {
			for j >= 0 && live[j].off > o {
				j--
			}
			if j >= 0 && live[j].off == o {
				done = live[j].done
			}
		}
		if done {
			break
		}
		end--
	}
	n := int(end - low)
	if n <= 0 {
		return ""
	}
	if max := t.budget * 8; n > max {
		n = max // bitset of n bits fits the budget
	}
	return encodeBits(low, n, t.doneBits(low, n))
}

// doneBits is the completion map of offsets low..low+n-1 as a bitset:
// every offset up to hi is done (a hole, or done) unless its entry is
// pending; above hi the restored map says. One pass over the pending
// entries, not a query per offset.
func (t *Tracker) doneBits(low int64, n int) []byte {
	bits := make([]byte, (n+7)/8)
	m := int(min(int64(n), max(0, t.hi+1-low))) // offsets up to hi
	for i := range bits[:m/8] {
		bits[i] = 0xff
	}
	if m%8 != 0 {
		bits[m/8] = 1<<(m%8) - 1
	}
	for _, e := range t.win[t.head:] {
		i := e.off - low
		if i >= int64(m) {
			break
		}
		if !e.done && i >= 0 {
			bits[i/8] &^= 1 << (i % 8)
		}
	}
	for i := m; i < n; i++ {
		if t.restored.Done(low + int64(i)) {
			bits[i/8] |= 1 << (i % 8)
		}
	}
	return bits
}
