package clock

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestWarmupCountIsATenthRoundedUpAndLeavesRecordsToMeasure(t *testing.T) {
	for _, tc := range []struct{ n, want int64 }{{1, 1}, {2, 1}, {10, 1}, {11, 2}, {1000, 100}, {1001, 101}} {
		if got := WarmupCount(tc.n); got != tc.want {
			t.Errorf("WarmupCount(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
}

func TestWindowCountsFromTheWarmupObservationToTheNth(t *testing.T) {
	c := New(100)
	for i := int64(1); i <= 9; i++ {
		c.Observe(i)
	}
	if _, ok := c.Window(); ok {
		t.Fatal("window before the n-th record")
	}
	c.Observe(25) // a batch crossing W=10: A keeps the observed 25
	time.Sleep(20 * time.Millisecond)
	if !c.Observe(100) {
		t.Fatal("Observe(n) did not report the end")
	}
	c.Observe(120) // after B: ignored
	w, ok := c.Window()
	if !ok {
		t.Fatal("no window after the n-th record")
	}
	if w.WarmupRecords != 25 || w.EndRecords != 100 || w.Records != 100 {
		t.Fatalf("window %+v: want warm-up 25, end 100", w)
	}
	if w.Seconds <= 0 || w.PerS != 75/w.Seconds {
		t.Fatalf("rate %v over %v s, want 75 records over the window", w.PerS, w.Seconds)
	}
}

func TestCheckRefusesAShortWindowAndNamesTheRecordsNeeded(t *testing.T) {
	w := Compute(1000, time.Unix(0, 0), time.Unix(0, 0), 100, time.Unix(1, 0), 1000, time.Unix(2, 0))
	if err := w.Check("kpar", 500*time.Millisecond); err != nil {
		t.Fatalf("a 1 s window refused under a 0.5 s minimum: %v", err)
	}
	err := w.Check("kpar", 10*time.Second)
	if !errors.Is(err, ErrTooShort) {
		t.Fatalf("a 1 s window under a 10 s minimum: %v, want ErrTooShort", err)
	}
	// 900 records/s for 10 s after a 10% warm-up: 10,000 records.
	if want := "needs about 10000 records"; !strings.Contains(err.Error(), want) {
		t.Fatalf("%v: want %q", err, want)
	}
	empty := Compute(10, time.Unix(0, 0), time.Unix(0, 0), 10, time.Unix(1, 0), 10, time.Unix(1, 0))
	if err := empty.Check("plain", 0); !errors.Is(err, ErrTooShort) {
		t.Fatalf("a window with no records after the warm-up: %v", err)
	}
}

func TestConcurrentObserversSetEachEventOnce(t *testing.T) {
	const n = 10000
	c := New(n)
	d := NewDistinct(map[int32]int64{0: n / 2, 1: n / 2})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for off := int64(0); off < n/2; off++ {
				p := int32((off + int64(g)) % 2)
				if cnt, isNew := d.Mark(p, off); isNew {
					c.Observe(cnt)
				}
			}
		}(g)
	}
	wg.Wait()
	if d.Count() != n {
		t.Fatalf("distinct count %d after 8 goroutines marked the same %d records", d.Count(), n)
	}
	// A goroutine can take count W from Mark and be preempted before it
	// observes it while the others observe W+1, W+2, ...: each of the 8 holds
	// at most one count unobserved, so A's count is within W..W+7, as the
	// rule says (the count kept is the one observed). B is exactly n: no
	// count exceeds n.
	w, ok := c.Window()
	warm := WarmupCount(n)
	if !ok || w.EndRecords != n || w.WarmupRecords < warm || w.WarmupRecords > warm+7 {
		t.Fatalf("window %+v ok=%v: want end %d, warm-up within %d..%d", w, ok, n, warm, warm+7)
	}
}

func TestDistinctCountsARedeliveryOnce(t *testing.T) {
	d := NewDistinct(map[int32]int64{3: 130})
	for _, off := range []int64{0, 64, 129, 64, 0} {
		d.Mark(3, off)
	}
	if d.Count() != 3 {
		t.Fatalf("count %d, want 3 distinct of 5 marks", d.Count())
	}
	if _, isNew := d.Mark(3, 129); isNew {
		t.Fatal("a record seen before reported new")
	}
}
