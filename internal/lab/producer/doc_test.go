package producer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kpar/kpar/internal/doc"
	"github.com/kpar/kpar/internal/lab/labrun"
	"github.com/kpar/kpar/internal/render"
	"github.com/kpar/kpar/internal/results"
	"github.com/kpar/kpar/internal/testkit"
)

func cell(setting, fault string, k Counts) Cell {
	s, _ := LookupSetting(setting)
	c := Cell{Name: CellName(setting, fault), Setting: s, Fault: fault, Counts: k,
		Kcat: KcatCheck{Ran: true, Records: k.Records}, Consumer: ConsumerCheck{CaughtUp: true},
		Reads: Reads{Disagreements: []Disagreement{}}}
	c.Repeats = repeatsOf(CellSpec{Setting: s, Fault: fault})
	return c
}

func result(cells ...Cell) Result {
	r := Result{Run: labrun.New(Kind, nil, 42, nil), OwnCluster: true, Cells: cells}
	r.judge()
	return r
}

func markdown(t *testing.T, r Result) string {
	t.Helper()
	return render.Markdown(Doc(r))
}

func TestLessonsFollowTheCounts(t *testing.T) {
	lossy := result(
		cell("acks1-if5", FaultLeaderKill, Counts{Sent: 100, Acked: 100, Lost: 7}),
		cell("all-if5", FaultFreeze, Counts{Sent: 100, Acked: 100, Duplicated: 3}),
		cell("all-idem", FaultLeaderKill, Counts{Sent: 100, Acked: 100}),
		cell("all-idem", FaultFreeze, Counts{Sent: 100, Acked: 100}),
	)
	md := markdown(t, lossy)
	testkit.Contains(t, "markdown", md,
		"acks=1 idempotence=off in-flight=5 lost 7 acknowledged records on leader-kill",
		"acks=all idempotence=off in-flight=5 duplicated 3 records on freeze",
		"acks=all idempotence=on in-flight=5 lost, duplicated and reordered nothing on leader-kill, freeze",
		"acks=1 lost 7 acknowledged records over 1 cell, acks=all 0 over 3 cells",
		"acks=all without it duplicated 3 records over 1 cell; with it none over 2 cells",
		"acks=all with idempotence under a fault: 0 lost and 0 duplicated in 2 fault cells (target no acknowledged record lost or duplicated: met)",
		"under a fault: lost in acks1-if5/leader-kill (7) (target a weaker setting loses acknowledged records: shown)",
		"kept lost and duplicated at 0",
		"kpar lab producer --seed 42 --cell acks1-if5/leader-kill",
		"| 7* |",
	)

	// Other counts, other sentences: nothing lost by the weaker setting, a
	// duplicate from the safe one.
	clean := result(
		cell("acks1-if5", FaultLeaderKill, Counts{Sent: 100, Acked: 100}),
		cell("all-idem", FaultLeaderKill, Counts{Sent: 100, Acked: 100, Duplicated: 1}),
	)
	md = markdown(t, clean)
	testkit.Contains(t, "markdown", md,
		"acks=1 idempotence=off in-flight=5 lost, duplicated and reordered nothing on leader-kill",
		"acks=all idempotence=on in-flight=5 duplicated 1 record on leader-kill",
		"under a fault: 1 cell of 1 fault cell: all-idem/leader-kill: 0 lost, 1 duplicated (target no acknowledged record lost or duplicated: missed)",
		"under a fault: none of 1 weaker fault cell lost an acknowledged record (target a weaker setting loses acknowledged records: not shown)",
		"did not keep lost and duplicated at 0",
	)
	noDup := markdown(t, result(cell("all-if5", FaultLeaderKill, Counts{}), cell("all-idem", FaultLeaderKill, Counts{})))
	if !strings.Contains(noDup, "acks=all duplicated nothing in this run, without it (1 cell) or with it (1 cell)") {
		t.Errorf("no duplicates on either side, yet:\n%s", noDup)
	}
}

// A MISSED safe cell gets no lesson that idempotence kept anything at 0,
// and no causal "by protocol" anywhere; every verdict the views print is
// judged from the cells, not read from the stored targets.
func TestAMissedSafeCellGetsNoProtocolLesson(t *testing.T) {
	r := result(cell("all-idem", FaultLeaderKill, Counts{Sent: 100, Acked: 100}), cell("all-idem", FaultFreeze, Counts{Sent: 100, Acked: 100}))
	if md := markdown(t, r); !strings.Contains(md, "kept lost and duplicated at 0") {
		t.Fatalf("clean safe cells, no repeat sentence:\n%s", md)
	}
	// The stored verdicts say met; the cell now says 2 lost.
	r.Cells[1].Counts.Lost = 2
	md := markdown(t, r)
	testkit.Lacks(t, "a safe cell lost 2, yet the markdown", md, "kept lost and duplicated at 0", "by protocol", "because", ": met)")
	testkit.Contains(t, "markdown", md, "under a fault: 1 cell of 2 fault cells: all-idem/freeze: 2 lost, 0 duplicated (target no acknowledged record lost or duplicated: missed)", "does not show the guarantee holding", "lost 2 acknowledged records on freeze")
}

// The unclean-election lesson counts records the consumer read during the
// fault that were gone afterwards, or says nothing.
func TestUncleanLessonCountsTruncatedRecordsOrSaysNothing(t *testing.T) {
	on := cell("acks1-if5+unclean", FaultLeaderKill, Counts{})
	off := cell("acks1-if5", FaultLeaderKill, Counts{})
	lessons, _ := Judge([]Cell{on, off})
	for _, l := range lessons {
		if strings.HasPrefix(l.Sentence, "unclean leader election") {
			t.Errorf("nothing truncated, yet: %s", l.Sentence)
		}
	}
	on.Consumer.NotInTopic = 5
	lessons, _ = Judge([]Cell{on, off})
	var got string
	for _, l := range lessons {
		if strings.HasPrefix(l.Sentence, "unclean") {
			got = l.Sentence
		}
	}
	if want := "unclean leader election: 5 records the consumer had read during a fault (committed then) were gone from the topic afterwards over 1 cell with it on, 0 over 1 cell with it off."; got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// The kcat cross-check has one wording wherever it is shown: the cell line
// (internal/cli) and the document's table, in Markdown and the report's
// HTML, all take KcatText; no other word for a mismatch is written.
func TestKcatTextFollowsTheReads(t *testing.T) {
	c := cell("acks1-if5", FaultLeaderKill, Counts{Records: 100})
	c.Kcat.Records = 100
	if got := KcatText(c); got != "kcat agrees with franz-go (100 records)" {
		t.Errorf("agreeing: %q", got)
	}
	c.Kcat.Records = 119
	c.Reads = Reads{Repeated: true, Disagreements: []Disagreement{{Seen: ReaderKcat, NotSeen: ReaderFranzGo, Records: 19, Acked: 19}}}
	want := "kcat differs from franz-go: kcat read 119 records, franz-go 100; 19 seen by kcat only, 0 by franz-go only, after a second read"
	if got := KcatText(c); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	d := Doc(result(c))
	for name, out := range map[string]string{"markdown": render.Markdown(d), "html": string(render.HTML(d))} {
		if !strings.Contains(out, want) || strings.Count(strings.ToLower(out), "differs") != strings.Count(out, want) {
			t.Errorf("%s does not carry the kcat text, or words a mismatch otherwise:\n%s", name, out)
		}
	}
	c.Kcat = KcatCheck{Note: "kcat not found on PATH: not cross-checked"}
	if got := KcatText(c); got != "kcat not run: kcat not found on PATH: not cross-checked" {
		t.Errorf("not run: %q", got)
	}
}

// The markdown names what each cell's counts say: under acks=0 nothing is
// acknowledged, in the counts, the sentences, the table; a failed record
// written anyway, the readers' disagreement, the producer's errors and the
// consumer's misses are said with their figures.
func TestMarkdownSaysWhatEachCountMeans(t *testing.T) {
	acks0 := cell("acks0-if5", FaultLeaderKill, Counts{Sent: 10, Written: 10, Unseen: 4})
	errs := cell("acks1-if5", FaultFreeze, Counts{Sent: 10, Acked: 8, Failed: 2, FailedPresent: 1, Disagreed: 3,
		Errors: map[string]int{"record delivery timeout": 2}})
	errs.Reads.Disagreements = []Disagreement{{Seen: ReaderConsumer, NotSeen: ReaderFranzGo, Records: 3, Acked: 3}}
	errs.Consumer = ConsumerCheck{Missed: 4}
	for _, tc := range []struct {
		c     Cell
		wants []string
	}{
		{acks0, []string{"4 records sent on leader-kill reached no reader",
			"Under acks=0 no record is acknowledged: 10 records handed to the socket count as sent",
			"none (acks=0; 10 written)", "none acknowledged (acks=0); 4* of 10 sent unseen"}},
		{errs, []string{"wrote 1 record on freeze that were reported failed",
			"the readers disagreed on 3 records on freeze (seen by consumer but not franz-go: 3)",
			"Producer errors: 2 record delivery timeout", "| 3*: seen by consumer but not franz-go: 3 |",
			"4 (never caught up)", "missed 4 records the settled reads saw, in 1 cell of 1"}},
	} {
		testkit.Contains(t, tc.c.Name+" markdown", markdown(t, result(tc.c)), tc.wants...)
	}
	lessons, _ := Judge([]Cell{acks0})
	if strings.Contains(lessons[0].Sentence, "acknowledged record") || strings.Contains(lessons[0].Sentence, "acked") {
		t.Errorf("acks=0 sentence speaks of acknowledgement: %s", lessons[0].Sentence)
	}
}

func TestViewsWriteMarkdownAndCharts(t *testing.T) {
	r := result(
		cell("acks1-if5", FaultLeaderKill, Counts{Lost: 7}),
		cell("all-idem", FaultLeaderKill, Counts{}),
		cell("acks0-if5", FaultLeaderKill, Counts{Unseen: 3}),
	)
	views := render.Views(Doc(r))
	dir := t.TempDir()
	if _, err := results.Write(dir, "lab-producer.json", r, views...); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"lab-producer.json", "lab-producer.md", "lab-producer-lost.svg", "lab-producer-lost.png",
		"lab-producer-duplicated.svg", "lab-producer-duplicated.png"} {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	svg, _ := os.ReadFile(filepath.Join(dir, "lab-producer-lost.svg"))
	if strings.Contains(string(svg), "acks0-if5") || !strings.Contains(string(svg), "acks1-if5") {
		t.Errorf("the lost chart must leave out acks=0, whose records are never acknowledged")
	}
	var back Result
	if err := Kind.Read(filepath.Join(dir, "lab-producer.json"), &back); err != nil {
		t.Fatal(err)
	}
	if back.Cells[0].Counts.Lost != 7 || back.Lessons[0].Sentence != r.Lessons[0].Sentence {
		t.Fatalf("round trip lost data: %+v", back.Cells[0].Counts)
	}
}

// The reads' own story: a read that stopped early and a repeated round are
// said, with the figures.
func TestReadNotesSayWhereAReadStoppedAndWhatTheRepeatFound(t *testing.T) {
	c := cell("acks1-if5", FaultLeaderKill, Counts{})
	c.Reads = Reads{Ends: []int64{10, 20}, FranzGo: []int64{10, 17}, Kcat: []int64{10, 20}, Repeated: true, FirstEnds: []int64{10, 15},
		First: []Disagreement{{Seen: ReaderKcat, NotSeen: ReaderFranzGo, Records: 5}}}
	got := strings.Join(readNotes(c), " | ")
	want := "the franz-go read stopped early: partition 1 at 17 of 20 | the first reads disagreed (seen by kcat but not franz-go: 5); settled and read again, the high watermarks had moved by 5 records in all"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if md := markdown(t, result(c)); !strings.Contains(md, "## Reads") || !strings.Contains(md, "partition 1 at 17 of 20") {
		t.Errorf("markdown lacks the read notes:\n%s", md)
	}
	if n := readNotes(cell("all-idem", FaultFreeze, Counts{})); len(n) != 0 {
		t.Errorf("nothing to say, yet %v", n)
	}
}

// The per-pair text counts every record and says how many of them the
// producer was never told were acknowledged (or written, under acks=0).
func TestReadersTextSaysWhatWasNotAcknowledged(t *testing.T) {
	c := cell("acks1-if5", FaultLeaderKill, Counts{Disagreed: 2})
	c.Reads.Disagreements = []Disagreement{{Seen: ReaderConsumer, NotSeen: ReaderKcat, Records: 5, Acked: 2}, {Seen: ReaderFranzGo, NotSeen: ReaderKcat, Records: 1, Acked: 1}}
	want := "seen by consumer but not kcat: 5 (3 of them failed or unanswered), seen by franz-go but not kcat: 1"
	if got := ReadersText(c); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// The answer is the two targets judged from the cells (with their target and
// verdict, never written into the text), then what the readers disagreed on
// and what the consumer missed; a target without a cell gets no verdict.
func TestDocAnswersWithTheTargetsJudgedFromTheCells(t *testing.T) {
	dis := cell("acks1-if5", FaultFreeze, Counts{Sent: 100, Acked: 100, Lost: 7, Disagreed: 2})
	dis.Reads.Disagreements = []Disagreement{{Seen: ReaderKcat, NotSeen: ReaderFranzGo, Records: 2, Acked: 2}}
	dis.Consumer.Missed = 5
	r := result(dis, cell("all-idem", FaultFreeze, Counts{Sent: 100, Acked: 100}), cell("acks0-if5", FaultFreeze, Counts{Unseen: 3}))
	d := Doc(r)
	want := []doc.Finding{
		{Text: "acks=all with idempotence under a fault: 0 lost and 0 duplicated in 1 fault cell", Target: "no acknowledged record lost or duplicated", Verdict: "met"},
		{Text: "Weaker settings (acks=1, or acks=all without idempotence) under a fault: lost in acks1-if5/freeze (7)", Target: "a weaker setting loses acknowledged records", Verdict: "shown"},
		{Text: "Records the readers disagreed on, counted apart from lost: acks1-if5/freeze 2 (seen by kcat but not franz-go: 2)."},
		{Text: "The kpar parallel consumer reading during the faults missed 5 records the settled reads saw, in 1 cell of 3."},
	}
	if len(d.Answer) != len(want) {
		t.Fatalf("answer %+v", d.Answer)
	}
	for i, f := range d.Answer {
		if f.Text != want[i].Text || f.Target != want[i].Target || f.Verdict != want[i].Verdict {
			t.Errorf("finding %d:\ngot  %+v\nwant %+v", i, f, want[i])
		}
	}
	var charts []string
	for _, c := range d.Charts() {
		charts = append(charts, c.Name)
		for _, p := range c.Panels {
			if c.Name == "lab-producer-lost" && p.Title == "acks=0" {
				t.Errorf("the lost chart has an acks=0 panel, whose records are never acknowledged")
			}
		}
	}
	if strings.Join(charts, " ") != "lab-producer-lost lab-producer-duplicated" {
		t.Errorf("charts %v", charts)
	}

	// No safe cell, nothing clean: no verdict for the safe setting, the
	// weaker one missed nothing it could show, and no answer beyond the two.
	d = Doc(result(cell("acks1-if5", FaultLeaderKill, Counts{Sent: 10, Acked: 10})))
	if len(d.Answer) != 2 || d.Answer[0].Target != "" || d.Answer[0].Text != "acks=all with idempotence under a fault: no fault cell with acks=all and idempotence in this run." ||
		d.Answer[1].Verdict != "not shown" {
		t.Errorf("answer without a safe cell: %+v", d.Answer)
	}
}
