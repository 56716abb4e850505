package offsets

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// BenchmarkTrackerDone is Add and Done per record over a window of 1,000
// pending offsets: in order (one key or one worker's run), and shuffled
// within each window (many keys on many workers). One op is one record.
func BenchmarkTrackerDone(b *testing.B) {
	const window = 1000
	for _, shuffled := range []bool{false, true} {
		name := "ascending"
		if shuffled {
			name = "shuffled"
		}
		b.Run(name, func(b *testing.B) {
			perm := make([]int64, window)
			for i := range perm {
				perm[i] = int64(i)
			}
			if shuffled {
				rand.New(rand.NewPCG(1, 2)).Shuffle(window, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
			}
			t := NewTracker(0)
			b.ReportAllocs()
			for base := int64(0); base < int64(b.N); base += window {
				n := min(window, int64(b.N)-base)
				for i := int64(0); i < n; i++ {
					if _, err := t.Add(base + i); err != nil {
						b.Fatal(err)
					}
				}
				for _, d := range perm {
					if d < n && !t.Done(base+d) {
						b.Fatalf("Done(%d) = false", base+d)
					}
				}
			}
			if t.Pending() != 0 {
				b.Fatalf("%d pending", t.Pending())
			}
		})
	}
}

// BenchmarkCommittable reads the committable offset with 999 pending.
func BenchmarkCommittable(b *testing.B) {
	t := NewTracker(0)
	for o := int64(0); o < 1000; o++ {
		t.Add(o)
	}
	t.Done(0)
	b.ReportAllocs()
	var sink int64
	for b.Loop() {
		sink += t.Committable()
	}
	if sink == 0 {
		b.Fatal("committable 0")
	}
}

// BenchmarkMetadata encodes the completion map of 4,000 admitted offsets
// above a pending lowest one: long runs (every 100th not done: run-length
// wins) and alternating (bitset wins).
func BenchmarkMetadata(b *testing.B) {
	for _, c := range []struct {
		name  string
		every int64
	}{{"runs", 100}, {"alternating", 2}} {
		b.Run(c.name, func(b *testing.B) {
			t := NewTracker(0)
			for o := int64(0); o < 4000; o++ {
				t.Add(o)
				if o > 0 && o%c.every != 0 {
					t.Done(o)
				}
			}
			b.ReportAllocs()
			var m string
			for b.Loop() {
				m = t.Metadata()
			}
			d, err := Decode(m)
			if err != nil || d.Base != 0 {
				b.Fatalf("decoded %+v, %v", d, err)
			}
			b.ReportMetric(float64(len(m)), "bytes")
		})
	}
}

// BenchmarkEncode is the encoding alone over n offsets, one op per map.
func BenchmarkEncode(b *testing.B) {
	for _, n := range []int{64, 4096, 30000} {
		for _, every := range []int{100, 2} {
			b.Run("n="+strconv.Itoa(n)+"/every="+strconv.Itoa(every), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					Encode(1, n, func(i int) bool { return i%every != 0 })
				}
			})
		}
	}
}
