package producer

import (
	"strings"
	"testing"
)

// The cell line shows the kcat cross-check and the readers' disagreement
// in the lab's own words (KcatText, ReadersText), the
// same text as the Markdown and the report; acks=0 is never "acked".
func TestCellLineUsesTheLabsTexts(t *testing.T) {
	s, _ := LookupSetting("acks1-if5")
	c := Cell{Name: "acks1-if5/leader-kill", Setting: s, Fault: FaultLeaderKill,
		Counts: Counts{Sent: 120, Acked: 120, Records: 100, Lost: 1, Disagreed: 19},
		Kcat:   KcatCheck{Ran: true, Records: 119},
		Reads: Reads{Disagreements: []Disagreement{
			{Seen: ReaderKcat, NotSeen: ReaderFranzGo, Records: 19, Acked: 19}}}}
	line := CellLine(1, 1, c)
	for _, want := range []string{KcatText(c), "readers: " + ReadersText(c), "LOST 1", "readers disagreed 19",
		"kcat differs from franz-go: kcat read 119 records, franz-go 100"} {
		if !strings.Contains(line, want) {
			t.Errorf("line lacks %q:\n%s", want, line)
		}
	}
	s0, _ := LookupSetting("acks0-if5")
	c0 := Cell{Name: "acks0-if5/leader-kill", Setting: s0, Fault: FaultLeaderKill,
		Counts: Counts{Sent: 10, Written: 10, Unseen: 2}, Kcat: KcatCheck{Ran: true}}
	line = CellLine(1, 1, c0)
	if !strings.Contains(line, "acked none (acks=0; 10 written)") || !strings.Contains(line, "LOST none acknowledged (acks=0); 2 of 10 sent unseen") {
		t.Errorf("acks=0 line: %s", line)
	}
}
