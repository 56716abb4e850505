package compare

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/confluentpc"
	"github.com/kpar/kpar/internal/proc"
	"github.com/kpar/kpar/internal/render"
	"github.com/kpar/kpar/internal/testkit"
)

// fakeChild is a contender process that prints a Side line with a
// window of windowS seconds, or fails with msg on stderr.
func fakeChild(records int64, windowS float64, fail string) []string {
	if fail != "" {
		return []string{"sh", "-c", "echo " + fail + " >&2; exit 3"}
	}
	w := records / 10
	line := fmt.Sprintf(`{"window":{"records":%d,"warmup_records":%d,"end_records":%d,"window_s":%g,"records_per_s":%g,"first_record_s":0.1,"total_s":%g},`+
		`"records":%d,"seconds":%g,"first_record_s":0.1,"steady_records_per_s":%g,"mean_handler_ms":5,"cpu_seconds":0.1,`+
		`"fetch_max_bytes":1048576,"fetch_max_partition_bytes":524288}`,
		records, w, records, windowS, float64(records-w)/windowS, windowS+0.5, records, windowS+0.5, float64(records-w)/windowS)
	return []string{"sh", "-c", "echo '" + line + "'"}
}

// fakePC finishes (with a window of 3 s) unless its -Xmx is below 100 MiB,
// and records what it was given.
func fakePC(got *[]confluentpc.Config) func(context.Context, confluentpc.Config) (confluentpc.Result, error) {
	return func(_ context.Context, c confluentpc.Config) (confluentpc.Result, error) {
		*got = append(*got, c)
		for _, f := range c.JVMFlags {
			var mib int
			if _, err := fmt.Sscanf(f, "-Xmx%dm", &mib); err == nil && mib < 100 {
				return confluentpc.Result{}, fmt.Errorf("%w (1m0s)", confluentpc.ErrHarnessTimeout)
			}
		}
		n := int64(c.Records)
		var r confluentpc.Result
		r.Records, r.EndRecords, r.WarmupRecords = n, n, n/10
		r.FirstDoneS, r.WindowAS, r.WindowBS = 0.2, 0.5, 3.5
		r.JVM.MaxHeapBytes, r.PCVersion = 1<<30, "0.5.3.3"
		r.Options.FetchMaxBytes, r.Options.MaxPartitionFetchBytes = int64(c.FetchMaxBytes), int64(c.MaxPartitionFetchBytes)
		r.JVMFlags = c.JVMFlags
		return r, nil
	}
}

// A part that fails (a contender that exits non-zero; a window under the
// minimum) is recorded with its reason and the parts that completed are
// kept: Run returns them with ErrPartsFailed. The heap search gives PC
// kpar's fetch sizes and bisects.
func TestRunKeepsTheCompletedPartsAndMarksTheFailedOne(t *testing.T) {
	seeds := testkit.Kfake(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	c := goodConfig()
	c.TopicPrefix = testkit.TopicName(t)
	c.Partitions, c.Concurrencies, c.IORecords, c.NoopRecords, c.RSSRecords = 2, []int{16, 500}, 100, 100, 120
	c.DeadLetterRecords = 0 // kfake has no share groups; the part has its own real-broker test
	c.Repeat, c.MinWindow, c.PCHeap, c.HeapSteps = 2, time.Second, "64m", 3
	c.Child = func(ctx context.Context, name string, spec any, o proc.Options) (*proc.Process, error) {
		argv := []string{"false"}
		switch s := spec.(type) {
		case KparSpec:
			switch {
			case s.Concurrency == 500 && s.ShareGroup == "":
				argv = fakeChild(s.Records, 0, "boom-at-500")
			case s.Records == 100 && s.Sleep == 0 && s.ShareGroup == "": // no-op kpar: a window under the minimum
				argv = fakeChild(s.Records, 0.4, "")
			default:
				argv = fakeChild(s.Records, 2, "")
			}
		case PlainSpec:
			argv = fakeChild(s.Records, 2, "")
		case ShareSpec:
			argv = fakeChild(s.Records, 2, "")
		}
		return proc.Start(ctx, name, argv, o)
	}
	var pcs []confluentpc.Config
	c.pcRun = fakePC(&pcs)
	c.javaShareRun = func(context.Context, []string) (JavaShare, error) {
		return JavaShare{Threads: 2, Records: 100, RecordsPerS: 50}, nil
	}

	c.Brokers = seeds
	res, err := Run(ctx, c)
	if !errors.Is(err, ErrPartsFailed) {
		t.Fatalf("Run error %v, want ErrPartsFailed", err)
	}
	if len(res.Failures) != 2 || res.Failures[0].Part != "io c=500" || !strings.Contains(res.Failures[0].Reason, "boom-at-500") ||
		res.Failures[1].Part != PartNoop || !strings.Contains(res.Failures[1].Reason, "measured window too short") {
		t.Fatalf("failures %+v: want io c=500 (its stderr) and no-op (too short)", res.Failures)
	}
	if len(res.IO) != 1 || res.IO[0].Concurrency != 16 || len(res.IO[0].Kpar.Repeats) != 2 || len(res.IO[0].SpeedupRuns) != 2 ||
		res.Noop != nil || res.RSS == nil {
		t.Fatalf("kept io %+v, noop %v, rss %v: want io c=16 with 2 repeats and the memory part", res.IO, res.Noop, res.RSS)
	}
	if tg := target(res, "io-500"); tg.Measured || !strings.Contains(tg.Why, "the io c=500 part failed: ") {
		t.Errorf("io-500 target %+v, want not measured, naming the failed part", tg)
	}
	// The heap search: 64 MiB fails, 128 finishes, 96 fails; each with
	// kpar's fetch sizes as its client ran.
	hs := res.RSS.HeapSearch
	var tried []int64
	for _, st := range hs.Steps {
		tried = append(tried, st.HeapMiB)
	}
	if fmt.Sprint(tried) != "[64 128 96]" || hs.NeedsMiB != 128 || hs.FailedMiB != 96 || hs.FetchMaxBytes != 1<<20 || hs.MaxPartitionFetchBytes != 1<<19 {
		t.Fatalf("heap search %+v (tried %v): want 64, 128, 96; needs 128, failed 96; kpar's fetch sizes", hs, tried)
	}
	last := pcs[len(pcs)-1]
	if last.FetchMaxBytes != 1<<20 || last.MaxPartitionFetchBytes != 1<<19 || last.JVMFlags[0] != "-Xmx96m" {
		t.Fatalf("last capped PC run given %+v", last)
	}
	md := render.Markdown(Doc(res))
	for _, want := range []string{"### Parts that did not complete", "- **io c=500**:", "boom-at-500", "- **no-op**:",
		"| PC, -Xmx96m, fetch.max.bytes 1048576, max.partition.fetch.bytes 524288 | did not finish"} {
		if !strings.Contains(md, want) {
			t.Errorf("compare.md lacks %q:\n%s", want, md)
		}
	}
}

// A target is met only when every repeat passed; mixed with the count
// when some did; missed when none.
func TestTargetOutcomeFollowsEveryRepeat(t *testing.T) {
	for _, tc := range []struct {
		runs    []float64
		outcome string
		passed  int
		verdict string
		text    string
	}{
		{[]float64{3.5, 4, 3.1}, OutcomeMet, 3, "met", "kpar reached 3.50x (median of 3 repeats: 3.50x, 4.00x, 3.10x)"},
		{[]float64{3.5, 2.9, 3.1}, OutcomeMixed, 2, "mixed (2 of 3)", "kpar reached 3.10x"},
		{[]float64{2, 2.9, 1}, OutcomeMissed, 0, "missed", "kpar reached 2.00x"},
		{[]float64{3}, OutcomeMet, 1, "met", "kpar reached 3.00x"},
	} {
		r := sample()
		r.IO[1].SpeedupRuns = tc.runs
		judge(&r)
		tg := target(r, "io-500")
		f := targetFinding(tg)
		if tg.Outcome != tc.outcome || tg.Passed != tc.passed || tg.Met != (tc.outcome == OutcomeMet) || f.Verdict != tc.verdict || !strings.Contains(f.Text, tc.text) {
			t.Errorf("runs %v: %+v, finding %+v; want %s, %d passed, %q, %q", tc.runs, tg, f, tc.outcome, tc.passed, tc.verdict, tc.text)
		}
	}
}

// Repeats: the median of each figure, the spread of the rates, ratios
// taken per repeat (kpar's repeat i against PC's repeat i).
func TestRepeatsGiveMediansSpreadsAndPerRepeatRatios(t *testing.T) {
	k := aggregate([]Side{{Contender: Kpar, SteadyPerS: 100, CPUPerMillion: 3}, {Contender: Kpar, SteadyPerS: 300, CPUPerMillion: 1}, {Contender: Kpar, SteadyPerS: 200, CPUPerMillion: 2}})
	p := aggregate([]Side{{Contender: PC, SteadyPerS: 50}, {Contender: PC, SteadyPerS: 100}, {Contender: PC, SteadyPerS: 400}})
	if k.SteadyPerS != 200 || k.RateMin != 100 || k.RateMax != 300 || k.CPUPerMillion != 2 || len(k.Repeats) != 3 {
		t.Fatalf("kpar %+v: want median 200 (100-300), CPU 2", k)
	}
	k.Repeats[0].MeanHandlerMs, k.Repeats[1].MeanHandlerMs, k.Repeats[2].MeanHandlerMs = 20, 5, 20
	k.MeanHandlerMs = 20
	pt := IOPoint{Concurrency: 500, Keys: 1000, Kpar: k, PC: p}
	judgeIO(&pt, 5)
	// Each repeat against its own ideal (500 lanes / its handler time):
	// 100/25000, 300/100000, 200/25000; the median is 0.004, not the
	// median rate over the median handler time (200/25000).
	if math.Abs(pt.Kpar.IdealShare-0.004) > 1e-12 {
		t.Fatalf("ideal share %v, want the median of each repeat's (0.004)", pt.Kpar.IdealShare)
	}
	if fmt.Sprint(pt.SpeedupRuns) != "[2 3 0.5]" || pt.Speedup != 2 {
		t.Fatalf("speedups %v median %v: want [2 3 0.5], 2 (not 200/100)", pt.SpeedupRuns, pt.Speedup)
	}
	n := Noop{Kpar: k, PC: p,
		PlainDefault:   aggregate([]Side{{Contender: Plain, Finished: true, SteadyPerS: 400}, {Contender: Plain, Finished: true, SteadyPerS: 100}, {Contender: Plain, Finished: true, SteadyPerS: 100}}),
		PlainSameFetch: aggregate([]Side{{Contender: Plain, Finished: true, SteadyPerS: 200}, {Contender: Plain, Finished: true, SteadyPerS: 600}, {Contender: Plain, Finished: true, SteadyPerS: 200}})}
	judgeNoop(&n)
	// Per repeat, the faster loop: 400, 600, 200.
	if fmt.Sprint(n.VsPlainRuns) != "[0.25 0.5 1]" || n.VsPlain != 0.5 || n.Plain.FetchMaxBytes != n.PlainSameFetch.FetchMaxBytes || n.Plain.SteadyPerS != 200 {
		t.Fatalf("vs plain %v (median %v), reference %+v", n.VsPlainRuns, n.VsPlain, n.Plain)
	}
}

// The heap search's next size: grow while nothing finished, shrink while
// everything did, then bisect until the bounds are close.
func TestNextHeapGrowsShrinksThenBisects(t *testing.T) {
	for _, tc := range []struct {
		failed, finished, last, next int64
		ok                           bool
	}{
		{64, 0, 64, 128, true},
		{0, 64, 64, 32, true},
		{0, 16, 16, 0, false},
		{64, 128, 128, 96, true},
		{96, 100, 100, 0, false},
		{1000, 1100, 1100, 0, false}, // within an eighth
	} {
		next, ok := nextHeap(tc.failed, tc.finished, tc.last)
		if next != tc.next || ok != tc.ok {
			t.Errorf("nextHeap(%d, %d, %d) = %d, %v; want %d, %v", tc.failed, tc.finished, tc.last, next, ok, tc.next, tc.ok)
		}
	}
}

// The views of a result whose io and no-op parts all failed still draw:
// a chart with nothing to plot says so instead of failing the write.
func TestViewsDrawWithoutTheFailedParts(t *testing.T) {
	r := sample()
	r.IO, r.Noop = nil, nil
	r.Failures = []Failure{{Part: "io c=16", Reason: "x"}, {Part: PartNoop, Reason: "y"}}
	judge(&r)
	judgeShare(&r)
	testkit.WriteViews(t, render.Views(Doc(r))...)
}
