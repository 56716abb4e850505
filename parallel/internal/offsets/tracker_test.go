package offsets

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand"
	"strings"
	"testing"
)

func TestCommittableIsLowestIncompleteOffset(t *testing.T) {
	tests := []struct {
		name string
		add  []int64
		done []int64
		want int64
	}{
		{"nothing added", nil, nil, -1},
		{"all pending", []int64{5, 6, 7}, nil, 5},
		{"head done", []int64{5, 6, 7}, []int64{5}, 6},
		{"out of order", []int64{5, 6, 7}, []int64{7, 6}, 5},
		{"all done", []int64{5, 6, 7}, []int64{7, 5, 6}, 8},
		{"holes below pending count as done", []int64{10, 20, 30}, []int64{10}, 20},
		{"holes after last done", []int64{10, 20, 30}, []int64{10, 20, 30}, 31},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewTracker(0)
			for _, o := range tc.add {
				if !tr.CanAdd(o) {
					t.Fatalf("CanAdd(%d) = false", o)
				}
				if _, err := tr.Add(o); err != nil {
					t.Fatal(err)
				}
			}
			for _, o := range tc.done {
				if !tr.Done(o) {
					t.Fatalf("Done(%d) = false", o)
				}
			}
			if got := tr.Committable(); got != tc.want {
				t.Fatalf("Committable = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestDoneRejectsUnknownAndRepeatedOffsets(t *testing.T) {
	tr := NewTracker(0)
	tr.Add(1)
	tr.Add(3)
	if tr.Done(2) {
		t.Fatal("Done on a hole succeeded")
	}
	if !tr.Done(3) || tr.Done(3) {
		t.Fatal("Done(3) should succeed once")
	}
	if tr.Pending() != 1 {
		t.Fatalf("pending = %d, want 1", tr.Pending())
	}
}

func TestAddRejectsOffsetsNotIncreasing(t *testing.T) {
	tr := NewTracker(0)
	tr.Add(5)
	if _, err := tr.Add(5); !errors.Is(err, ErrOutOfOrder) {
		t.Fatalf("err = %v, want ErrOutOfOrder", err)
	}
	if _, err := tr.Add(4); !errors.Is(err, ErrOutOfOrder) {
		t.Fatalf("err = %v, want ErrOutOfOrder", err)
	}
}

func TestMetadataRoundTripSkipsCompletedRecordsAfterRestart(t *testing.T) {
	tr := NewTracker(0)
	for o := int64(100); o < 120; o++ {
		tr.Add(o)
	}
	completed := map[int64]bool{101: true, 103: true, 104: true, 110: true, 119: true}
	for o := range completed {
		tr.Done(o)
	}
	commit, meta := tr.Committable(), tr.Metadata()
	if commit != 100 {
		t.Fatalf("commit = %d", commit)
	}

	re := NewTracker(0)
	if err := re.Restore(commit, meta); err != nil {
		t.Fatal(err)
	}
	for o := int64(100); o < 125; o++ {
		skip, err := re.Add(o)
		if err != nil {
			t.Fatal(err)
		}
		if skip != completed[o] {
			t.Fatalf("offset %d: skip = %v, want %v", o, skip, completed[o])
		}
	}
	// The restored completions stay in the map until the gap closes.
	if got := re.Committable(); got != 100 {
		t.Fatalf("committable after restore = %d, want 100", got)
	}
	d, err := Decode(re.Metadata())
	if err != nil {
		t.Fatal(err)
	}
	for o := range completed {
		if !d.Done(o) {
			t.Fatalf("re-encoded map lost completed offset %d", o)
		}
	}
}

func TestRestoredMapSurvivesCommitBeforeRecordsArrive(t *testing.T) {
	tr := NewTracker(0)
	for o := int64(0); o < 10; o++ {
		tr.Add(o)
	}
	tr.Done(5)
	tr.Done(7)
	re := NewTracker(0)
	if err := re.Restore(tr.Committable(), tr.Metadata()); err != nil {
		t.Fatal(err)
	}
	re.Add(0) // only the first record has arrived when we commit again
	d, err := Decode(re.Metadata())
	if err != nil {
		t.Fatal(err)
	}
	if !d.Done(5) || !d.Done(7) || d.Done(6) {
		t.Fatalf("restored completions not carried into the next commit: %+v", d)
	}
}

func TestRestoreIgnoresForeignOrStaleMetadata(t *testing.T) {
	tr := NewTracker(0)
	tr.Add(10)
	tr.Add(11)
	tr.Done(11)
	meta := tr.Metadata()
	tests := []struct {
		name      string
		committed int64
		meta      string
		wantErr   bool
	}{
		{"kgo member id", 10, "kgo-member-abc", false},
		{"empty", 10, "", false},
		{"base differs (group reset)", 5, meta, true},
		{"corrupt base64", 10, Prefix + "!!!", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			re := NewTracker(0)
			err := re.Restore(tc.committed, tc.meta)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			for o := tc.committed; o < 12; o++ {
				if skip, _ := re.Add(o); skip {
					t.Fatalf("offset %d skipped on an untrusted map", o)
				}
			}
		})
	}
}

func TestEncodingPicksSmallerForm(t *testing.T) {
	// Few long runs: run-length wins.
	sparse := Encode(0, 10000, func(i int) bool { return i >= 5000 })
	// Alternating: bitset wins.
	dense := Encode(0, 10000, func(i int) bool { return i%2 == 1 })
	for _, c := range []struct {
		meta   string
		format byte
	}{{sparse, formatRLE}, {dense, formatBitset}} {
		raw, err := b64.DecodeString(strings.TrimPrefix(c.meta, Prefix))
		if err != nil {
			t.Fatal(err)
		}
		if raw[1] != c.format {
			t.Fatalf("format = %d, want %d", raw[1], c.format)
		}
	}
	if len(sparse) > 20 {
		t.Fatalf("run-length form is %d bytes for 2 runs", len(sparse))
	}
}

func TestPartitionStopsAcceptingWhenMapCouldOverflow(t *testing.T) {
	const max = 256
	tr := NewTracker(max)
	tr.Add(0) // stuck record
	var o int64 = 1
	for ; tr.CanAdd(o); o++ {
		tr.Add(o)
		tr.Done(o)
	}
	limit := o
	if limit < 100 || limit > int64(PayloadBudget(max))*8+1 {
		t.Fatalf("stopped at %d, budget allows %d bits", limit, PayloadBudget(max)*8)
	}
	// Worst case pattern: alternate completions must still fit.
	tr2 := NewTracker(max)
	for i := int64(0); tr2.CanAdd(i); i++ {
		tr2.Add(i)
		if i%2 == 1 {
			tr2.Done(i)
		}
	}
	if n := len(tr2.Metadata()); n > max {
		t.Fatalf("metadata %d bytes exceeds max %d", n, max)
	}
	// Closing the gap reopens the partition.
	tr.Done(0)
	if !tr.CanAdd(limit) {
		t.Fatal("partition still refuses records after the gap closed")
	}
	if tr.Metadata() != "" {
		t.Fatalf("nothing above committable, metadata = %q", tr.Metadata())
	}
}

func TestDecodeRejectsCorruptInput(t *testing.T) {
	good := Encode(7, 20, func(i int) bool { return i%3 == 0 })
	raw, _ := b64.DecodeString(strings.TrimPrefix(good, Prefix))
	mut := func(f func([]byte) []byte) string {
		c := append([]byte(nil), raw...)
		return Prefix + b64.EncodeToString(f(c))
	}
	for name, meta := range map[string]string{
		"bad version": mut(func(b []byte) []byte { b[0] = 9; return b }),
		"bad format":  mut(func(b []byte) []byte { b[1] = 9; return b }),
		"truncated":   mut(func(b []byte) []byte { return b[:len(b)-1] }),
		"too short":   Prefix + b64.EncodeToString([]byte{1}),
	} {
		if _, err := Decode(meta); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

// FuzzEncodeDecode drives a tracker with random gaps and completion orders,
// then checks the invariants a restart depends on: metadata fits, every
// offset below the commit is done, and a restored tracker skips exactly the
// completed offsets.
func FuzzEncodeDecode(f *testing.F) {
	f.Add(int64(1), int64(0), uint16(300), uint16(200))
	f.Add(int64(2), int64(1<<40), uint16(5000), uint16(300))
	f.Add(int64(3), int64(0), uint16(20), uint16(20))
	f.Fuzz(func(t *testing.T, seed, start int64, nAdd, maxBytes uint16) {
		if start < 0 || start > 1<<50 {
			return
		}
		mb := int(maxBytes)%4096 + 64
		rng := rand.New(rand.NewSource(seed))
		tr := NewTracker(mb)
		added := []int64{}
		done := map[int64]bool{}
		o := start
		for i := 0; i < int(nAdd)%3000; i++ {
			o += 1 + int64(rng.Intn(3)/2)*int64(rng.Intn(5)) // mostly contiguous, some holes
			if lim := tr.AddableThrough(o); tr.CanAdd(o) != (o <= lim) {
				t.Fatalf("CanAdd(%d) = %v, AddableThrough = %d", o, tr.CanAdd(o), lim)
			}
			if !tr.CanAdd(o) {
				// The gap must close: complete the lowest pending.
				for _, a := range added {
					if !done[a] {
						tr.Done(a)
						done[a] = true
						break
					}
				}
				continue
			}
			if _, err := tr.Add(o); err != nil {
				t.Fatal(err)
			}
			added = append(added, o)
			if rng.Intn(3) > 0 {
				a := added[rng.Intn(len(added))]
				if !done[a] {
					if !tr.Done(a) {
						t.Fatalf("Done(%d) false", a)
					}
					done[a] = true
				}
			}
		}
		commit, meta := tr.Committable(), tr.Metadata()
		if len(meta) > mb {
			t.Fatalf("metadata %d bytes > max %d", len(meta), mb)
		}
		for _, a := range added {
			if a < commit && !done[a] {
				t.Fatalf("offset %d below commit %d is not done", a, commit)
			}
		}
		re := NewTracker(mb)
		if err := re.Restore(commit, meta); err != nil {
			t.Fatalf("restore: %v", err)
		}
		for _, a := range added {
			if a < commit {
				continue
			}
			if lim := re.AddableThrough(a); re.CanAdd(a) != (a <= lim) {
				t.Fatalf("restored: CanAdd(%d) = %v, AddableThrough = %d", a, re.CanAdd(a), lim)
			}
			skip, err := re.Add(a)
			if err != nil {
				t.Fatal(err)
			}
			if skip != done[a] {
				t.Fatalf("offset %d: skip=%v done=%v (commit %d)", a, skip, done[a], commit)
			}
		}
	})
}

// FuzzTrackerDoneMatchesModel completes added offsets in a fuzzed order
// (runs ascending from a fuzzed start, as key lanes do, mixed with jumps
// back) and checks Done's answers and Committable against a plain model.
func FuzzTrackerDoneMatchesModel(f *testing.F) {
	f.Add([]byte{1, 2, 3, 200, 7, 9, 0, 0, 5})
	f.Add([]byte{0, 0, 0, 0, 255, 255, 1, 128})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 2 {
			return
		}
		tr := NewTracker(0)
		var added []int64
		pending := map[int64]bool{}
		o := int64(b[0])
		for i, g := range b {
			if i%3 == 2 {
				continue
			}
			o += int64(g%4) + 1 // gaps: holes count as done
			if !tr.CanAdd(o) {
				break
			}
			if skip, err := tr.Add(o); err != nil || skip {
				t.Fatalf("Add(%d) = %v, %v", o, skip, err)
			}
			added = append(added, o)
			pending[o] = true
		}
		// Completion order: from each byte, a start index, then ascend.
		for _, g := range b {
			for i := int(g) % len(added); i < len(added); i += 1 + int(g)%3 {
				x := added[i]
				if got := tr.Done(x); got != pending[x] {
					t.Fatalf("Done(%d) = %v, pending %v", x, got, pending[x])
				}
				delete(pending, x)
				want := added[len(added)-1] + 1
				for _, a := range added {
					if pending[a] {
						want = a
						break
					}
				}
				if got := tr.Committable(); got != want {
					t.Fatalf("Committable = %d, want %d (pending %v)", got, want, pending)
				}
				if g%5 == 0 {
					break
				}
			}
			checkMetadata(t, tr, added, pending)
		}
	})
}

// checkMetadata holds the completion map to the model: it starts at the
// committable offset, says done exactly for the added offsets done above it
// (holes count as done), and ends at the last done one.
func checkMetadata(t *testing.T, tr *Tracker, added []int64, pending map[int64]bool) {
	t.Helper()
	low := tr.Committable()
	meta := tr.Metadata()
	var d *Decoded
	if meta != "" {
		var err error
		if d, err = Decode(meta); err != nil {
			t.Fatalf("Metadata %q: %v", meta, err)
		}
		if d.Base != low {
			t.Fatalf("map base %d, committable %d", d.Base, low)
		}
		if last := d.Base + int64(d.N) - 1; !d.Done(last) {
			t.Fatalf("map ends at %d, which is not done", last)
		}
	}
	for _, a := range added {
		if a < low {
			continue
		}
		if got := d.Done(a); got != !pending[a] {
			t.Fatalf("map says offset %d done=%v, model pending=%v (committable %d, meta %q)", a, got, pending[a], low, meta)
		}
	}
}

// FuzzRunLengthMatchesBitByBit holds appendRLE, which skips whole bytes of
// a run, to the run-length form read bit by bit, over fuzzed bitsets and
// lengths that end inside a byte.
func FuzzRunLengthMatchesBitByBit(f *testing.F) {
	f.Add([]byte{0x00, 0xff, 0x0f, 0xf0, 0xaa}, uint8(3))
	f.Add([]byte{0xff, 0xff, 0x01}, uint8(0))
	f.Add([]byte{0x00, 0x00, 0x80}, uint8(7))
	f.Fuzz(func(t *testing.T, bits []byte, cut uint8) {
		n := len(bits)*8 - int(cut)%8
		if n <= 0 {
			return
		}
		bits = append([]byte(nil), bits...)
		if n%8 != 0 {
			bits[len(bits)-1] &= 1<<(n%8) - 1 // no bits past n, as Encode holds
		}
		var want []byte
		v, run := false, uint64(0)
		for i := 0; i < n; i++ {
			if (bits[i/8]&(1<<(i%8)) != 0) == v {
				run++
				continue
			}
			want = binary.AppendUvarint(want, run)
			v, run = !v, 1
		}
		want = binary.AppendUvarint(want, run)
		if got := appendRLE(nil, n, bits); !bytes.Equal(got, want) {
			t.Fatalf("appendRLE(%x, n=%d) = %x, want %x", bits, n, got, want)
		}
	})
}
