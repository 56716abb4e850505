package compare

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/results"
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
	r := Result{Header: results.Header{Schema: Schema, Version: Version, Started: time.Unix(0, 0).UTC(), Finished: time.Unix(300, 0).UTC(),
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
			Plain:    Side{Contender: Plain, Finished: true, Records: 2e6, PeakRSSKiB: 30 << 10},
			PC:       Side{Contender: PC, Finished: true, Records: 2e6, PeakRSSKiB: 600 << 10},
			PCCapped: Side{Contender: PC, Records: 2e6, DidNotFinish: "timed out: pc harness timed out\nstderr tail", WallSeconds: 12},
			CapHeap:  "40m", CapFromKpar: true},
		LOC: []LOC{{Approach: Naive, Lines: 70}, {Approach: Manual, Lines: 80}, {Approach: Kpar, Lines: 13}, {Approach: PC, Lines: 21}},
	}
	judgeNoop(r.Noop)
	judge(&r)
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
	if tg := target(r, "io-500"); tg.Measured || tg.Met || !strings.Contains(tg.Verdict(), "not measured (concurrency 500 was not in this run)") {
		t.Errorf("io-500 without 500: %+v", tg)
	}
}

func TestMarkdownStatesVerdictsAndWherePCWins(t *testing.T) {
	md := Markdown(sample())
	for _, want := range []string{
		"I/O-bound at concurrency 500: kpar >= 3x PC's records/s: **met**, kpar reached 4.00x.",
		"I/O-bound at concurrency 5000: kpar >= 10x PC's records/s, at a fraction of its CPU: **missed**, kpar reached 7.50x at 1.25x PC's CPU per record",
		"no-op: kpar >= 0.8x the plain loop's records/s: **missed**, kpar reached 0.67x.",
		"I/O-bound, concurrency 16: PC was faster than kpar, 3100 records/s against kpar's 3000 (1.03x).",
		"I/O-bound, concurrency 5000: PC needed less than kpar, CPU per million records 20.00 CPU-s against kpar's 25.00.",
		"PC **did not finish** the backlog (after 12.0 s): timed out: pc harness timed out",
		"| code complexity (lines of user-facing code, counted at run time) (measured) | 70 lines | 80 lines | 13 lines | 21 lines |",
		"Reproduce: `kpar compare consume`",
		// Both plain loops are shown; the faster is the reference.
		"| plain loop, kgo's default FetchMaxBytes (50 MiB) | 2000000 |",
		"| plain loop, FetchMaxBytes 1048576 (kpar's) | 3000000 |",
		"The reference plain loop is the faster of the two (plain loop, FetchMaxBytes 1048576 (kpar's)).",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("compare.md lacks %q:\n%s", want, md)
		}
	}
	// When kpar is ahead everywhere, no PC-wins sentence, and the report
	// says so.
	r := sample()
	r.IO = r.IO[1:2]
	r.RSS.PCCapped = Side{Contender: PC, Finished: true, Records: 2e6, PeakRSSKiB: 200 << 10, SteadyPerS: 40000}
	judge(&r)
	md = Markdown(r)
	if strings.Contains(md, "PC was faster") || strings.Contains(md, "PC needed less") || !strings.Contains(md, "Nowhere in this run") ||
		!strings.Contains(md, "PC still finished the backlog") {
		t.Errorf("kpar ahead everywhere, yet:\n%s", md)
	}
}

func TestWriteStoresDataMarkdownAndCharts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	r := sample()
	vs, err := Views(r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := results.Write(dir, DataFile, r, vs...); err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := results.Read(filepath.Join(dir, DataFile), Schema, Version, &back); err != nil {
		t.Fatal(err)
	}
	if back.IO[1].Speedup != 4 || back.RSS.PCCapped.Finished || len(back.Table.Rows) != len(r.Table.Rows) {
		t.Fatalf("round trip: %+v", back)
	}
	want := []string{DataFile, "compare.md"}
	for _, c := range ChartNames {
		want = append(want, c+".svg", c+".png")
	}
	ents, _ := os.ReadDir(dir)
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
}
