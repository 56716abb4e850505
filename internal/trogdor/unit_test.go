package trogdor

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/render"
	"github.com/kpar/kpar/internal/results"
)

func TestSaturationIsTheStepBeforeTheFirstGainUnderTenPercent(t *testing.T) {
	s := FindSaturation([]int{1, 2, 4, 8}, []float64{100, 170, 180, 400})
	if !s.Reached || s.Agents != 2 || s.NextAgents != 4 {
		t.Fatalf("got %+v, want saturation at 2 agents (4 adds 5.9%%)", s)
	}
	// A 10% gain exactly is still a gain: the boundary is not saturation.
	s = FindSaturation([]int{1, 2}, []float64{100, 110.0001})
	if s.Reached || s.Agents != 2 {
		t.Fatalf("got %+v, want not saturated up to 2 agents", s)
	}
}

func TestStepRateIsAllRecordsOverTheAgentsCommonSpan(t *testing.T) {
	s := Step{Agents: 2, PerAgent: []AgentRun{
		{Node: "a", Records: 1000, StartedMs: 1000, DoneMs: 2000, Latency: &Latency{P99Ms: 7}},
		{Node: "b", Records: 1000, StartedMs: 1500, DoneMs: 3000, Latency: &Latency{P99Ms: 9}},
	}}
	s.fill(100)
	if s.Records != 2000 || s.SpanMs != 2000 || s.RecordsPerSec != 1000 || s.WorstP99Ms == nil || *s.WorstP99Ms != 9 {
		t.Fatalf("got records %d span %d rate %.1f worst p99 %v, want 2000, 2000, 1000, 9", s.Records, s.SpanMs, s.RecordsPerSec, s.WorstP99Ms)
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
	if err := c.Validate(); err != nil {
		t.Errorf("steps 2,4 refused: %v", err)
	}
	c.Workload = "fetch"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "--workload") {
		t.Errorf("workload fetch: got %v", err)
	}
	// The consume workload splits partitions among agents: 4 agents need 4.
	c.Workload, c.Partitions = Consume, 3
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "--partitions 3") {
		t.Errorf("consume, 3 partitions for 4 agents: got %v", err)
	}
	c.Partitions = 4
	if err := c.Validate(); err != nil {
		t.Errorf("consume, 4 partitions for 4 agents refused: %v", err)
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

// The document's answer follows the figures: the shared host, where each
// curve saturated, the bottleneck, sends Trogdor counted that never landed,
// the calibration; the chart has both curves, the steps are the body's
// table, every agent in the details.
func TestDocFindingsFollowTheSteps(t *testing.T) {
	r := Result{TrogdorVersion: "4.3.1", Workload: Produce, Topic: "t", Partitions: 3, Records: 1000, SharedHost: true,
		Steps: []Step{{Agents: 1, Records: 1000, Written: 1000, RecordsPerSec: 100, PerAgent: []AgentRun{{Node: "a", RecordsPerSec: 100}},
			InProcess: &KparRun{Clients: 1, RecordsPerSec: 300}},
			{Agents: 2, Records: 2000, Written: 1990, RecordsPerSec: 105, PerAgent: []AgentRun{{Node: "a", RecordsPerSec: 50}, {Node: "b", RecordsPerSec: 55}},
				InProcess: &KparRun{Clients: 2, RecordsPerSec: 500}, CPU: &CPU{WallMs: 1000, BrokerCores: ptr(0.9), AgentCores: ptr(1.0)}}}}
	r.Machine = &results.Machine{Cores: 2}
	r.Analyze()
	d := Doc(r)
	var got []string
	for _, f := range d.Answer {
		got = append(got, f.Text)
	}
	text := strings.Join(got, "\n")
	for _, want := range []string{"Every agent ran on this one host (2 cores), as did kpar's in-process clients", "Agents saturated at 1: going to 2 added +5.0% records/s",
		"In-process kpar clients: not saturated up to 2, the last step added +66.7%", "At 2: 105 records/s from the agents, 500 from as many kpar clients in one process (4.76 times)",
		"Bottleneck at 1 agent(s), judged from CPU shares: unknown (no CPU figures for the step judged)", "Step 2: the agents reported 2000 records but the topic grew by 1990", "kpar's figure is 3.00 times Trogdor's"} {
		if !strings.Contains(text, want) {
			t.Errorf("answer lacks %q:\n%s", want, text)
		}
	}
	if tb := d.Body[2].Table; tb == nil || len(tb.Rows) != 2 || tb.Rows[1][3] != "50-55" || tb.Rows[1][8] != "500" {
		t.Errorf("steps table %+v", d.Body[2].Table)
	}
	if c := d.Body[1].Chart; c == nil || len(c.Series) != 2 || c.Series[1].Name != "in-process kpar" || c.Series[1].Y[1] != 500 {
		t.Errorf("chart %+v", d.Body[1].Chart)
	}
	if tb := d.Details[0].Table; tb == nil || len(tb.Rows) != 3 {
		t.Errorf("agents table %+v", d.Details[0].Table)
	}
	if vs := render.Views(Doc(r)); len(vs) == 0 || vs[0].Name != "trogdor.md" {
		t.Errorf("views %+v", vs)
	}
}

func ptr(v float64) *float64 { return &v }

// The bottleneck follows the CPU shares at the saturation step: a full
// host (broker + agents over 85% of its cores), else the broker or the
// agents over 70%, else elsewhere; without CPU figures, unknown.
func TestBottleneckFollowsTheCPUShares(t *testing.T) {
	sat := Saturation{Agents: 2}
	step := func(br, ag float64) []Step {
		return []Step{{Agents: 2, CPU: &CPU{BrokerCores: ptr(br), AgentCores: ptr(ag)}}}
	}
	for _, tc := range []struct {
		br, ag float64
		shared bool
		want   string
	}{{0.8, 1.0, true, "host-cpu"}, {0.8, 1.0, false, "elsewhere"}, {1.5, 0.1, true, "broker-cpu"}, {0.2, 1.5, false, "agent-cpu"}, {0.3, 0.3, true, "elsewhere"}} {
		if b := FindBottleneck(step(tc.br, tc.ag), sat, 2, tc.shared); b.Kind != tc.want {
			t.Errorf("broker %.1f agents %.1f shared %v: got %s (%s), want %s", tc.br, tc.ag, tc.shared, b.Kind, b.Reason, tc.want)
		}
	}
	// Other processes filling the host come first: our shares alone would
	// say "CPU to spare".
	busy := []Step{{Agents: 2, CPU: &CPU{BrokerCores: ptr(0.3), AgentCores: ptr(0.3), MachineCores: ptr(1.9)}}}
	if b := FindBottleneck(busy, sat, 2, true); b.Kind != "host-load" || !strings.Contains(b.Reason, "other processes took 1.30") {
		t.Errorf("a busy host: got %s (%s)", b.Kind, b.Reason)
	}
	if b := FindBottleneck([]Step{{Agents: 2}}, sat, 2, true); b.Kind != "unknown" {
		t.Errorf("no CPU: got %s", b.Kind)
	}
}

// Trogdor 4.3.1's @JsonCreator property names, read from its classes
// (ConsumeBenchSpec, RoundTripWorkloadSpec, ProduceBenchSpec's used ones):
// Trogdor ignores a key it does not know, so a misspelt one would silently
// fall back to Trogdor's default.
var trogdorFields = map[string][]string{
	"org.apache.kafka.trogdor.workload.ConsumeBenchSpec": {"class", "startMs", "durationMs", "consumerNode", "bootstrapServers", "targetMessagesPerSec",
		"maxMessages", "consumerGroup", "consumerConf", "commonClientConf", "adminClientConf", "threadsPerWorker", "recordProcessor", "activeTopics"},
	"org.apache.kafka.trogdor.workload.RoundTripWorkloadSpec": {"class", "startMs", "durationMs", "clientNode", "bootstrapServers", "commonClientConf",
		"adminClientConf", "consumerConf", "producerConf", "targetMessagesPerSec", "valueGenerator", "activeTopics", "maxMessages"},
}

func TestConsumeAndRoundTripSpecsUseTrogdorsFieldNames(t *testing.T) {
	c := DefaultConfig()
	c.Topic, c.Records = "t", 500
	specs := []map[string]any{c.consumeSpec("agent-1", "b:9092", "g", []int32{1, 3}, 700), c.roundTripSpec("agent-0", "b:9092", "t-rt", 7)}
	for _, spec := range specs {
		b, err := json.Marshal(spec)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]json.RawMessage
		json.Unmarshal(b, &got)
		var class string
		json.Unmarshal(got["class"], &class)
		names, ok := trogdorFields[class]
		if !ok {
			t.Fatalf("class %q", class)
		}
		for k := range got {
			if !slices.Contains(names, k) {
				t.Errorf("%s: %q is not one of Trogdor's fields %v", class, k, names)
			}
		}
	}
	cs, rt := specs[0], specs[1]
	// Partitions in the spec's topic:partition notation make Trogdor assign
	// them to the consumer instead of subscribing the topic.
	if tp := cs["activeTopics"].([]string); !slices.Equal(tp, []string{"t:1", "t:3"}) || cs["maxMessages"] != int64(700) || cs["consumerNode"] != "agent-1" || cs["threadsPerWorker"] != 1 {
		t.Errorf("consume spec %v", cs)
	}
	// Round trip refuses a rate of 0: unbounded is the largest int.
	if rt["targetMessagesPerSec"] != 1<<31-1 || rt["clientNode"] != "agent-0" || rt["maxMessages"] != int64(500) {
		t.Errorf("round trip spec %v", rt)
	}
	if at := rt["activeTopics"].(map[string]any); at["t-rt"] == nil {
		t.Errorf("round trip topics %v", at)
	}
	if pc := rt["producerConf"].(map[string]string); pc["acks"] != "all" || pc["buffer.memory"] != "33554432" {
		t.Errorf("round trip producer conf %v", pc)
	}
}

// Agent i of an n-agent consume step reads the partitions p mod n == i
// and exactly the fill's records in them.
func TestConsumeShareSplitsPartitionsAndCountsTheFill(t *testing.T) {
	f := &fill{start: map[int32]int64{0: 10, 1: 0, 2: 5, 3: 0}, end: map[int32]int64{0: 20, 1: 7, 2: 5, 3: 3}}
	ps, n := f.share(4, 2, 0)
	if !slices.Equal(ps, []int32{0, 2}) || n != 10 {
		t.Errorf("agent 0 of 2: %v %d, want [0 2] 10", ps, n)
	}
	ps, n = f.share(4, 2, 1)
	if !slices.Equal(ps, []int32{1, 3}) || n != 10 {
		t.Errorf("agent 1 of 2: %v %d, want [1 3] 10", ps, n)
	}
}
