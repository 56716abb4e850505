package consume

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/clock"
	"github.com/kpar/kpar/internal/render"
	"github.com/kpar/kpar/internal/results"
	"github.com/kpar/kpar/internal/testkit"
)

// win is a measurement of n records whose window ran secs at rate perS.
func win(name string, n int64, perS, secs, cpu float64) Measurement {
	w := clock.WarmupCount(n)
	return Measurement{Name: name, CPUSeconds: cpu, Handled: n, Window: clock.Window{Records: n, WarmupRecords: w, EndRecords: n,
		Seconds: secs, PerS: perS, FirstS: 0.05, TotalS: secs + 1}}
}

// sample builds a result the way Run does: repeats judged by newIO and
// newCPU.
func sample() Result {
	c := DefaultConfig()
	io := func(perS, handler float64) Measurement {
		m := win("kpar", 1_200_000, perS, 12, 2.6)
		m.MeanHandler = handler
		return m
	}
	rep := func(par, same, def float64) CPURepeat {
		return CPURepeat{Parallel: win("kpar", 15_000_000, par, 20, 9), PlainSameFetch: win(PlainName(1048576), 15_000_000, same, 11, 6),
			PlainDefault: win(PlainName(0), 15_000_000, def, 12, 6)}
	}
	return Result{
		Header:  results.Header{Schema: Kind.Schema, Version: Kind.Version, Started: time.Unix(0, 0).UTC()},
		Brokers: []string{"b:1"}, CPUs: 2, Note: "n", Repeat: 3, MinWindowS: 10,
		IO:  newIO(c, []Measurement{io(82000, 5.7), io(91000, 5.4), io(95000, 5.2)}, 2),
		CPU: newCPU(c, 1048576, []CPURepeat{rep(750_000, 1_000_000, 900_000), rep(600_000, 1_000_000, 500_000), rep(800_000, 1_000_000, 700_000)}),
		RSS: &RSS{Records: 2000000, MaxBuffered: 10000, PerPart: 2000, PeakRSSKiB: 150 * 1024, Seconds: 0.6},
	}
}

func TestJudgementsAreComputedFromTheMeasurements(t *testing.T) {
	r := sample()
	if r.IO.IdealPerS != 100000 || r.IO.Efficiency != (clock.Spread{Median: 0.91, Min: 0.82, Max: 0.95}) || r.IO.Target != IOTarget {
		t.Fatalf("io: ideal %v efficiency %+v target %v, want 500 lanes / 5 ms = 100000, 0.91 (0.82-0.95), %v",
			r.IO.IdealPerS, r.IO.Efficiency, r.IO.Target, IOTarget)
	}
	if r.IO.Verdict.Word != "mixed (2 of 3)" || r.IO.MedianRepeat != 1 || r.IO.BoundBy != "concurrency / handler latency (the ideal)" {
		t.Fatalf("io verdict %+v median repeat %d bound by %q, want mixed (2 of 3), repeat 1, the ideal", r.IO.Verdict, r.IO.MedianRepeat, r.IO.BoundBy)
	}
	// Ratios pair by pair within each repeat, against the faster plain
	// loop of that repeat: 0.75, 0.6, 0.8.
	wantRatio := clock.Spread{Median: 0.75, Min: 0.6, Max: 0.8}
	if math.Abs(r.CPU.Ratio.Median-wantRatio.Median) > 1e-9 || math.Abs(r.CPU.Ratio.Min-wantRatio.Min) > 1e-9 || math.Abs(r.CPU.Ratio.Max-wantRatio.Max) > 1e-9 ||
		r.CPU.Verdict.Word != "mixed (2 of 3)" || r.CPU.Repeats[1].Met || r.CPU.Repeats[1].Faster != PlainName(1048576) {
		t.Fatalf("cpu: ratio %+v verdict %+v repeat 2 %+v, want %+v, mixed (2 of 3), repeat 2 short against the same-fetch loop", r.CPU.Ratio, r.CPU.Verdict, r.CPU.Repeats[1], wantRatio)
	}
	// A repeat where kgo's default fetch is faster is judged against it.
	c := DefaultConfig()
	cpu := newCPU(c, 1, []CPURepeat{{Parallel: win("kpar", 10, 700, 1, 1), PlainSameFetch: win("s", 10, 500, 1, 1), PlainDefault: win("d", 10, 1000, 1, 1)}})
	if cpu.Repeats[0].Faster != "d" || cpu.Repeats[0].Ratio != 0.7 || cpu.Repeats[0].RatioSame != 1.4 || cpu.Verdict.Word != "met" {
		t.Fatalf("default fetch faster: %+v verdict %+v", cpu.Repeats[0], cpu.Verdict)
	}
	// Keys bound the lanes under key order; partitions under partition order.
	c.Keys = 10
	if io := newIO(c, []Measurement{win("kpar", 10, 2000, 1, 0)}, 2); io.IdealPerS != 2000 || io.Verdict.Word != "met" || !strings.HasPrefix(io.BoundBy, "keys") {
		t.Fatalf("10 keys: ideal %v verdict %+v bound by %q", io.IdealPerS, io.Verdict, io.BoundBy)
	}
	c.Order.UnmarshalText([]byte("partition"))
	busy := win("kpar", 10, 100, 1, 1.9)
	busy.Window.TotalS = 1
	if io := newIO(c, []Measurement{busy}, 2); io.IdealPerS != 2400 || io.Verdict.Word != "missed" || !strings.HasPrefix(io.BoundBy, "CPU (1.90 of 2") {
		t.Fatalf("12 partitions, CPU busy: ideal %v verdict %+v bound by %q", io.IdealPerS, io.Verdict, io.BoundBy)
	}
}

// The answer holds the three headline findings, each verdict judged from
// the measurements and carried as the finding's own, never in its text.
func TestDocAnswersWithTheVerdicts(t *testing.T) {
	d := Doc(sample())
	want := []struct{ prefix, target, verdict string }{
		{"With a 5 ms handler at concurrency 500 (key order, 1,000 keys) the parallel consumer reached **91% of the ideal** 100,000 records/s " +
			"(median of 3 repeats, range 82%-95%); bound by concurrency / handler latency (the ideal).", "90% of the ideal", "mixed (2 of 3)"},
		{"With a no-op handler it ran at **75% of a plain franz-go loop** (the faster of two fetch sizes in each repeat, median of 3 repeats, " +
			"range 60%-80%; 750,000 vs 1,000,000 records/s).", "70% of the faster plain loop", "mixed (2 of 3)"},
		{"Its peak RSS over a 2,000,000-record backlog was **150 MiB**.", "", ""},
	}
	if len(d.Answer) != len(want) {
		t.Fatalf("answer: %+v", d.Answer)
	}
	for i, w := range want {
		if f := d.Answer[i]; f.Text != w.prefix || f.Target != w.target || f.Verdict != w.verdict {
			t.Errorf("answer %d: %+v, want %+v", i, f, w)
		}
	}
	if len(d.Charts()) != 2 || d.Charts()[0].Name != "consume-io" || d.Charts()[1].Name != "consume-cpu" ||
		len(d.Charts()[1].Series) != 3 || len(d.Charts()[1].X.Categories) != 3 {
		t.Errorf("charts: %+v", d.Charts())
	}
	// A run of nothing says so.
	if d := Doc(Result{}); len(d.Answer) != 1 || !strings.Contains(d.Answer[0].Text, "measured nothing") {
		t.Errorf("empty result: %+v", d.Answer)
	}
}

func TestMarkdownSentencesFollowTheData(t *testing.T) {
	rep := sample()
	md := render.Markdown(Doc(rep))
	testkit.Contains(t, "summary", md,
		"3 repeats, 1,080,000 records in each window; the ideal 100,000 records/s is 500 lanes, set by concurrency, over the sleep",
		"| I/O-bound, 5 ms handler: kpar | 91,000 | 82,000-95,000 |", "(target 90% of the ideal: mixed (2 of 3))",
		"In the median repeat (2 of 3) the handler's sleep took 5.40 ms", "of which the rate reached 98.3%",
		"| 2 | 600,000 | 1,000,000 | 500,000 | 60.0% | 120.0% | 60.0% | short |",
		"| median | 750,000 | 1,000,000 | 700,000 | 75.0% | 114.3% | 75.0% | mixed (2 of 3) |", "(target 70% of the faster plain loop: mixed (2 of 3))",
		"| no-op: kpar | 750,000 | 600,000-800,000 | 20.00 | 600 | 50 |", "| no-op: plain franz-go, kpar's fetch size | 1,000,000 |  | 11.00 | 400 | 50 |",
		"**peak RSS 150 MiB**", "the library's default FetchMaxBytes and default GOGC", "a window shorter than 10 s is refused",
		"![I/O-bound: records/s against the ideal (5 ms handler, concurrency 500, key order)](consume-io.svg)",
	)
	testkit.Lacks(t, "output", strings.ToLower(md+render.Text(Doc(rep))), "issue", "steady", "/work/")
	// Every repeat past: met; none past: missed. The words follow.
	c := DefaultConfig()
	ms := []Measurement{win("kpar", 100, 95000, 12, 1), win("kpar", 100, 96000, 12, 1)}
	rep.IO = newIO(c, ms, 2)
	reps := rep.CPU.Repeats
	for i := range reps {
		reps[i].Parallel.Window.PerS = 100_000
	}
	rep.CPU = newCPU(c, 1048576, reps)
	md = render.Markdown(Doc(rep))
	if !strings.Contains(md, "(target 70% of the faster plain loop: missed)") || !strings.Contains(md, "(target 90% of the ideal: met)") {
		t.Errorf("verdicts did not follow the data:\n%s", md)
	}
	txt := render.Text(Doc(rep))
	if !strings.Contains(txt, "target 90% of the ideal: met") || !strings.Contains(txt, "target 70% of the faster plain loop: missed") ||
		!strings.Contains(txt, "bound by concurrency / handler latency (the ideal)") || !strings.Contains(txt, "median of 2 repeats") {
		t.Errorf("text does not carry the verdicts:\n%s", txt)
	}
}

// A stored verdict the figures contradict is judged again, never repeated;
// parts measured alone still read as sentences with a subject.
func TestDocJudgesAgainAndNamesItsSubject(t *testing.T) {
	r := sample()
	r.IO.Verdict = clock.Judge([]bool{true, true, true})
	r.CPU.Verdict = clock.Judge([]bool{true, true, true})
	for _, f := range Doc(r).Answer[:2] {
		if f.Verdict != "mixed (2 of 3)" {
			t.Errorf("stored verdict shown: %+v", f)
		}
	}
	r.IO = nil
	if a := Doc(r).Answer[0].Text; !strings.HasPrefix(a, "With a no-op handler the parallel consumer ran at **75% of a plain franz-go loop**") {
		t.Errorf("no-op only: %s", a)
	}
	r.CPU = nil
	if a := Doc(r).Answer[0].Text; !strings.HasPrefix(a, "The parallel consumer's peak RSS over a 2,000,000-record backlog was **150 MiB**") {
		t.Errorf("rss only: %s", a)
	}
}

func TestWriteStoresDataAndMarkdownAndNoTemporaries(t *testing.T) {
	rep := sample()
	var back Result
	names := testkit.WriteAndRead(t, Kind.File, Kind.Schema, Kind.Version, rep, &back, render.Views(Doc(rep))...)
	if back.CPU.Ratio != rep.CPU.Ratio || back.RSS.PeakRSSKiB != rep.RSS.PeakRSSKiB || back.IO.BoundBy != rep.IO.BoundBy ||
		back.IO.Verdict != rep.IO.Verdict || len(back.CPU.Repeats) != 3 || back.MinWindowS != 10 || back.CPU.Repeats[2].Parallel.Window != rep.CPU.Repeats[2].Parallel.Window {
		t.Fatalf("%s round trip: %+v", Kind.File, back)
	}
	if want := "consume-cpu.png consume-cpu.svg consume-io.png consume-io.svg consume.json consume.md"; strings.Join(names, " ") != want {
		t.Fatalf("files in --out: %v, want %s", names, want)
	}
}

func TestWriteFailsOnAnUnwritableDirectory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := results.Write(filepath.Join(file, "sub"), Kind.File, sample(), render.Views(Doc(sample()))...); err == nil {
		t.Fatal("writing under a regular file succeeded")
	}
}
