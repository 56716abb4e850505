package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kpar/kpar/internal/trogdor"
)

// trogdorResult is a distributed produce sweep as the package writes it:
// two steps of agents, each with its in-process kpar run.
func trogdorResult() trogdor.Result {
	r := trogdor.Result{Header: trogdor.Kind.Header([]string{"kpar", "trogdor", "sweep", "--steps", "1,2"}),
		TrogdorVersion: trogdor.Version, Workload: trogdor.Produce, Topic: "kpar-trogdor", Partitions: 4, Records: 20000, SharedHost: true, Seed: 5,
		Steps: []trogdor.Step{
			{Agents: 1, Records: 20000, Written: 20000, SpanMs: 1000, RecordsPerSec: 20000, PerAgent: []trogdor.AgentRun{{Node: "agent-0", Records: 20000, RecordsPerSec: 20000}},
				InProcess: &trogdor.KparRun{Clients: 1, Records: 20000, RecordsPerSec: 60000}},
			{Agents: 2, Records: 40000, Written: 40000, SpanMs: 1900, RecordsPerSec: 21000, PerAgent: []trogdor.AgentRun{{Node: "agent-0", RecordsPerSec: 11000}, {Node: "agent-1", RecordsPerSec: 10500}},
				InProcess: &trogdor.KparRun{Clients: 2, Records: 40000, RecordsPerSec: 90000}},
		}}
	r.Analyze()
	r.Finish()
	return r
}

// A distributed sweep's result lands in the producer section, after the
// in-process bench's default directory, with its own document: the
// agents' saturation, and one chart with the agents' curve beside the
// in-process one. A version 1 file is refused in one line.
func TestTrogdorResultIsAPartOfTheProducerSectionWithBothCurves(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "results")
	writeJSON(t, filepath.Join(dir, "trogdor", "trogdor.json"), trogdorResult())
	old := trogdorResult()
	old.Version = 1
	writeJSON(t, filepath.Join(dir, "trogdor-old", "trogdor.json"), old)
	pg, err := Write(dir, filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	sec := pg.Sections[0]
	if sec.ID != "produce" || len(sec.Parts) != 1 {
		t.Fatalf("produce section: %+v", sec)
	}
	p := sec.Parts[0]
	if !strings.HasPrefix(p.Doc.Title, "Distributed produce sweep") || p.Facts.Seed != "5" || !strings.Contains(strings.Join(p.Facts.Versions, ","), "Trogdor "+trogdor.Version) {
		t.Errorf("part: title %q facts %+v", p.Doc.Title, p.Facts)
	}
	if lead := string(p.Lead()); !strings.Contains(lead, "Every agent ran on this one host") {
		t.Errorf("lead %q", lead)
	}
	if len(sec.Refused) != 1 || !strings.Contains(sec.Refused[0].Why, "version 1 is older than this kpar reads (2)") {
		t.Errorf("refused: %+v", sec.Refused)
	}
	html, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	page := string(html)
	for _, want := range []string{"Agents saturated at 1: going to 2 added +5.0% records/s", "in-process kpar", "agents (Trogdor " + trogdor.Version + ")", "<svg"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
