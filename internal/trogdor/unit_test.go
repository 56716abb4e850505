package trogdor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/render"
)

func TestSaturationIsTheStepBeforeTheFirstGainUnderTenPercent(t *testing.T) {
	steps := []Step{{Agents: 1, RecordsPerSec: 100}, {Agents: 2, RecordsPerSec: 170}, {Agents: 4, RecordsPerSec: 180}, {Agents: 8, RecordsPerSec: 400}}
	s := FindSaturation(steps)
	if !s.Reached || s.Agents != 2 || s.NextAgents != 4 {
		t.Fatalf("got %+v, want saturation at 2 agents (4 adds 5.9%%)", s)
	}
	// A 10% gain exactly is still a gain: the boundary is not saturation.
	s = FindSaturation([]Step{{Agents: 1, RecordsPerSec: 100}, {Agents: 2, RecordsPerSec: 110.0001}})
	if s.Reached || s.Agents != 2 {
		t.Fatalf("got %+v, want not saturated up to 2 agents", s)
	}
}

func TestStepRateIsAllRecordsOverTheAgentsCommonSpan(t *testing.T) {
	s := Step{Agents: 2, PerAgent: []AgentRun{
		{Node: "a", Records: 1000, StartedMs: 1000, DoneMs: 2000, P99LatencyMs: 7},
		{Node: "b", Records: 1000, StartedMs: 1500, DoneMs: 3000, P99LatencyMs: 9},
	}}
	s.fill(100)
	if s.Records != 2000 || s.SpanMs != 2000 || s.RecordsPerSec != 1000 || s.WorstP99Ms != 9 {
		t.Fatalf("got records %d span %d rate %.1f worst p99 %d, want 2000, 2000, 1000, 9", s.Records, s.SpanMs, s.RecordsPerSec, s.WorstP99Ms)
	}
	if s.PerAgent[0].RecordsPerSec != 1000 || s.PerAgent[1].RecordsPerSec < 666 || s.PerAgent[1].RecordsPerSec > 667 {
		t.Fatalf("per-agent rates %v", s.PerAgent)
	}
	if s.MBPerSec != 0.1 {
		t.Fatalf("MB/s %.3f, want 0.1 (1000 records/s x 100 B)", s.MBPerSec)
	}
}

func TestSettingsValidateNamesTheFlag(t *testing.T) {
	ok := DefaultConfig().Settings
	if err := ok.Validate(); err != nil {
		t.Fatalf("defaults refused: %v", err)
	}
	for flag, mut := range map[string]func(*Settings){
		"--acks":          func(s *Settings) { s.Acks = "2" },
		"--idempotence":   func(s *Settings) { s.Acks = "1" },
		"--compression":   func(s *Settings) { s.Compression = "brotli" },
		"--linger":        func(s *Settings) { s.Linger = 1500 * time.Microsecond },
		"--batch-size":    func(s *Settings) { s.BatchBytes = 100 },
		"--max-in-flight": func(s *Settings) { s.MaxInFlight = 6 },
		"--record-size":   func(s *Settings) { s.RecordBytes = 0 },
		"--rate":          func(s *Settings) { s.Rate = -1 },
	} {
		s := ok
		mut(&s)
		err := s.Validate()
		if err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("%s: got %v, want an error naming it", flag, err)
		}
	}
	c := DefaultConfig()
	c.Steps = []int{2, 4}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "--calibrate") {
		t.Errorf("steps without 1 under calibration: got %v", err)
	}
	c.Calibrate = false
	if err := c.Validate(); err != nil {
		t.Errorf("steps 2,4 without calibration refused: %v", err)
	}
	c.Agents = []Process{{Name: "agent-0"}, {Name: "agent-1"}, {Name: "agent-2"}}
	if err := c.CheckAgents(); err == nil || !strings.Contains(err.Error(), "--steps") {
		t.Errorf("4 agents asked of 3: got %v", err)
	}
}

func TestNodesFileNamesCoordinatorAndAgentsWithTrogdorsDefaultPorts(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nodes")
	os.WriteFile(p, []byte("# hosts\ncoordinator load0.example\nagent-a load1.example:9000\nagent-b load2.example # second\n"), 0o644)
	coord, agents, err := ParseNodesFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if coord.Host != "load0.example" || coord.Port != DefaultCoordinatorPort {
		t.Fatalf("coordinator %+v", coord)
	}
	if len(agents) != 2 || agents[0].Port != 9000 || agents[1].Port != DefaultAgentPort || agents[1].Host != "load2.example" {
		t.Fatalf("agents %+v", agents)
	}
	os.WriteFile(p, []byte("agent-a load1\n"), 0o644)
	if _, _, err := ParseNodesFile(p); err == nil || !strings.Contains(err.Error(), "coordinator") {
		t.Fatalf("no coordinator line: got %v", err)
	}
	os.WriteFile(p, []byte("coordinator h\nagent-a h:x\n"), 0o644)
	if _, _, err := ParseNodesFile(p); err == nil || !strings.Contains(err.Error(), ":2") {
		t.Fatalf("bad port: got %v, want the line named", err)
	}
}

func TestPlanWritesPlatformAndStartsNothing(t *testing.T) {
	home := t.TempDir()
	p := filepath.Join(home, "nodes")
	os.WriteFile(p, []byte("coordinator c1\nagent-0 h1\nagent-1 h2\n"), 0o644)
	st, text, err := Plan(home, p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(st.Platform)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"trogdor.agent.port": 8888`, `"hostname": "h2"`, `"trogdor.coordinator.port": 8889`, "BasicPlatform"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("platform file lacks %s:\n%s", want, b)
		}
	}
	if !strings.Contains(text, "on h1:") || !strings.Contains(text, "-n agent-1") || !strings.Contains(text, coordinatorClass) {
		t.Errorf("instructions:\n%s", text)
	}
	if st.Coordinator.Pid != 0 || st.Agents[0].Alive() {
		t.Errorf("a remote plan recorded a process: %+v", st)
	}
	if stopped, err := Down(home); err != nil || len(stopped) != 0 {
		t.Errorf("down of a plan: stopped %v, %v", stopped, err)
	}
}

// The document's answer follows the figures: the shared host, where the
// sweep saturated, sends Trogdor counted that never landed, the
// calibration; the steps are the body's table, every agent in the details.
func TestDocFindingsFollowTheSteps(t *testing.T) {
	r := Result{TrogdorVersion: "4.4.0", Topic: "t", Partitions: 3, Records: 1000, SharedHost: true,
		Steps: []Step{{Agents: 1, Records: 1000, Written: 1000, RecordsPerSec: 100, PerAgent: []AgentRun{{Node: "a", RecordsPerSec: 100}}},
			{Agents: 2, Records: 2000, Written: 1990, RecordsPerSec: 105, PerAgent: []AgentRun{{Node: "a", RecordsPerSec: 50}, {Node: "b", RecordsPerSec: 55}}}},
		Kpar: &KparRun{RecordsPerSec: 300}, KparPerTrogdor: 3}
	r.Saturation = FindSaturation(r.Steps)
	d := Doc(r)
	var got []string
	for _, f := range d.Answer {
		got = append(got, f.Text)
	}
	text := strings.Join(got, "\n")
	for _, want := range []string{"Every agent ran on this one host (cores unknown)", "Saturated at 1 agent(s): going to 2 added +5.0% records/s",
		"Step 2: the agents reported 2000 records sent but the topic grew by 1990", "kpar's figure is 3.00 times Trogdor's"} {
		if !strings.Contains(text, want) {
			t.Errorf("answer lacks %q:\n%s", want, text)
		}
	}
	if tb := d.Body[1].Table; tb == nil || len(tb.Rows) != 3 || tb.Rows[1][3] != "50-55" {
		t.Errorf("steps table %+v", d.Body[1].Table)
	}
	if tb := d.Details[0].Table; tb == nil || len(tb.Rows) != 3 {
		t.Errorf("agents table %+v", d.Details[0].Table)
	}
	if vs := render.Views(Doc(r)); len(vs) != 1 || vs[0].Name != "trogdor.md" {
		t.Errorf("views %+v", vs)
	}
}
