package consume

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/clock"
	"github.com/kpar/kpar/internal/testkit"
	"github.com/kpar/kpar/parallel"
)

// A record handled twice (a redelivery) counts once: the run of n records
// stops at the n-th distinct record, not at the n-th handler call. The old
// rule (stop when the calls reached n) stops one call early here.
func TestTallyCountsARedeliveredRecordOnce(t *testing.T) {
	tl := newTally(3, map[int32]int64{0: 10, 1: 10})
	rec := func(p int32, o int64) *kgo.Record { return &kgo.Record{Partition: p, Offset: o} }
	for i, r := range []*kgo.Record{rec(0, 0), rec(0, 1), rec(0, 1)} {
		if tl.handled(r) {
			t.Fatalf("call %d (offset %d, %d distinct so far) ended the run of 3 distinct records", i+1, r.Offset, tl.distinct.Count())
		}
	}
	if !tl.handled(rec(1, 1)) {
		t.Fatal("the third distinct record did not end the run")
	}
	w, ok := tl.clk.Window()
	if !ok || w.Records != 3 || w.EndRecords != 3 || w.WarmupRecords != 1 || tl.calls.Load() != 4 {
		t.Fatalf("window %+v (ok %v), %d calls; want 3 records, warm-up at 1, 4 calls", w, ok, tl.calls.Load())
	}
}

// A poll loop observes once per batch: its counts at the window's events are
// the ones observed (past W or n), and a redelivered record in a batch counts
// once.
func TestTallyObservesAPollLoopPerBatch(t *testing.T) {
	tl := newTally(10, map[int32]int64{0: 20})
	batch := func(offs ...int64) func(func(*kgo.Record)) {
		return func(fn func(*kgo.Record)) {
			for _, o := range offs {
				fn(&kgo.Record{Offset: o})
			}
		}
	}
	if tl.batch(batch(0, 1, 2)) || tl.batch(batch(2, 3, 4, 5, 6, 7, 8)) {
		t.Fatal("9 distinct records ended a run of 10")
	}
	if !tl.batch(batch(9, 10, 11)) {
		t.Fatal("12 distinct records did not end a run of 10")
	}
	w, _ := tl.clk.Window()
	if w.WarmupRecords != 3 || w.EndRecords != 12 || tl.calls.Load() != 13 {
		t.Fatalf("window %+v, %d calls; want A at 3 (the first batch, past W=1), B at 12, 13 records polled", w, tl.calls.Load())
	}
}

// Both contenders are measured by the same rule on the same topic: each
// reports the window of the same n, its warm-up at least W distinct records,
// its end at n or past it. On kfake; no rate is asserted.
func TestBothContendersReportTheWindowOfTheSameN(t *testing.T) {
	seeds := testkit.Kfake(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const n = 3000
	if _, err := Prepare(ctx, seeds, "t", 3, n+300, 50, 10); err != nil {
		t.Fatal(err)
	}
	par, err := RunParallel(ctx, seeds, "t", n, ParallelSpec{Order: parallel.OrderKey, Concurrency: 4, MaxBuffered: 100, PerPart: 50})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := RunPlain(ctx, seeds, "t", n, 4096, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []Measurement{par, plain} {
		w := m.Window
		if w.Records != n || w.WarmupRecords < clock.WarmupCount(n) || w.EndRecords < n || w.Seconds <= 0 || w.TotalS < w.Seconds || m.Handled < w.EndRecords {
			t.Errorf("%s: window %+v, %d handled", m.Name, w, m.Handled)
		}
	}
	// kpar observes after every handler call: its counts are exactly W and n
	// unless two calls raced past W together.
	if par.Window.EndRecords != n || par.Window.WarmupRecords > clock.WarmupCount(n)+4 {
		t.Errorf("kpar window %+v: observed per call, want B at n and A within the concurrency of W", par.Window)
	}
	if _, err := RunPlain(ctx, seeds, "t", n+301, 0, 0); err == nil {
		t.Error("a run of more records than the topic holds was accepted")
	}
}

// A plain loop whose n records come in one poll has no window after the
// warm-up: it is refused, never reported as a rate.
func TestARunThatFitsInOnePollIsRefused(t *testing.T) {
	seeds := testkit.Kfake(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := Prepare(ctx, seeds, "small", 1, 50, 5, 10); err != nil {
		t.Fatal(err)
	}
	m, err := RunPlain(ctx, seeds, "small", 50, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if m.Window.WarmupRecords != m.Window.EndRecords {
		t.Skipf("kfake returned the 50 records in more than one poll (window %+v): nothing to show", m.Window)
	}
	if err := m.Check(time.Nanosecond); !errors.Is(err, clock.ErrTooShort) {
		t.Fatalf("one-poll run accepted: window %+v, check %v", m.Window, err)
	}
}

func TestCalibrationSizesTheRunsForTheWindowAndRefusesPastTheMax(t *testing.T) {
	// 1M records/s for 2 x 10 s after a 10% warm-up: 22,222,223 records.
	n, err := chooseRecords(1e6, 10*time.Second, 4_000_000, 150_000_000)
	if err != nil || n != 22_222_223 {
		t.Fatalf("chooseRecords = %d, %v; want 22222223", n, err)
	}
	if n, err := chooseRecords(1000, 10*time.Second, 4_000_000, 150_000_000); err != nil || n != 4_000_000 {
		t.Fatalf("a slow rate chose %d, %v: want the calibration's own 4000000 at least", n, err)
	}
	_, err = chooseRecords(2e7, 10*time.Second, 4_000_000, 150_000_000)
	if err == nil || !strings.Contains(err.Error(), "--cpu-records-max 150000000") {
		t.Fatalf("20M records/s needs 444M records: %v, want a refusal naming --cpu-records-max", err)
	}
}

func TestCalibrationOnATopicReadInOnePollNamesTheFlag(t *testing.T) {
	seeds := testkit.Kfake(t)
	defer func(n int64) { calibrationRecords = n }(calibrationRecords)
	calibrationRecords = 500
	c := DefaultConfig()
	// One partition: its one fetch holds every record. With three, a
	// loaded CI machine once saw them arrive in two polls (a rate, no error).
	c.Partitions, c.Keys, c.ValueSize, c.Brokers = 1, 50, 10, seeds
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := c.calibrate(ctx, "cal")
	if err == nil || !strings.Contains(err.Error(), "--cpu-records") {
		t.Fatalf("calibration over 500 records that arrive in one poll: %v, want an error naming --cpu-records", err)
	}
}

func TestAShortCalibratedRepeatResizesFromItsFastestContenderAndOnlyThen(t *testing.T) {
	c := DefaultConfig()
	c.MinWindow, c.CPURecords, c.CPURecordsMax = 4*time.Second, 1_000_000, 150_000_000
	short := fmt.Errorf("cpu: %w", clock.ErrTooShort)
	fast := CPURepeat{Parallel: Measurement{Window: clock.Window{PerS: 1e6}}, PlainDefault: Measurement{Window: clock.Window{PerS: 3e6}}}
	// 3M records/s for 2 x 4 s after a 10% warm-up.
	if n, err := c.resizeFor(short, fast, &Calibration{}); err != nil || n != 26_666_667 {
		t.Fatalf("resize = %d, %v; want 26666667 from the fastest contender", n, err)
	}
	for name, tc := range map[string]struct {
		err error
		cal *Calibration
	}{
		"a count given by hand":     {short, nil},
		"resizes used up":           {short, &Calibration{Resized: []int64{1, 2}}},
		"a failure of another kind": {errors.New("broker gone"), &Calibration{}},
	} {
		if _, err := c.resizeFor(tc.err, fast, tc.cal); err == nil || !errors.Is(err, tc.err) {
			t.Errorf("%s: %v, want the repeat's own error", name, err)
		}
	}
	c.CPURecordsMax = 10_000_000
	if _, err := c.resizeFor(short, fast, &Calibration{}); err == nil || !strings.Contains(err.Error(), "--cpu-records-max") {
		t.Errorf("a count past the max: %v, want a refusal naming --cpu-records-max", err)
	}
}
