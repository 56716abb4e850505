package consumer

import (
	"strings"
	"testing"

	"github.com/kpar/kpar/internal/pcmap"
	"github.com/kpar/kpar/internal/render"
)

// A pc-* cell's lost records are told by the commit that first counted
// them done and how, in the lab's document; cells without PC commits add
// nothing.
func TestTheDocumentNamesTheCommitThatLostEachPCRecord(t *testing.T) {
	snaps := []pcmap.Snapshot{
		{Label: "kill 1", Partitions: []pcmap.Partition{{Topic: "in", Partition: 0, Committed: 10, Highest: 20, Incomplete: []int64{10, 12}}}},
		{Label: "end", Partitions: []pcmap.Partition{{Topic: "in", Partition: 0, Committed: 40, Highest: 39}}},
	}
	pc := &PCCommits{Snapshots: snaps, Lost: []PCLost{
		{Seq: 1, Offset: 11, Claimed: "kill 1", By: pcmap.ByMap},
		{Seq: 2, Offset: 13, Claimed: "kill 1", By: pcmap.ByMap},
		{Seq: 3, Offset: 5, Claimed: "kill 1", By: pcmap.ByOffset},
		{Seq: 4, Offset: 50},
	}}
	r := Result{Cells: []Cell{{Strategy: "pc-key", Scenario: "ooo+kill", PC: pc}, {Strategy: "lib-key", Scenario: "ooo+kill"}}}
	md := render.Markdown(Doc(r))
	for _, want := range []string{
		"pc-key/ooo+kill lost 4 records that no process ever processed",
		"2 counted done by the commit read after kill 1 through its offset map",
		"1 counted done by the commit read after kill 1 through its committed offset",
		"1 counted done by none of the commits",
		"Parallel Consumer's commits at each kill",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the document lacks %q:\n%s", want, md)
		}
	}
	clean := render.Markdown(Doc(Result{Cells: []Cell{{Strategy: "pc-key", Scenario: "kill", PC: &PCCommits{Snapshots: snaps}}}}))
	if !strings.Contains(clean, "No pc-* cell lost a record in this run; 1 commit read after 1 kill counted no unprocessed record done.") {
		t.Errorf("a run whose pc-* cells lost nothing does not say so:\n%s", clean)
	}
	if got := pcBlocks(Result{Cells: []Cell{{Strategy: "lib-key"}}}); got != nil {
		t.Errorf("a run without pc-* cells got PC blocks: %+v", got)
	}
}
