package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/bench/consume"
	"github.com/kpar/kpar/internal/bench/produce"
	"github.com/kpar/kpar/internal/clock"
	"github.com/kpar/kpar/internal/compare"
	"github.com/kpar/kpar/internal/lab/checker"
	"github.com/kpar/kpar/internal/lab/consumer"
	"github.com/kpar/kpar/internal/lab/producer"
	"github.com/kpar/kpar/internal/render"
	"github.com/kpar/kpar/internal/results"
)

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func joined(s []string) string { return strings.Join(s, " ") }

// produceAnswer is the produce section's answer as the page shows it.
func produceAnswer(r produce.Result) []string {
	var out []string
	for _, f := range producePart(r).Doc.Answer {
		out = append(out, render.Finding(f))
	}
	return out
}

// compareAnswer is the comparison's answer as the report shows it: the
// figures judged again, then the document's answer.
func compareAnswer(r compare.Result) []string {
	var out []string
	for _, f := range compare.Doc(compare.Rejudge(r)).Answer {
		out = append(out, render.Finding(f))
	}
	return out
}

func consumeResult(steady float64, ratio float64, rssKiB int64) consume.Result {
	eff := steady / 100000
	io := &consume.IO{Partitions: 12, Keys: 1000, Concurrency: 500, SleepMs: 5, Order: "key", IdealPerS: 100000,
		Repeats:    []consume.IORepeat{{Result: consume.Measurement{Window: clock.Window{PerS: steady}}, Efficiency: eff, Met: eff >= consume.IOTarget}},
		Rate:       clock.Spread{Median: steady, Min: steady, Max: steady},
		Efficiency: clock.Spread{Median: eff, Min: eff, Max: eff}, Target: consume.IOTarget, Verdict: clock.Judge([]bool{eff >= consume.IOTarget})}
	io.BoundBy = "concurrency / handler latency (the ideal)"
	m := func(name string, perS float64) consume.Measurement {
		return consume.Measurement{Name: name, Window: clock.Window{PerS: perS}}
	}
	cpu := &consume.CPU{Concurrency: 8, Repeats: []consume.CPURepeat{{Ratio: ratio,
		Parallel: m("parallel", 1e6*ratio), PlainSameFetch: m("plain same", 1e6), PlainDefault: m("plain default", 9e5)}},
		Parallel: clock.Spread{Median: 1e6 * ratio}, PlainSameFetch: clock.Spread{Median: 1e6}, PlainDefault: clock.Spread{Median: 9e5},
		Ratio: clock.Spread{Median: ratio, Min: ratio, Max: ratio}, Target: consume.CPUTarget, Verdict: clock.Judge([]bool{ratio >= consume.CPUTarget})}
	return consume.Result{Header: consume.Kind.Header([]string{"kpar", "bench", "consume"}),
		CPUs: 2, IO: io, CPU: cpu, RSS: &consume.RSS{Records: 2000000, PeakRSSKiB: rssKiB}}
}

// consumeAnswer is the consume part's answer as the page states it.
func consumeAnswer(r consume.Result) []string {
	var out []string
	for _, f := range consume.Doc(r).Answer {
		out = append(out, render.Finding(f))
	}
	return out
}

// The answers are built from the data: change the data and every figure and
// verdict in them follows; nothing is written into the page by hand.
func TestAnswersFollowTheData(t *testing.T) {
	good := joined(consumeAnswer(consumeResult(95000, 0.85, 110*1024)))
	bad := joined(consumeAnswer(consumeResult(41000, 0.31, 733*1024)))
	for _, want := range []string{"95% of the ideal", "(target 90% of the ideal: met)", "85% of a plain franz-go loop", "110 MiB"} {
		if !strings.Contains(good, want) {
			t.Errorf("good consume answer lacks %q:\n%s", want, good)
		}
	}
	for _, want := range []string{"41% of the ideal", "(target 90% of the ideal: missed)", "31% of a plain franz-go loop", "(target 70% of the faster plain loop: missed)", "733 MiB"} {
		if !strings.Contains(bad, want) {
			t.Errorf("bad consume answer lacks %q:\n%s", want, bad)
		}
	}

	// Inconsistent data: a result whose stored verdicts say met at 41% of
	// the ideal and 31% of the plain loop. The report judges the repeats
	// again and never shows the stored verdict beside the figure.
	odd := consumeResult(41000, 0.31, 1024)
	odd.IO.Verdict = clock.Judge([]bool{true})
	odd.IO.Repeats[0].Met = true
	odd.CPU.Verdict = clock.Judge([]bool{true})
	if a := joined(consumeAnswer(odd)); !strings.Contains(a, "41% of the ideal") || !strings.Contains(a, "(target 90% of the ideal: missed)") ||
		!strings.Contains(a, "(target 70% of the faster plain loop: missed)") || strings.Contains(a, ": met") {
		t.Errorf("inconsistent consume answer repeats a stored verdict: %s", a)
	}

	cell := func(st string, lost, dup, reord int) consumer.Cell {
		return consumer.Cell{Strategy: st, Scenario: "ooo+crash", Records: 400,
			Check: checker.Result{Input: 400, Lost: lost, Duplicated: dup, Reordered: reord}}
	}
	labAnswer := func(r consumer.Result) string {
		var a []string
		for _, f := range consumer.Doc(r).Answer {
			a = append(a, render.Finding(f))
		}
		return joined(a)
	}
	lab := consumer.Result{Cells: []consumer.Cell{cell("commit-before", 138, 0, 19), cell("lib-key", 0, 0, 0)}}
	a := labAnswer(lab)
	if !strings.Contains(a, "**commit-before** (138 under ooo+crash)") || !strings.Contains(a, "lib-key lost none") {
		t.Errorf("lab answer: %s", a)
	}
	// The library losing records must be said, with the number, and no
	// longer called lossless.
	lab.Cells[1].Check.Lost = 7
	a = labAnswer(lab)
	if !strings.Contains(a, "**lib-key** (7 under ooo+crash)") || strings.Contains(a, "lost none") {
		t.Errorf("lab answer after lib-key lost 7: %s", a)
	}
	if l := render.Markdown(consumer.Doc(lab)); !strings.Contains(l, "| lib-key | **lost 7** |") {
		t.Errorf("outcome of a losing lib-key row:\n%s", l)
	}
	lab.Cells[1].Check = checker.Result{Input: 400, Duplicated: 12}
	if l := render.Markdown(consumer.Doc(lab)); !strings.Contains(l, "| lib-key | 12 dup |") {
		t.Errorf("outcome of a replaying row:\n%s", l)
	}

	steps := func(rates ...float64) produce.Result {
		var st []produce.Step
		for i, r := range rates {
			st = append(st, produce.Step{Producers: 1 << i, RecordsPerSec: r})
		}
		sw := produce.Sweep{Steps: st, Saturation: produce.FindSaturation(st), Bottleneck: produce.Bottleneck{Kind: "partitions", Reason: "why"}}
		return produce.Result{Sweeps: []produce.Sweep{sw}}
	}
	up := joined(produceAnswer(steps(100000, 190000, 350000)))
	if !strings.Contains(up, "4 sent 350,000 (0.0 MB/s), 3.50x as much") || !strings.Contains(up, "no saturation") {
		t.Errorf("scaling answer: %s", up)
	}
	// Throughput that falls with more producers is reported as it is.
	down := joined(produceAnswer(steps(100000, 60000, 50000)))
	if !strings.Contains(down, "0.50x as much") || !strings.Contains(down, "stopped paying after 1") {
		t.Errorf("falling answer: %s", down)
	}

	var cr compare.Result
	if err := compare.Kind.Read(filepath.Join("testdata", "compare", "compare.json"), &cr); err != nil {
		t.Fatal(err)
	}
	before := joined(compareAnswer(cr))
	// A stored target the measurements do not give is never shown: the
	// report judges the figures again.
	cr.Targets = append(cr.Targets, compare.Target{What: "a target this test adds", Measured: true, Got: 0.5})
	if a := joined(compareAnswer(cr)); strings.Contains(a, "a target this test adds") {
		t.Errorf("the compare answer repeats a stored target: %s", a)
	}
	// Make kpar's io runs 100 times slower: the verdicts follow the figures.
	for i := range cr.IO {
		cr.IO[i].Kpar.SteadyPerS /= 100
		for j := range cr.IO[i].Kpar.Repeats {
			cr.IO[i].Kpar.Repeats[j].SteadyPerS /= 100
		}
	}
	after := joined(compareAnswer(cr))
	if before == after || !strings.Contains(after, "missed") {
		t.Errorf("compare answer did not follow the data:\nbefore %s\nafter  %s", before, after)
	}
}

// The producer lab's answer judges the cells again (producer.Judge), never
// the verdicts stored in the file: make the safe setting lose records while
// the stored targets still say met, and the answer says missed with the
// count, and no sentence says it kept anything at 0.
func TestProducerLabAnswerFollowsTheCells(t *testing.T) {
	path := filepath.Join("testdata", "lab-producer", "lab-producer.json")
	part, err := labProducerKind.load(path)
	if err != nil || part.Doc == nil || part.Facts.Seed == "" {
		t.Fatalf("the fixture does not load as a document: %v %+v", err, part)
	}
	var r producer.Result
	if err := producer.Kind.Read(path, &r); err != nil {
		t.Fatal(err)
	}
	// The fixture's own counts judged again, not figures copied from one
	// run: a regenerated fixture (scripts/fixtures.sh) keeps this test true.
	_, want := producer.Judge(r.Cells)
	a := part.Doc.Answer
	if len(a) < len(want) {
		t.Fatalf("answer %+v for targets %+v", a, want)
	}
	for i, tg := range want {
		if tg.Verdict != producer.NotRun && a[i].Verdict != strings.ToLower(tg.Verdict) || !strings.Contains(a[i].Text, tg.Detail) {
			t.Fatalf("answer from the fixture lacks %q judged %s (%s): %+v", tg.Claim, tg.Verdict, tg.Detail, a[i])
		}
	}
	stored := fmt.Sprint(r.Targets)
	// The first safe fault cell loses 3: whichever faults the fixture ran.
	victim, faultCells := -1, 0
	for i, c := range r.Cells {
		if c.Setting.Safe() && c.Fault != producer.FaultNone {
			faultCells++
			if victim < 0 {
				victim = i
			}
		}
	}
	if victim < 0 {
		t.Fatal("the fixture has no safe fault cell: regenerate it with scripts/fixtures.sh")
	}
	r.Cells[victim].Counts.Lost = 3
	vc := r.Cells[victim]
	if fmt.Sprint(r.Targets) != stored {
		t.Fatal("the test must leave the stored targets as they were")
	}
	d := producer.Doc(r)
	cells := "fault cells"
	if faultCells == 1 {
		cells = "fault cell"
	}
	wantMissed := fmt.Sprintf("1 cell of %d %s: %s: 3 lost, %d duplicated", faultCells, cells, vc.Name, vc.Counts.Duplicated)
	if f := d.Answer[0]; !strings.Contains(f.Text, wantMissed) || f.Verdict != "missed" {
		t.Fatalf("answer after the safe setting lost 3: %+v", d.Answer)
	}
	body := render.Markdown(d)
	for _, bad := range []string{"kept lost and duplicated at 0", "by protocol", ": met)"} {
		if strings.Contains(body, bad) {
			t.Errorf("the section says %q beside a safe cell that lost 3", bad)
		}
	}
	if !strings.Contains(body, "lost 3 acknowledged records on "+string(vc.Fault)) || !strings.Contains(body, "does not show the guarantee holding") {
		t.Errorf("the section does not follow the changed cell:\n%s", body)
	}
}

// Each section reads the version its package writes now. When a package
// bumps its schema version, this fails until the section file is reviewed
// against the new meaning and its version raised; meanwhile the report
// refuses the new files in one line instead of misreading them.
func TestSectionsReadWhatThePackagesWrite(t *testing.T) {
	for _, k := range kinds {
		if k.version != k.of.Version {
			t.Errorf("the %s section reads %s version %d, but the package now writes version %d: review that section's file and raise its version",
				k.section, k.of.Schema, k.version, k.of.Version)
		}
	}
}

// A file of a newer version is refused with one line naming the file, the
// schema and both versions; the section then says it is missing and how to
// produce it; the page is still written.
func TestNewerVersionIsRefusedInOneLineAndTheSectionSaysHowToProduceIt(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "results")
	r := consumeResult(95000, 0.85, 1024)
	r.Version = consume.Kind.Version + 3
	writeJSON(t, filepath.Join(dir, "consume", "consume.json"), r)
	writeJSON(t, filepath.Join(dir, "odd", "x.json"), results.Header{Schema: "kpar.nope", Version: 1})
	writeJSON(t, filepath.Join(dir, "odd", "plain.json"), map[string]int{"a": 1})
	old := consumeResult(95000, 0.85, 1024)
	old.Version = consume.Kind.Version - 1
	writeJSON(t, filepath.Join(dir, "old", "consume.json"), old)

	pg, err := Write(dir, filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	sec := pg.Sections[1]
	if sec.ID != "consume" || !sec.Missing() || len(sec.Refused) != 2 {
		t.Fatalf("consume section: %+v", sec)
	}
	want := fmt.Sprintf("results/consume/consume.json: schema kpar.bench.consume version %d is newer than this kpar reads (%d)", consume.Kind.Version+3, consume.Kind.Version)
	if sec.Refused[0].Why != want {
		t.Errorf("refusal\n got %q\nwant %q", sec.Refused[0].Why, want)
	}
	if w := sec.Refused[1].Why; !strings.Contains(w, fmt.Sprintf("version %d is older than this kpar reads (%d)", consume.Kind.Version-1, consume.Kind.Version)) {
		t.Errorf("older file: %q", w)
	}
	for _, s := range append(sec.Refused, pg.Skipped...) {
		if strings.Contains(s.Why, "\n") {
			t.Errorf("not one line: %q", s.Why)
		}
	}
	if len(pg.Skipped) != 2 || !strings.Contains(pg.Skipped[0].Why, "odd/plain.json: not a kpar results file") ||
		!strings.Contains(pg.Skipped[1].Why, "odd/x.json: schema kpar.nope version 1 is not one this kpar reads") {
		t.Errorf("skipped: %+v", pg.Skipped)
	}
	html, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	page := string(html)
	for _, s := range sections {
		// Nothing readable here: every section names its command.
		i := strings.Index(page, `<section id="`+s.ID+`"`)
		if i < 0 {
			t.Fatalf("no section %s", s.ID)
		}
		body := page[i:]
		body = body[:strings.Index(body, "</section>")]
		if !strings.Contains(body, `data-state="missing"`) || !strings.Contains(body, htmlEscaped(s.Produce)) {
			t.Errorf("section %s does not say it is missing with `%s`", s.ID, s.Produce)
		}
	}
	if !strings.Contains(page, "Refused "+want) {
		t.Errorf("the page does not show the refusal line")
	}
}

// A package that writes a version its section was not yet written for has
// its files refused too, with the reason.
func TestVersionTheSectionDoesNotKnowYetIsRefused(t *testing.T) {
	k := kind{of: results.Kind{Schema: "kpar.x", Version: 5}, version: 4}
	err := checkVersion("results/x/x.json", results.Header{Schema: "kpar.x", Version: 5}, k)
	if err == nil || err.Error() != "results/x/x.json: schema kpar.x version 5 is newer than this kpar's report reads (4): its section needs updating" {
		t.Fatalf("got %v", err)
	}
	if err := checkVersion("results/x/x.json", results.Header{Schema: "kpar.x", Version: 4}, k); err != nil {
		t.Fatalf("the section's own version refused: %v", err)
	}
}

// htmlEscaped is how html/template writes s into the page.
func htmlEscaped(s string) string {
	return strings.NewReplacer("&", "&amp;", "'", "&#39;", `"`, "&#34;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// Results days apart, from another host or another build carry a warning;
// what the data does not record is said to be unknown.
func TestProvenanceWarnsAboutAgeAndMachine(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "results")
	now := time.Now().UTC()
	a := consumeResult(95000, 0.85, 1024)
	a.Started = now
	a.Machine = &results.Machine{Hostname: "alpha", Cores: 2, Kpar: "abc"}
	writeJSON(t, filepath.Join(dir, "a", "consume.json"), a)
	b := consumeResult(95000, 0.85, 1024)
	b.Started = now.Add(-72 * time.Hour)
	b.Machine = &results.Machine{Hostname: "beta", Cores: 2, Kpar: "abc"}
	writeJSON(t, filepath.Join(dir, "b", "consume.json"), b)
	c := consumeResult(95000, 0.85, 1024)
	c.Started = now
	c.Machine = &results.Machine{Hostname: "alpha", Cores: 2, Kpar: "def"}
	writeJSON(t, filepath.Join(dir, "c", "consume.json"), c)
	d := consumeResult(95000, 0.85, 1024)
	d.Started, d.Machine, d.CPUs = now, nil, 0
	writeJSON(t, filepath.Join(dir, "d", "consume.json"), d)

	pg, err := Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	parts := pg.Sections[1].Parts
	if len(parts) != 4 {
		t.Fatalf("%d parts", len(parts))
	}
	w := func(i int) string { return joined(parts[i].Facts.Warnings) }
	if w(0) != "" {
		t.Errorf("a: unexpected warnings %q", w(0))
	}
	if !strings.Contains(w(1), "3 days older than the newest") || !strings.Contains(w(1), "Ran on host beta; most results on this page ran on alpha") {
		t.Errorf("b: %q", w(1))
	}
	if !strings.Contains(w(2), "Built from kpar def; most results on this page from abc") {
		t.Errorf("c: %q", w(2))
	}
	if w(3) != "" || !strings.Contains(joined(parts[3].Facts.Unknown), "the host") || parts[3].Facts.Machine() != "not recorded" {
		t.Errorf("d: warnings %q, unknown %q, machine %q", w(3), parts[3].Facts.Unknown, parts[3].Facts.Machine())
	}
}

// Parts of a run that measured only some of the consumer bench still read
// as sentences with a subject.
func TestConsumeAnswerWithoutTheIORun(t *testing.T) {
	r := consumeResult(95000, 0.81, 64*1024)
	r.IO = nil
	a := joined(consumeAnswer(r))
	if !strings.HasPrefix(a, "With a no-op handler the parallel consumer ran at **81% of a plain franz-go loop**") {
		t.Errorf("no-op only: %s", a)
	}
	r.CPU = nil
	if a := joined(consumeAnswer(r)); !strings.HasPrefix(a, "The parallel consumer's peak RSS over a 2,000,000-record backlog was **64 MiB**") {
		t.Errorf("rss only: %s", a)
	}
}

// A command's default directory comes first in its section (and so in the
// at-a-glance list), before variants such as results/produce-ceiling.
func TestDefaultDirectoryComesFirst(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "results")
	for _, d := range []string{"consume-b", "consume", "consume-a"} {
		writeJSON(t, filepath.Join(dir, d, "consume.json"), consumeResult(95000, 0.85, 1024))
	}
	pg, err := Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pg.Sections[1].Parts {
		got = append(got, p.Path)
	}
	if want := "results/consume/consume.json results/consume-a/consume.json results/consume-b/consume.json"; joined(got) != want {
		t.Fatalf("order %v", got)
	}
}

// What a header records is shown, what it lacks is unknown: the broker's
// version by its source (the jars kpar started, or a guess from
// ApiVersions, labelled so), kpar's revision; a measurement that makes no
// random choice says so rather than "a seed" unknown; a fixture is marked on
// the page and in the summary with its command, revision, host and script.
func TestProvenanceNamesTheBrokerTheSeedAndAFixture(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "results")
	now := time.Now().UTC()
	own := consumeResult(95000, 0.85, 1024)
	own.Started, own.Machine = now, &results.Machine{Hostname: "alpha", Cores: 2, MemoryBytes: 1 << 30, GoVersion: "go1.26", Kpar: "0123456789ab"}
	own.Broker = &results.Broker{Version: "4.3.1", Guess: "v4.3"}
	writeJSON(t, filepath.Join(dir, "own", "consume.json"), own)
	given := own
	given.Broker = &results.Broker{Guess: "at least v4.4"}
	given.Fixture = &results.Fixture{By: "scripts/fixtures.sh"}
	writeJSON(t, filepath.Join(dir, "given", "consume.json"), given)
	none := own
	none.Broker, none.Machine = nil, &results.Machine{Hostname: "alpha", Cores: 2}
	writeJSON(t, filepath.Join(dir, "none", "consume.json"), none)

	pg, err := Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]Facts{}
	for _, p := range pg.Sections[1].Parts {
		byPath[filepath.Base(filepath.Dir(p.Path))] = p.Facts
	}
	if f := byPath["own"]; !slices.Contains(f.Versions, "Kafka 4.3.1 (the jars kpar started; ApiVersions answers like v4.3)") ||
		!slices.Contains(f.Versions, "kpar 0123456789ab") || len(f.Unknown) != 0 || f.NoSeed == "" || f.Fixture != "" || f.FixtureNote() != "" {
		t.Errorf("own broker: versions %q, unknown %q, no seed %q, fixture %q", f.Versions, f.Unknown, f.NoSeed, f.Fixture)
	}
	if f := byPath["given"]; !slices.Contains(f.Versions, "Kafka at least v4.4 (a guess from the brokers' ApiVersions answer)") {
		t.Errorf("given broker: versions %q", f.Versions)
	}
	if f := byPath["none"]; !strings.Contains(joined(f.Unknown), "the Kafka broker's version") || !strings.Contains(joined(f.Unknown), "kpar's revision") ||
		strings.Contains(joined(f.Unknown), "seed") {
		t.Errorf("nothing recorded: unknown %q", f.Unknown)
	}
	note := byPath["given"].FixtureNote()
	for _, want := range []string{"A fixture", "`scripts/fixtures.sh` regenerates it", "`kpar bench consume`", "kpar 0123456789ab", "host alpha"} {
		if !strings.Contains(note, want) {
			t.Errorf("fixture note lacks %q: %s", want, note)
		}
	}
	html, err := Render(pg)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(html), `<p class="fixture">`); n != 1 {
		t.Errorf("%d fixture marks on the page, want 1", n)
	}
	if s := pg.Summary(); !strings.Contains(s, "given/consume.json (a fixture, not a run of yours)") || strings.Count(s, "fixture") != 1 {
		t.Errorf("summary:\n%s", s)
	}

	// A measurement with random choices and no seed recorded: unknown.
	var f Facts
	f.fromHeader(own.Header)
	if !strings.Contains(joined(f.Unknown), "a seed") {
		t.Errorf("no seed and no reason: unknown %q", f.Unknown)
	}
}

// The produce section re-derives every verdict from the measured figures: a
// result whose stored saturation, bottleneck, ceiling sentence and kcat
// verdict contradict its own steps is shown with the verdicts its figures
// give, and the stored ones appear nowhere.
func TestProduceSectionRederivesEveryVerdictFromTheSteps(t *testing.T) {
	step := func(n int, rate float64) produce.Step {
		return produce.Step{Producers: n, RecordsPerSec: rate, ElapsedSeconds: 1, BenchCPUSeconds: 0.1}
	}
	sw := func(parts int, rates ...float64) produce.Sweep {
		s := produce.Sweep{Label: fmt.Sprintf("p%d", parts), Partitions: parts}
		for i, r := range rates {
			s.Steps = append(s.Steps, step(1<<i, r))
		}
		// Stored verdicts that the steps contradict.
		s.Saturation = produce.Saturation{Reached: false, Producers: 4, Gain: 0.9}
		s.Bottleneck = produce.Bottleneck{Kind: "broker-cpu", Reason: "a stored reason", Producers: 4}
		return s
	}
	r := produce.Result{Host: produce.Host{Cores: 2}, Sweeps: []produce.Sweep{sw(1, 100000, 101000, 99000), sw(12, 300000, 310000, 305000)},
		Ceilings: []produce.Ceiling{{Label: "stored", Sentence: "A stored ceiling sentence.", Points: []produce.CeilingPoint{{Partitions: 1, RecordsPerSec: 1}}}}}
	k := &produce.KcatComparison{Records: 1000, Kcat: produce.KcatResult{Records: 1000, WallSeconds: 0.01, CPUSeconds: 0.5}}
	k.Go.Acked, k.Go.WallSeconds, k.Go.ProcessCPUSeconds = 1000, 0.02, 0.2
	k.Verdict = "the target is met" // the figures say 0.50x the rate
	k.RecordsPerSecRatio, k.TargetMet = 2, true
	r.Kcat = k
	p := producePart(r)
	text := render.Markdown(*p.Doc)
	for _, bad := range []string{"a stored reason", "A stored ceiling sentence", ": met", "No saturation within the sweep", "broker-cpu", "2.00x kcat"} {
		if strings.Contains(text, bad) {
			t.Errorf("the page repeats a stored verdict the figures contradict: %q", bad)
		}
	}
	for _, want := range []string{"stopped paying after 1", "0.50x kcat's", ": missed (0 of 1))", "The ceiling (best of the producer counts) went from 101.0k records/s at 1 partition to 310.0k at 12 partitions"} {
		if !strings.Contains(text, want) {
			t.Errorf("the page lacks the re-derived %q:\n%s", want, text)
		}
	}
}

// A section reads top to bottom: the question, the answer with each verdict
// in the class the page styles, the body, then the details and the
// provenance, both folded; the contents line is the answer's first finding.
func TestSectionReadsQuestionAnswerBodyThenFolds(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "results")
	writeJSON(t, filepath.Join(dir, "consume", "consume.json"), consumeResult(41000, 0.85, 1024))
	pg, err := Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Render(pg)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	glance := page[strings.Index(page, `<div class="glance">`):strings.Index(page, "<main>")]
	if !strings.Contains(glance, `41% of the ideal`) || !strings.Contains(glance, `<span class="verdict missed">(target 90% of the ideal: missed)</span>`) {
		t.Errorf("the contents do not give the consume answer with its verdict styled:\n%s", glance)
	}
	s := page[strings.Index(page, `<section id="consume"`):]
	s = s[:strings.Index(s, "</section>")]
	order := []string{`class="question"`, `<div class="answer">`, `class="verdict missed"`, `class="verdict met"`, `<figure class="chart"`, `<div class="table">`, "<details><summary>Details", `<details class="provenance">`}
	at := 0
	for _, want := range order {
		i := strings.Index(s[at:], want)
		if i < 0 {
			t.Fatalf("the consume section lacks %q after position %d (want the order %q):\n%s", want, at, order, s)
		}
		at += i
	}
	if strings.Contains(s, "<details open") || strings.Contains(s, `class="provenance" open`) {
		t.Errorf("the consume section opens a fold by default")
	}
}
