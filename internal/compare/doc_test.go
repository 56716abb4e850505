package compare

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/render"
	"github.com/kpar/kpar/internal/results"
	"github.com/kpar/kpar/internal/testkit"
)

func ioPoint(conc, keys int, kparRate, kparMs, kparCPU, pcRate, pcMs, pcCPU float64) IOPoint {
	p := IOPoint{Concurrency: conc, Keys: keys,
		Kpar: Side{Contender: Kpar, Finished: true, Records: 60000, SteadyPerS: kparRate, MeanHandlerMs: kparMs, CPUPerMillion: kparCPU},
		PC:   Side{Contender: PC, Finished: true, Records: 60000, SteadyPerS: pcRate, MeanHandlerMs: pcMs, CPUPerMillion: pcCPU}}
	judgeIO(&p, 5)
	return p
}

// sample builds a result the way Run does: sides, then judge and the table.
func sample() Result {
	r := Result{Header: results.Header{Schema: Kind.Schema, Version: Kind.Version, Started: time.Unix(0, 0).UTC(), Finished: time.Unix(300, 0).UTC(),
		Command: []string{"kpar", "compare", "consume"}},
		Env: Env{Brokers: []string{"b:1"}, CPUs: 2, SleepMs: 5, IORecords: 60000, PCVersion: "0.5.3.3", KafkaClientsVersion: "3.9.1",
			JavaVersion: "17.0.15", JVMFlags: []string{}, JVMDefaultMaxHeap: 6 << 30},
		IO: []IOPoint{
			ioPoint(16, 1000, 3000, 5.5, 30, 3100, 5.6, 50),    // PC slightly faster
			ioPoint(500, 1000, 80000, 5.8, 20, 20000, 6, 40),   // 4x: meets 3x
			ioPoint(5000, 10000, 150000, 9, 25, 20000, 12, 20), // 7.5x and more CPU: misses
		},
		Noop: &Noop{Kpar: Side{Contender: Kpar, Finished: true, Records: 1e6, SteadyPerS: 2e6, CPUPerMillion: 1.5, PeakRSSKiB: 30 << 10},
			PC:           Side{Contender: PC, Finished: true, Records: 1e6, SteadyPerS: 50000, CPUPerMillion: 30, PeakRSSKiB: 300 << 10},
			PlainDefault: Side{Contender: Plain, Finished: true, Records: 1e6, SteadyPerS: 2e6, CPUPerMillion: 1.5, PeakRSSKiB: 500 << 10},
			PlainSameFetch: Side{Contender: Plain, Finished: true, Records: 1e6, SteadyPerS: 3e6, CPUPerMillion: 1.2, PeakRSSKiB: 25 << 10,
				FetchMaxBytes: 1 << 20}},
		RSS: &RSS{Kpar: Side{Contender: Kpar, Finished: true, Records: 2e6, PeakRSSKiB: 40 << 10},
			Plain: Side{Contender: Plain, Finished: true, Records: 2e6, PeakRSSKiB: 30 << 10},
			PC:    Side{Contender: PC, Finished: true, Records: 2e6, PeakRSSKiB: 600 << 10},
			PCCapped: Side{Contender: PC, Records: 2e6, DidNotFinish: "timed out: pc harness timed out\nstderr tail", WallSeconds: 12,
				JVMFlags: []string{"-Xmx40m"}, FetchMaxBytes: 1 << 20, FetchMaxPartitionBytes: 1 << 20},
			CapHeap: "40m", CapFromKpar: true},
		LOC: []LOC{{Approach: Naive, Lines: 70}, {Approach: Manual, Lines: 80}, {Approach: Kpar, Lines: 13}, {Approach: PC, Lines: 21}},
	}
	r.Env.ShareMembers, r.Env.KparShare = 2, true
	shares := []struct {
		rate, ms, cpu float64
		reordered     int64
		ks            float64
	}{
		{3200, 5.4, 40, 900, 3300},    // share faster than kpar at 16
		{40000, 5.5, 60, 5000, 95000}, // kpar 2x at 500
		{150000, 9, 25, 12000, 0},     // even at 5000, kpar-share absent
	}
	for i, sh := range shares {
		p := &r.IO[i]
		p.Kpar.Order = &Order{Records: 60000, Keys: p.Keys}
		p.Share = Side{Contender: Share, Finished: true, Records: 60000, SteadyPerS: sh.rate, MeanHandlerMs: sh.ms, CPUPerMillion: sh.cpu,
			Members: 2, Order: &Order{Records: 60000, Keys: p.Keys, Reordered: sh.reordered}}
		if sh.ks > 0 {
			p.KparShare = &Side{Contender: KparShareName, Finished: true, Records: 60000, SteadyPerS: sh.ks, MeanHandlerMs: 5.2,
				CPUPerMillion: 22, Order: &Order{Records: 60000, Keys: p.Keys, Reordered: sh.reordered / 2}}
		}
		judgeIO(p, 5)
	}
	r.Noop.Kpar.Seconds, r.Noop.Kpar.FirstRecordS = 0.6, 0.2
	r.Noop.Share = Side{Contender: Share, Finished: true, Records: 1e6, Seconds: 10, FirstRecordS: 5, SteadyPerS: 120000, CPUPerMillion: 9, PeakRSSKiB: 20 << 10}
	r.Noop.KparShare = &Side{Contender: KparShareName, Finished: true, Records: 1e6, Seconds: 8, FirstRecordS: 5.1, SteadyPerS: 150000, CPUPerMillion: 7, PeakRSSKiB: 28 << 10}
	r.Noop.JavaShare = JavaShare{Threads: 2, Records: 1e6, RecordsPerS: 50000, CPUPerMillion: 16, PeakRSSKiB: 160 << 10}
	r.RSS.Share = Side{Contender: Share, Finished: true, Records: 2e6, PeakRSSKiB: 20 << 10}
	r.RSS.KparShare = &Side{Contender: KparShareName, Finished: true, Records: 2e6, PeakRSSKiB: 41 << 10}
	r.RSS.HeapSearch = &HeapSearch{FetchMaxBytes: 1 << 20, MaxPartitionFetchBytes: 1 << 20, StartMiB: 40, StartFromKpar: true, StepTimeoutS: 60,
		Steps: []HeapStep{{HeapMiB: 40, Side: r.RSS.PCCapped}, {HeapMiB: 80, Side: Side{Contender: PC, Finished: true, Records: 2e6, PeakRSSKiB: 190 << 10,
			JVMFlags: []string{"-Xmx80m"}, FetchMaxBytes: 1 << 20, FetchMaxPartitionBytes: 1 << 20}}}}
	r.RSS.HeapSearch.NeedsMiB, r.RSS.HeapSearch.FailedMiB = heapBounds(r.RSS.HeapSearch.Steps)
	judgeNoop(r.Noop)
	judge(&r)
	judgeShare(&r)
	r.Table = buildTable(&r)
	return r
}

func target(r Result, name string) Target {
	for _, t := range r.Targets {
		if t.Name == name {
			return t
		}
	}
	return Target{}
}

func TestTargetsAreJudgedFromTheData(t *testing.T) {
	r := sample()
	if tg := target(r, "io-500"); !tg.Measured || !tg.Met || tg.Got != 4 {
		t.Errorf("io-500 %+v, want measured, met at 4x", tg)
	}
	if tg := target(r, "io-5000"); !tg.Measured || tg.Met || tg.Got != 7.5 || tg.CPUFraction != 1.25 || !strings.Contains(tg.Why, "1.25x PC's CPU") {
		t.Errorf("io-5000 %+v, want missed at 7.5x with 1.25x PC's CPU", tg)
	}
	if tg := target(r, "noop-vs-pc"); !tg.Met || tg.Got != 40 {
		t.Errorf("noop-vs-pc %+v, want met at 40x", tg)
	}
	if tg := target(r, "noop-vs-plain"); tg.Met || tg.Got < 0.66 || tg.Got > 0.67 {
		t.Errorf("noop-vs-plain %+v, want missed at 0.67x", tg)
	}
	// The ideal at the measured latency: min(500, 1,000 keys) lanes / 5.8 ms.
	if p := r.IO[1]; p.IdealPerS != 100000 || p.Kpar.IdealShare < 0.927 || p.Kpar.IdealShare > 0.929 {
		t.Errorf("io 500: ideal %v, kpar share %v, want 500/5ms = 100000 and 80000/(500/5.8ms) = 0.928", p.IdealPerS, p.Kpar.IdealShare)
	}
	// Without the concurrency in the run, the target says so.
	r.IO = r.IO[:1]
	judge(&r)
	if tg := target(r, "io-500"); tg.Measured || tg.Met || !strings.Contains(render.Finding(targetFinding(tg)), "not measured (concurrency 500 was not in this run)") {
		t.Errorf("io-500 without 500: %+v", tg)
	}
}

func TestMarkdownStatesVerdictsAndWherePCWins(t *testing.T) {
	md := render.Markdown(Doc(sample()))
	testkit.Contains(t, "compare.md", md,
		"I/O-bound at concurrency 500: kpar reached 4.00x (target kpar >= 3x PC's records/s: met)",
		"I/O-bound at concurrency 5000: kpar reached 7.50x at 1.25x PC's CPU per record",
		"(target kpar >= 10x PC's records/s, at a fraction of its CPU: missed)",
		"no-op: kpar reached 0.67x (target kpar >= 0.8x the plain loop's records/s: missed)",
		"I/O-bound, concurrency 16: PC was faster than kpar, 3,100 records/s against kpar's 3,000 (1.03x).",
		"I/O-bound, concurrency 5000: PC needed less than kpar, CPU per million records 20.00 CPU-s against kpar's 25.00.",
		"| PC, -Xmx40m, fetch.max.bytes 1048576, max.partition.fetch.bytes 1048576 | did not finish (after 12.0 s): timed out: pc harness timed out | - |",
		"| PC, -Xmx80m, fetch.max.bytes 1048576, max.partition.fetch.bytes 1048576 | 190 MiB | 0.00 |",
		"PC needs more than 40 and at most 80 MiB of heap for this backlog with kpar's fetch sizes (fetch.max.bytes 1048576, max.partition.fetch.bytes 1048576): "+
			"it finished with 80 MiB and not with 40 MiB (2 runs from -Xmx40m (kpar's peak RSS), each bounded to 60 s: 40 MiB did not finish, 80 MiB finished).",
		"| code complexity (lines of user-facing code, counted at run time) (measured) | 70 lines | 80 lines | 13 lines | 21 lines |",
		"`kpar compare consume`",
		// Both plain loops are shown; the faster is the reference.
		"| plain loop, kgo's default FetchMaxBytes (50 MiB) | 2,000,000 |",
		"| plain loop, FetchMaxBytes 1048576 (kpar's) | 3,000,000 |",
		"The reference plain loop is the faster of the two by median rate (plain loop, FetchMaxBytes 1048576 (kpar's))",
		"### Targets\n\nA target is met only when every repeat passed it.",
	)
	// When kpar is ahead everywhere, no PC-wins sentence, and the report
	// says so.
	r := sample()
	r.IO = r.IO[1:2]
	r.RSS.PCCapped = Side{Contender: PC, Finished: true, Records: 2e6, PeakRSSKiB: 200 << 10, SteadyPerS: 40000}
	judge(&r)
	md = render.Markdown(Doc(r))
	// 500's rate and CPU, no-op's rate and CPU, peak RSS at the default heap and capped.
	if strings.Contains(md, "PC was faster") || strings.Contains(md, "PC needed less") ||
		!strings.Contains(md, "PC did better on none of the 6 figures compared (rates, CPU per record, peak RSS): kpar did at least as well on each.") {
		t.Errorf("kpar ahead everywhere, yet:\n%s", md)
	}
	// The sentences computed here say no process words (the sourced
	// table's rows are facts.go's, checked apart).
	r.Table = Table{}
	md = render.Markdown(Doc(r))
	testkit.Lacks(t, "compare.md", md, "issue", "Issue", "/work/", "shared/guide")
}

func TestWriteStoresDataMarkdownAndCharts(t *testing.T) {
	r := sample()
	var back Result
	got := testkit.WriteAndRead(t, Kind.File, Kind.Schema, Kind.Version, r, &back, render.Views(Doc(r))...)
	if back.IO[1].Speedup != 4 || back.RSS.PCCapped.Finished || len(back.Table.Rows) != len(r.Table.Rows) {
		t.Fatalf("round trip: %+v", back)
	}
	want := []string{Kind.File, "compare.md"}
	for _, c := range ChartNames {
		want = append(want, c+".svg", c+".png")
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
}

func finding(r Result, where, what string) ShareFinding {
	for _, f := range r.ShareFindings {
		if f.Where == where && f.What == what {
			return f
		}
	}
	return ShareFinding{}
}

func TestShareFindingsAreJudgedFromTheData(t *testing.T) {
	r := sample()
	for _, tc := range []struct {
		where, what, better string
	}{
		{"I/O-bound, concurrency 16", "steady rate", BetterShare},  // 3200 vs 3000: 1.07x
		{"I/O-bound, concurrency 500", "steady rate", BetterKpar},  // 40000 vs 80000
		{"I/O-bound, concurrency 5000", "steady rate", BetterEven}, // equal
		{"I/O-bound, concurrency 5000", "CPU per million records", BetterEven},
		{"I/O-bound, concurrency 16", "CPU per million records", BetterKpar}, // 40 vs 30
		{"I/O-bound, concurrency 16", "reordered records", BetterKpar},       // 900 vs 0
		{"no-op", "steady rate", BetterKpar},
		{"no-op", "CPU per million records", BetterKpar}, // 9 vs 1.5
		{"memory", "peak RSS", BetterShare},              // 20 MiB vs 40
	} {
		if f := finding(r, tc.where, tc.what); f.Better != tc.better {
			t.Errorf("%s %s: %+v, want %s better", tc.where, tc.what, f, tc.better)
		}
	}
	if f := finding(r, "I/O-bound, concurrency 500", "steady rate"); f.KparShare == nil || *f.KparShare != 95000 || f.Ratio != 0.5 {
		t.Errorf("io 500 rate finding %+v, want kpar-share 95000 and ratio 0.5", f)
	}
	if f := finding(r, "I/O-bound, concurrency 5000", "steady rate"); f.KparShare != nil {
		t.Errorf("kpar-share absent at 5000, yet %+v", f)
	}
	// kpar's share mode against the target: 95000 / (500 / 5.2 ms).
	if tg := target(r, "kpar-share-io-500"); !tg.Measured || !tg.Met || tg.Got < 0.987 || tg.Got > 0.989 {
		t.Errorf("kpar-share-io-500 %+v, want met at 0.988", tg)
	}
}

// The lesson's sentences are computed: change a number and the sentence
// changes with it.
func TestShareLessonSentencesFollowTheNumbers(t *testing.T) {
	md := render.Markdown(Doc(sample()))
	if strings.Contains(md, "Kafka's Java share consumer's rate") || strings.Contains(md, "Key order cost") {
		t.Errorf("ShareConsumerPerformance in a ratio, or a causal sentence the data does not show:\n%s", md)
	}
	testkit.Contains(t, "compare.md", md,
		"### Share groups vs a consumer group with a parallel consumer",
		"a bare franz-go share consumer with 2 member clients",
		"I/O-bound, concurrency 500: the share group ran at 40,000 records/s against kpar's 80,000 (0.50x); kpar's share mode 95,000 records/s: **kpar** faster.",
		"I/O-bound, concurrency 16: the share group ran at 3,200 records/s against kpar's 3,000 (1.07x); kpar's share mode 3,300 records/s: **the share group** faster.",
		"I/O-bound, concurrency 5000: the share group ran at 150,000 records/s against kpar's 150,000 (1.00x): even (within 5%).",
		"I/O-bound, concurrency 16: the share group processed 900 records before a lower offset of their key had finished, kpar 0; kpar's share mode 450 records: **kpar** kept more in order.",
		"memory: the share group's peak RSS was 20 MiB against kpar's 40 (0.50x); kpar's share mode 41 MiB: **the share group** smaller.",
		"The bare share group beat kpar's consumer group on 2 of 13 figures (I/O-bound, concurrency 16 steady rate; memory peak RSS); kpar did better on 9; the rest were even.",
		"Concurrency 500: without key order the share group processed 5,000 of 60,000 records (8.3%) out of their key's order, over 1,000 keys; kpar's consumer group 0 of 60,000. kpar's rate was 2.00x the share group's.",
		"Concurrency 16: without key order the share group processed 900 of 60,000 records (1.5%)",
		"The share group's rate was 1.07x kpar's.",
		"| Kafka ShareConsumerPerformance (Java, 2 threads): its own clock | 50,000 over its whole run | - | 16.00 | 160 MiB |",
		"no-op: the share group's first record came 5.00 s after it started, kpar's 0.20 s (25.00x); kpar's share mode 5.10 s: **kpar** sooner.",
		"so it is in no ratio here.",
		"| 500 | 80,000 | 93% | 20.00 | 0 of 60,000 | 40,000 | 44% | 60.00 | 5,000 of 60,000 | 0 | 95,000 | 99% | 22.00 | 2,500 of 60,000 |",
		"kpar's share mode, I/O-bound at concurrency 500: kpar reached 0.99x (target >= 0.9x the ideal: met)",
	)
	// Make the share group twice as fast at 500 and cheaper at no-op: the
	// verdicts turn.
	r := sample()
	r.IO[1].Share.SteadyPerS = 160000
	r.Noop.Share.CPUPerMillion = 1
	judgeShare(&r)
	md = render.Markdown(Doc(r))
	testkit.Contains(t, "after the change, compare.md", md,
		"I/O-bound, concurrency 500: the share group ran at 160,000 records/s against kpar's 80,000 (2.00x); kpar's share mode 95,000 records/s: **the share group** faster.",
		"no-op: the share group spent 1.00 CPU-s per million records against kpar's 1.50 (0.67x); kpar's share mode 7.00 CPU-s: **the share group** cheaper.",
		"The bare share group beat kpar's consumer group on 4 of 13 figures",
		"The share group's rate was 2.00x kpar's.",
	)
}

// The document opens with the targets' tally, where PC did better and the
// share lesson's tally; each target is a finding with its own verdict.
func TestDocAnswersWithTheTalliesAndJudgesEachTarget(t *testing.T) {
	d := Doc(sample())
	if len(d.Answer) != 3 {
		t.Fatalf("%d answer findings, want 3: %+v", len(d.Answer), d.Answer)
	}
	for i, want := range []string{
		"kpar met 3 of the 5 targets this run measured",
		"PC did better on 2 figures of 9 compared: I/O-bound, concurrency 16 steady rate; I/O-bound, concurrency 5000 CPU per million records.",
		"Against a bare share group, kpar's consumer group did better on 9 of 13 figures and the share group on 2",
	} {
		if !strings.HasPrefix(d.Answer[i].Text, want) {
			t.Errorf("answer %d = %q, want it to start %q", i, d.Answer[i].Text, want)
		}
	}
	var verdicts []string
	for _, f := range d.Body[0].Findings {
		verdicts = append(verdicts, f.Verdict)
		if f.Target == "" || strings.Contains(f.Text, f.Verdict) {
			t.Errorf("target finding %+v: want its target apart and no verdict in its text", f)
		}
	}
	if got := strings.Join(verdicts, ","); got != "met,missed,met,missed,met" {
		t.Errorf("verdicts %s, want met,missed,met,missed,met (io-500, io-5000, noop-vs-pc, noop-vs-plain, kpar-share)", got)
	}
	// A failed part is named in the answer with its reason.
	r := sample()
	r.Failures = []Failure{{Part: PartNoop, Reason: "too short\ndetail"}}
	if a := Doc(r).Answer; len(a) != 4 || !strings.Contains(a[3].Text, "no-op (too short)") {
		t.Errorf("answer with a failed part: %+v", a)
	}
}
