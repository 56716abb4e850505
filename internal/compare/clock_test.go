package compare

import (
	"context"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/bench/consume"
	"github.com/kpar/kpar/internal/clock"
	"github.com/kpar/kpar/internal/testkit"
	"github.com/kpar/kpar/parallel/sharegroup"
)

// A record handled twice counts once, and the stop comes at n distinct
// records, not n handler completions.
func TestCounterStopsAtNDistinctRecords(t *testing.T) {
	c := &work{seen: clock.NewDistinct(map[int32]int64{0: 10}), clk: clock.New(3), done: make(chan struct{}), n: 3}
	for _, off := range []int64{0, 1, 1, 0, 1} { // five completions, two distinct
		c.handled(0, off)
	}
	select {
	case <-c.done:
		t.Fatal("stopped after 5 completions of 2 distinct records, want 3 distinct")
	default:
	}
	c.handled(0, 2)
	select {
	case <-c.done:
	default:
		t.Fatal("not stopped at the 3rd distinct record")
	}
	w, ok := c.clk.Window()
	if !ok || w.Records != 3 || w.EndRecords != 3 || w.WarmupRecords != 1 || c.calls.Load() != 6 {
		t.Fatalf("window %+v, %v, calls %d: want A at 1, B at 3, 6 calls", w, ok, c.calls.Load())
	}
}

// Every Go contender (kpar's consumer group, the plain loop, the bare
// share consumer, kpar's share mode) reports the clock's window: n
// distinct records, A at the warm-up count (a concurrent handler may
// observe a little past it), B at n, the rate (B - A) / window, on a
// topic holding more than n records so the stop is the counter's. No
// rate is checked.
func TestGoContendersAreTimedByTheClock(t *testing.T) {
	seeds := testkit.Kfake(t)
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	topic := testkit.TopicName(t)
	const n, conc = 2000, 8
	if _, err := consume.Prepare(ctx, seeds, topic, 4, 3000, 40, 10); err != nil {
		t.Fatal(err)
	}
	group := func() string {
		g := testkit.TopicName(t)
		if err := sharegroup.FromEarliest(ctx, testkit.Client(t, seeds), g); err != nil {
			t.Fatal(err)
		}
		return g
	}
	w := clock.WarmupCount(n)
	for _, tc := range []struct {
		name   string
		serial bool // observes each record in order: A exactly at W
		run    func() (Side, error)
	}{
		{"kpar", false, func() (Side, error) {
			return runKpar(ctx, KparSpec{Source: Source{Brokers: seeds, Topic: topic, Records: n}, Concurrency: conc})
		}},
		{"plain", true, func() (Side, error) {
			return runPlain(ctx, PlainSpec{Source: Source{Brokers: seeds, Topic: topic, Records: n}})
		}},
		{"share", false, func() (Side, error) {
			return RunShare(ctx, ShareSpec{Source: Source{Brokers: seeds, Topic: topic, Records: n}, Group: group(), Concurrency: conc, Members: 2})
		}},
		{"kpar-share", false, func() (Side, error) {
			return runKpar(ctx, KparSpec{Source: Source{Brokers: seeds, Topic: topic, Records: n}, Concurrency: conc, ShareGroup: group(), Members: 2})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tc.run()
			if err != nil {
				t.Fatal(err)
			}
			win := out.Window
			hiA := w + conc
			if tc.serial {
				hiA = w
			}
			if win.Records != n || out.Records != n || win.WarmupRecords < w || win.WarmupRecords > hiA ||
				win.EndRecords < n || win.EndRecords > n+conc || (tc.serial && win.EndRecords != n) || win.Seconds <= 0 {
				t.Fatalf("window %+v: want n %d, A in [%d, %d], B at %d", win, n, w, hiA, n)
			}
			if want := float64(win.EndRecords-win.WarmupRecords) / win.Seconds; win.PerS != want || out.SteadyPerS != want {
				t.Fatalf("rate %v (reported %v), want (B - A) / window = %v", win.PerS, out.SteadyPerS, want)
			}
			if out.Seconds != win.TotalS || out.FirstRecordS != win.FirstS || win.FirstS > win.TotalS {
				t.Fatalf("output %+v does not carry its window %+v", out, win)
			}
		})
	}
}
