package producer

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kpar/kpar/internal/results"
)

func cell(setting, fault string, k Counts) Cell {
	s, _ := LookupSetting(setting)
	c := Cell{Name: CellName(setting, fault), Setting: s, Fault: fault, Counts: k,
		Kcat: KcatCheck{Ran: true, Records: k.Records, Agrees: true}, Consumer: ConsumerCheck{CaughtUp: true}}
	c.Exact, c.TimingDependent, c.Why = exactness(CellSpec{Setting: s, Fault: fault})
	return c
}

func result(cells ...Cell) Result {
	r := Result{Header: results.NewHeader(Schema, SchemaVersion, nil), Seed: 42, OwnCluster: true, Cells: cells}
	r.judge()
	return r
}

func markdown(t *testing.T, r Result) string {
	t.Helper()
	var b bytes.Buffer
	if err := Markdown(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestLessonsFollowTheCounts(t *testing.T) {
	lossy := result(
		cell("acks1-if5", FaultLeaderKill, Counts{Sent: 100, Acked: 100, AckedLost: 7}),
		cell("all-if5", FaultFreeze, Counts{Sent: 100, Acked: 100, Duplicated: 3}),
		cell("all-idem", FaultLeaderKill, Counts{Sent: 100, Acked: 100}),
		cell("all-idem", FaultFreeze, Counts{Sent: 100, Acked: 100}),
	)
	md := markdown(t, lossy)
	for _, want := range []string{
		"acks=1 idempotence=off in-flight=5 lost 7 acknowledged records on leader-kill",
		"acks=all idempotence=off in-flight=5 duplicated 3 records on freeze",
		"acks=all idempotence=on in-flight=5 lost, duplicated and reordered nothing on leader-kill, freeze",
		"acks=1 lost 7 acknowledged records over 1 cell, acks=all 0 over 3 cells",
		"acks=all without it duplicated 3 records over 1 cell",
		"with it none over 2 cells",
		"lost 0 acknowledged records and duplicated 0 in all 2 fault cells: met",
		"a weaker setting lost acknowledged records: met, in acks1-if5/leader-kill",
		"kpar lab producer --seed 42 --cell acks1-if5/leader-kill",
		"| 7* |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q\n%s", want, md)
		}
	}

	// Other counts, other sentences: nothing lost by the weaker setting, a
	// duplicate from the safe one.
	clean := result(
		cell("acks1-if5", FaultLeaderKill, Counts{Sent: 100, Acked: 100}),
		cell("all-idem", FaultLeaderKill, Counts{Sent: 100, Acked: 100, Duplicated: 1}),
	)
	md = markdown(t, clean)
	for _, want := range []string{
		"acks=1 idempotence=off in-flight=5 lost, duplicated and reordered nothing on leader-kill",
		"acks=all idempotence=on in-flight=5 duplicated 1 record on leader-kill",
		"MISSED",
		"no weaker setting lost an acknowledged record in this run: not shown",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q\n%s", want, md)
		}
	}
	noDup := markdown(t, result(cell("all-if5", FaultLeaderKill, Counts{}), cell("all-idem", FaultLeaderKill, Counts{})))
	if !strings.Contains(noDup, "acks=all duplicated nothing in this run, without it (1 cell) or with it (1 cell)") {
		t.Errorf("no duplicates on either side, yet:\n%s", noDup)
	}
	if clean.Targets.SafeClean || len(clean.Targets.WeakerLoss) != 0 {
		t.Errorf("targets %+v", clean.Targets)
	}
	if !lossy.Targets.SafeClean || lossy.Targets.SafeCells != 2 {
		t.Errorf("targets %+v", lossy.Targets)
	}
}

func TestLessonsNameErrorsAcks0AndKcatDisagreement(t *testing.T) {
	c := cell("acks0-if5+unclean", FaultFreeze, Counts{Sent: 10, Acked: 8, Failed: 2, FailedPresent: 1,
		Errors: map[string]int{"record delivery timeout": 2}})
	c.Kcat = KcatCheck{Ran: true, Agrees: false, Note: "kcat read 9 records"}
	c.Consumer = ConsumerCheck{Missed: 4}
	md := markdown(t, result(c, cell("acks0-if5", FaultFreeze, Counts{})))
	for _, want := range []string{
		"wrote 1 record on freeze that were reported failed",
		"counts as acked once the client wrote it to the socket",
		"Producer errors: 2 record delivery timeout",
		"DIFFERS: kcat read 9 records",
		"4 (never caught up)",
		"missed 4 records the topic holds",
		"unclean leader election: settings with it on lost 0",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q\n%s", want, md)
		}
	}
}

func TestViewsWriteMarkdownAndCharts(t *testing.T) {
	r := result(
		cell("acks1-if5", FaultLeaderKill, Counts{AckedLost: 7}),
		cell("all-idem", FaultLeaderKill, Counts{}),
	)
	views, err := Views(r)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := results.Write(dir, "lab-producer.json", r, views...); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"lab-producer.json", "lab-producer.md", "lab-producer-acked_lost.svg", "lab-producer-acked_lost.png",
		"lab-producer-duplicated.svg", "lab-producer-duplicated.png"} {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	var back Result
	if err := results.Read(filepath.Join(dir, "lab-producer.json"), Schema, SchemaVersion, &back); err != nil {
		t.Fatal(err)
	}
	if back.Cells[0].Counts.AckedLost != 7 || back.Lessons[0].Sentence != r.Lessons[0].Sentence {
		t.Fatalf("round trip lost data: %+v", back.Cells[0].Counts)
	}
}
