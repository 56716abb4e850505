package trogdor

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/broker"
	"github.com/kpar/kpar/internal/testkit"
)

// testPort is the coordinator's port (agents above it): below Linux's
// ephemeral range and apart from the CLI's default;
// KPAR_TROGDOR_TEST_PORT moves it when two checkouts test at once.
var testPort = func() int {
	if p, err := strconv.Atoi(os.Getenv("KPAR_TROGDOR_TEST_PORT")); err == nil && p > 0 {
		return p
	}
	return 23150
}()

// upForTest starts a coordinator and n agents under a fresh home, skipping
// (failing under KPAR_REQUIRE_BROKER=1) when java or the jars are missing.
func upForTest(t *testing.T, n int) (string, *State) {
	t.Helper()
	if _, err := broker.JavaBin(); err != nil {
		testkit.Unavailable(t, "java: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := LibDir(ctx, nil); err != nil {
		testkit.Unavailable(t, "Trogdor jars: %v", err)
	}
	for p := testPort; p <= testPort+n; p++ {
		if portInUse(p) {
			testkit.Unavailable(t, "port %d is in use", p)
		}
	}
	home := t.TempDir()
	st, err := Up(ctx, Options{Home: home, Agents: n, Port: testPort, Heap: "256M", ReadyTimeout: 2 * time.Minute})
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	t.Cleanup(func() { _, _ = Down(home) })
	return home, st
}

func TestUpTwoAgentsMergedCountEqualsTopicRecordsAndDownLeavesNothing(t *testing.T) {
	seeds := testkit.Brokers(t)
	home, st := upForTest(t, 2)
	if len(st.Agents) != 2 || st.Coordinator.Pid == 0 {
		t.Fatalf("state %+v", st)
	}
	_, ps, err := Status(context.Background(), home)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if !p.Running || !p.Answering {
			t.Fatalf("%s: running %v answering %v (%s)", p.Name, p.Running, p.Answering, p.Error)
		}
	}

	cfg := DefaultConfig()
	cfg.Coordinator, cfg.Agents, cfg.SharedHost, cfg.Brokers = st.Coordinator.URL(), st.Agents, true, seeds
	cfg.Steps, cfg.Records, cfg.Topic, cfg.Partitions = []int{1, 2}, 3000, testkit.TopicName(t), 3
	cfg.Calibrate, cfg.TaskTimeout = false, 2*time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("sweep: %v", err)
	}
	if len(res.Steps) != 2 {
		t.Fatalf("steps %+v", res.Steps)
	}
	var merged int64
	for _, s := range res.Steps {
		if s.Records != int64(s.Agents)*cfg.Records || s.Written != s.Records {
			t.Errorf("step %d: agents reported %d, topic grew %d, want %d both", s.Agents, s.Records, s.Written, int64(s.Agents)*cfg.Records)
		}
		merged += s.Records
	}
	// The topic was new: its end offsets hold exactly what every step sent.
	on, err := endOffsets(ctx, testkit.Admin(t, seeds), cfg.Topic)
	if err != nil {
		t.Fatal(err)
	}
	if on != merged {
		t.Fatalf("merged count %d, records on the topic %d", merged, on)
	}

	// Consume: the 2 agents fill a new topic, then the step's 2 agents read
	// it all, the partitions split between them; the in-process side reads
	// the same. One step (and one for round trip) keeps the test short.
	cfg.Workload, cfg.Topic, cfg.Records, cfg.Partitions, cfg.Calibrate, cfg.WarmupRecords = Consume, testkit.TopicName(t)+"-c", 1500, 2, true, 0
	cfg.Steps = []int{2}
	res, err = Run(ctx, cfg)
	if err != nil {
		t.Fatalf("consume sweep: %v", err)
	}
	on, err = endOffsets(ctx, testkit.Admin(t, seeds), cfg.Topic)
	if err != nil {
		t.Fatal(err)
	}
	if res.FillRecords != 2*cfg.Records || on != res.FillRecords || len(res.Steps) != 1 {
		t.Fatalf("fill %d, records on the topic %d, want %d both; steps %d", res.FillRecords, on, 2*cfg.Records, len(res.Steps))
	}
	for _, s := range res.Steps {
		if s.Records != on || s.InProcess == nil || s.InProcess.Records != on {
			t.Errorf("consume step %d: the agents read %d, in-process %+v, want the %d records on the topic", s.Agents, s.Records, s.InProcess, on)
		}
	}
	// Round trip: each agent its own topic, every record read back.
	cfg.Workload, cfg.Records = RoundTrip, 500
	res, err = Run(ctx, cfg)
	if err != nil {
		t.Fatalf("round-trip sweep: %v", err)
	}
	for _, s := range res.Steps {
		if s.Records != int64(s.Agents)*cfg.Records || s.Written < s.Records {
			t.Errorf("round-trip step %d: %d read back, %d written, want %d", s.Agents, s.Records, s.Written, int64(s.Agents)*cfg.Records)
		}
	}

	pids := []Process{st.Coordinator, st.Agents[0], st.Agents[1]}
	stopped, err := Down(home)
	if err != nil {
		t.Fatalf("down: %v", err)
	}
	if len(stopped) != 3 {
		t.Errorf("down signalled %v, want the 3 recorded pids", stopped)
	}
	for _, p := range pids {
		if p.Alive() {
			t.Errorf("%s (pid %d) still runs after down", p.Name, p.Pid)
		}
	}
	if _, err := os.Stat(statePath(home)); !os.IsNotExist(err) {
		t.Errorf("state file left: %v", err)
	}
}

func TestRefusedSpecGivesOneLineNamingIt(t *testing.T) {
	seeds := testkit.Brokers(t)
	_, st := upForTest(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	base := DefaultConfig()
	base.Coordinator, base.Brokers, base.Steps, base.Records = st.Coordinator.URL(), seeds, []int{1}, 100
	base.Topic, base.Partitions, base.Calibrate, base.TaskTimeout = testkit.TopicName(t), 1, false, time.Minute

	for _, tc := range []struct {
		name   string
		mut    func(*Config)
		naming string
	}{
		{"bad bootstrap", func(c *Config) { c.Agents, c.AgentBootstrap = st.Agents, "no-such-host.invalid:9092" }, "no-such-host.invalid:9092"},
		{"unknown node", func(c *Config) { c.Agents = []Process{{Name: "agent-9", Host: "127.0.0.1", Port: testPort + 9}} }, "agent-9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			tc.mut(&c)
			_, err := Run(ctx, c)
			var re *RefusedError
			if !errors.As(err, &re) {
				t.Fatalf("got %v, want a RefusedError", err)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") || !strings.Contains(msg, tc.naming) {
				t.Fatalf("want one line naming %s, got %q", tc.naming, msg)
			}
		})
	}
}

// The in-process side of a produce step: every client's records are
// acknowledged and land on the topic, and the latency percentiles are over
// all of them, in order.
func TestInProcessProducersCountEveryAcknowledgedRecord(t *testing.T) {
	seeds := testkit.Brokers(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := DefaultConfig()
	cfg.Brokers, cfg.Topic, cfg.Records, cfg.Seed = seeds, testkit.Topic(t, seeds, 3), 300, 7
	k, err := runKpar(ctx, testkit.Admin(t, seeds), cfg, 2)
	if err != nil {
		t.Fatal(err)
	}
	if k.Clients != 2 || k.Records != 600 || k.Written != 600 || k.Ms <= 0 || k.RecordsPerSec <= 0 {
		t.Fatalf("got %+v, want 2 clients, 600 records acknowledged and written", k)
	}
	if l := k.Latency; l == nil || l.P50Ms <= 0 || l.P50Ms > l.P95Ms || l.P95Ms > l.P99Ms {
		t.Fatalf("latency %+v: want 0 < p50 <= p95 <= p99", l)
	}
}
