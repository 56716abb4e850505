package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/bench/consume"
	"github.com/kpar/kpar/internal/bench/produce"
	"github.com/kpar/kpar/internal/compare"
	"github.com/kpar/kpar/internal/lab/checker"
	"github.com/kpar/kpar/internal/lab/consumer"
	"github.com/kpar/kpar/internal/lab/producer"
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

func consumeResult(steady float64, ratio float64, rssKiB int64) consume.Result {
	io := &consume.IO{Partitions: 12, Keys: 1000, Concurrency: 500, SleepMs: 5, Order: "key", IdealPerS: 100000,
		Result: consume.Measurement{SteadyPerS: steady, RecordsPerS: steady * 0.9}, Target: consume.IOTarget}
	io.SteadyEfficiency = steady / io.IdealPerS
	io.MeetsTarget = io.SteadyEfficiency >= io.Target
	io.BoundBy = "concurrency / handler latency (the ideal)"
	cpu := &consume.CPU{Concurrency: 8, Parallel: consume.Measurement{RecordsPerS: 1e6 * ratio}, Plain: consume.Measurement{RecordsPerS: 1e6},
		Ratio: ratio, Target: consume.CPUTarget, MeetsTarget: ratio >= consume.CPUTarget}
	return consume.Result{Header: results.NewHeader(consume.Schema, consume.Version, []string{"kpar", "bench", "consume"}),
		CPUs: 2, IO: io, CPU: cpu, RSS: &consume.RSS{Records: 2000000, PeakRSSKiB: rssKiB}}
}

// The answers are built from the data: change the data and every figure and
// verdict in them follows; nothing is written into the page by hand.
func TestAnswersFollowTheData(t *testing.T) {
	good := joined(consumeAnswer(consumeResult(95000, 0.85, 110*1024)))
	bad := joined(consumeAnswer(consumeResult(41000, 0.31, 733*1024)))
	for _, want := range []string{"95% of the ideal", "meets the 90% target", "85% of a plain franz-go loop", "110 MiB"} {
		if !strings.Contains(good, want) {
			t.Errorf("good consume answer lacks %q:\n%s", want, good)
		}
	}
	for _, want := range []string{"41% of the ideal", "misses the 90% target", "31% of a plain franz-go loop", "misses the 70% target", "733 MiB"} {
		if !strings.Contains(bad, want) {
			t.Errorf("bad consume answer lacks %q:\n%s", want, bad)
		}
	}

	// Inconsistent data: a result that says it meets the target at 41% of
	// the ideal. The report states the package's verdict and the figure
	// side by side, so the contradiction shows rather than being smoothed.
	odd := consumeResult(41000, 0.31, 1024)
	odd.IO.MeetsTarget = true
	if a := joined(consumeAnswer(odd)); !strings.Contains(a, "41% of the ideal") || !strings.Contains(a, "meets the 90% target") {
		t.Errorf("inconsistent consume answer: %s", a)
	}

	cell := func(st string, lost, dup, reord int) consumer.Cell {
		return consumer.Cell{Strategy: st, Scenario: "ooo+crash", Records: 400,
			Check: checker.Result{Input: 400, Lost: lost, Duplicated: dup, Reordered: reord}}
	}
	lab := consumer.Result{Cells: []consumer.Cell{cell("commit-before", 138, 0, 19), cell("lib-key", 0, 0, 0)}}
	a := joined(labConsumerAnswer(lab))
	if !strings.Contains(a, "**commit-before** (138 under ooo+crash)") || !strings.Contains(a, "lib-key lost none") {
		t.Errorf("lab answer: %s", a)
	}
	// The library losing records must be said, with the number, and no
	// longer called lossless.
	lab.Cells[1].Check.Lost = 7
	a = joined(labConsumerAnswer(lab))
	if !strings.Contains(a, "**lib-key** (7 under ooo+crash)") || strings.Contains(a, "lost none") {
		t.Errorf("lab answer after lib-key lost 7: %s", a)
	}
	if l := cellLesson(lab.Cells[1]); !strings.HasPrefix(l, "**Loses records**") || !strings.Contains(l, "7 of 400") {
		t.Errorf("lesson of a losing lib-key row: %s", l)
	}
	lab.Cells[1].Check = checker.Result{Input: 400, Duplicated: 12}
	if l := cellLesson(lab.Cells[1]); !strings.HasPrefix(l, "**At-least-once**") || !strings.Contains(l, "12 duplicate") {
		t.Errorf("lesson of a replaying row: %s", l)
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
	if !strings.Contains(up, "4 sent 350,000, 3.50x as much") || !strings.Contains(up, "no saturation") {
		t.Errorf("scaling answer: %s", up)
	}
	// Throughput that falls with more producers is reported as it is.
	down := joined(produceAnswer(steps(100000, 60000, 50000)))
	if !strings.Contains(down, "0.50x as much") || !strings.Contains(down, "stopped paying after 1") {
		t.Errorf("falling answer: %s", down)
	}

	var cr compare.Result
	if err := results.Read(filepath.Join("testdata", "compare", "compare.json"), compare.Schema, compare.Version, &cr); err != nil {
		t.Fatal(err)
	}
	before := joined(compareAnswer(cr))
	cr.Targets = append(cr.Targets, compare.Target{What: "a target this test adds", Measured: true, Got: 0.5})
	cr.PCWins = append(cr.PCWins, compare.PCWin{Where: "somewhere new", What: "steady rate"})
	after := joined(compareAnswer(cr))
	if before == after || !strings.Contains(after, "missed: ") || !strings.Contains(after, "; a target this test adds (0.50x)") && !strings.Contains(after, "missed: a target this test adds (0.50x)") || !strings.Contains(after, "somewhere new steady rate") {
		t.Errorf("compare answer did not follow the data:\nbefore %s\nafter  %s", before, after)
	}
}

// The producer lab's answer restates the package's own targets from its
// cells: make the safe setting lose records and the answer says so, with the
// count, instead of calling it clean.
func TestProducerLabAnswerFollowsTheCells(t *testing.T) {
	var r producer.Result
	if err := results.Read(filepath.Join("testdata", "lab-producer", "lab-producer.json"), producer.Schema, producer.SchemaVersion, &r); err != nil {
		t.Fatal(err)
	}
	a := joined(labProducerAnswer(r))
	if !strings.Contains(a, "acks=all with idempotence lost no acknowledged record") || !strings.Contains(a, "acks1-if5/leader-kill (497)") {
		t.Fatalf("answer from the real run: %s", a)
	}
	for i, c := range r.Cells {
		if c.Setting.Safe() {
			r.Cells[i].Counts.AckedLost = 3
		}
	}
	r.Targets.SafeClean = false
	r.Targets.WeakerLoss = nil
	a = joined(labProducerAnswer(r))
	if !strings.Contains(a, "all-idem/leader-kill: 3 lost, 0 duplicated") || !strings.Contains(a, "No weaker setting lost") || strings.Contains(a, "lost no acknowledged") {
		t.Fatalf("answer after the safe setting lost 3: %s", a)
	}
}

// Each section reads the version its package writes now. When a package
// bumps its schema version, this fails until the section file is reviewed
// against the new meaning and its version raised; meanwhile the report
// refuses the new files in one line instead of misreading them.
func TestSectionsReadWhatThePackagesWrite(t *testing.T) {
	for _, k := range kinds {
		if k.version != k.current {
			t.Errorf("the %s section reads %s version %d, but the package now writes version %d: review that section's file and raise its version",
				k.section, k.schema, k.version, k.current)
		}
	}
}

// A file of a newer version is refused with one line naming the file, the
// schema and both versions; the section then says it is missing and how to
// produce it; the page is still written.
func TestNewerVersionIsRefusedInOneLineAndTheSectionSaysHowToProduceIt(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "results")
	r := consumeResult(95000, 0.85, 1024)
	r.Version = consume.Version + 3
	writeJSON(t, filepath.Join(dir, "consume", "consume.json"), r)
	writeJSON(t, filepath.Join(dir, "odd", "x.json"), results.Header{Schema: "kpar.nope", Version: 1})
	writeJSON(t, filepath.Join(dir, "odd", "plain.json"), map[string]int{"a": 1})
	old := consumeResult(95000, 0.85, 1024)
	old.Version = consume.Version - 1
	writeJSON(t, filepath.Join(dir, "old", "consume.json"), old)

	pg, err := Write(dir, filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	sec := pg.Sections[1]
	if sec.ID != "consume" || !sec.Missing() || len(sec.Refused) != 2 {
		t.Fatalf("consume section: %+v", sec)
	}
	want := "results/consume/consume.json: schema kpar.bench.consume version 7 is newer than this kpar reads (4)"
	if sec.Refused[0].Why != want {
		t.Errorf("refusal\n got %q\nwant %q", sec.Refused[0].Why, want)
	}
	if w := sec.Refused[1].Why; !strings.Contains(w, "version 3 is older than this kpar reads (4)") {
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
	k := kind{schema: "kpar.x", version: 4, current: 5}
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
