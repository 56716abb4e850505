package broker

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestUpRefusesAStoppedClusterOfOtherSettingsNamingFresh(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(brokerDir(home), 0o755); err != nil {
		t.Fatal(err)
	}
	// A recorded node whose pid is not alive (pid start time 1 never matches).
	st := &State{Version: StateVersion, KafkaVersion: KafkaVersion, BasePort: 26592,
		Nodes: []Node{{ID: 1, Pid: os.Getpid(), PidStartTime: 1, Port: 26592, ControllerPort: 26692, Argv: []string{"java"}}}}
	if err := saveState(home, st); err != nil {
		t.Fatal(err)
	}
	_, err := Up(context.Background(), Options{Home: home, BasePort: 26593})
	if err == nil || !strings.Contains(err.Error(), "--fresh") || !strings.Contains(err.Error(), "port 26592") {
		t.Fatalf("up on another port over a stopped cluster: %v, want a refusal naming its port and --fresh", err)
	}
	if _, err := os.Stat(statePath(home)); err != nil {
		t.Fatalf("the refusal removed the stopped cluster's state: %v", err)
	}
}

func TestRestartRefusesAnUnknownNode(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(brokerDir(home), 0o755); err != nil {
		t.Fatal(err)
	}
	st := &State{Version: StateVersion, Nodes: []Node{{ID: 1, Argv: []string{"java"}}}}
	if err := saveState(home, st); err != nil {
		t.Fatal(err)
	}
	if _, err := Restart(context.Background(), home, []int{3}, time.Second); err == nil || !strings.Contains(err.Error(), "--node 3") {
		t.Fatalf("restart of node 3 of 1: %v, want an error naming --node 3", err)
	}
}

// A cluster whose JVM was SIGKILLed keeps its topics and committed offsets:
// 'up' restarts it on its data, 'restart' too, and only --fresh discards it.
func TestUpAfterACrashAndRestartKeepTopicsAndOffsetsFreshDiscardsThem(t *testing.T) {
	realBrokerTest(t)
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	opts := Options{Home: home, BasePort: 26592, ReadyTimeout: 4 * time.Minute} // a restart after a crash recovers its logs first
	st, err := Up(ctx, opts)
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	t.Cleanup(func() { _, _ = Down(home) })
	const topic, group = "kept", "kept-group"
	cl, err := kgo.NewClient(kgo.SeedBrokers(st.Bootstrap()...), kgo.DefaultProduceTopic(topic), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte{byte(i)}}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	var offs kadm.Offsets
	offs.Add(kadm.Offset{Topic: topic, Partition: 0, At: 2, LeaderEpoch: -1})
	if _, err := adm.CommitOffsets(ctx, group, offs); err != nil {
		t.Fatal(err)
	}
	cl.Close()

	kill := func(st *State) {
		t.Helper()
		for i := range st.Nodes {
			_ = syscall.Kill(st.Nodes[i].Pid, syscall.SIGKILL)
			if err := waitGone(&st.Nodes[i], 20*time.Second); err != nil {
				t.Fatal(err)
			}
		}
	}
	check := func(step string, st *State, wantEnd, wantCommitted int64) {
		t.Helper()
		cl, err := kgo.NewClient(kgo.SeedBrokers(st.Bootstrap()...))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		adm := kadm.NewClient(cl)
		var end int64 = -1
		// Partition leadership comes back a moment after the node answers.
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			ends, err := adm.ListEndOffsets(ctx, topic)
			if err == nil && ends.Error() == nil {
				if o, ok := ends.Lookup(topic, 0); ok {
					end = o.Offset
				} else {
					end = 0
				}
				break
			}
			if err == nil && wantEnd == 0 {
				end = 0
				break
			}
		}
		var committed int64 = -1
		if c, err := adm.FetchOffsets(ctx, group); err == nil {
			if o, ok := c.Lookup(topic, 0); ok {
				committed = o.At
			}
		}
		if end != wantEnd || committed != wantCommitted {
			t.Fatalf("%s: end offset %d, committed %d; want %d and %d", step, end, committed, wantEnd, wantCommitted)
		}
	}

	kill(st)
	st, err = Up(ctx, opts)
	if err != nil {
		t.Fatalf("up after the crash: %v", err)
	}
	if !st.Resumed {
		t.Fatal("up after a crash formatted new storage instead of restarting on the data")
	}
	check("after the crash and up", st, 3, 2)

	st, err = Restart(ctx, home, nil, 4*time.Minute)
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	check("after restart", st, 3, 2)

	kill(st)
	opts.Fresh = true
	st, err = Up(ctx, opts)
	if err != nil {
		t.Fatalf("up --fresh: %v", err)
	}
	if st.Resumed {
		t.Fatal("up --fresh resumed the old data")
	}
	cl2, _ := kgo.NewClient(kgo.SeedBrokers(st.Bootstrap()...))
	defer cl2.Close()
	md, err := kadm.NewClient(cl2).ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if md.Has(topic) {
		t.Fatalf("topic %s survived up --fresh", topic)
	}
	if _, err := os.Stat(filepath.Join(home, "broker", "node-1", "data")); err != nil {
		t.Fatalf("fresh storage missing: %v", err)
	}
	if _, err := Down(home); err != nil && !errors.Is(err, ErrNotUp) {
		t.Fatal(err)
	}
}

// A start that failed leaves formatted storage and no state behind; the
// next start formats anew instead of refusing the new cluster's id.
func TestUpAfterAFailedStartFormatsAgain(t *testing.T) {
	realBrokerTest(t)
	home := t.TempDir()
	data := filepath.Join(brokerDir(home), "node-1", "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	// What a format of another cluster leaves: its id in meta.properties.
	meta := "cluster.id=AAAAAAAAAAAAAAAAAAAAAA\nnode.id=1\nversion=1\ndirectory.id=BBBBBBBBBBBBBBBBBBBBBB\n"
	if err := os.WriteFile(filepath.Join(data, "meta.properties"), []byte(meta), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	st, err := Up(ctx, Options{Home: home, BasePort: 26792, ReadyTimeout: 2 * time.Minute})
	if err != nil {
		t.Fatalf("up over a failed start's storage: %v", err)
	}
	t.Cleanup(func() { _, _ = Down(home) })
	if b, err := os.ReadFile(filepath.Join(data, "meta.properties")); err != nil || !strings.Contains(string(b), "cluster.id="+st.ClusterID) {
		t.Fatalf("meta.properties after up: %q, %v; want cluster.id=%s", b, err, st.ClusterID)
	}
}

// An unreadable state may record a cluster with data: up refuses to
// format over it, naming the file, unless told --fresh.
func TestUpRefusesAnUnreadableStateUnlessFresh(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(brokerDir(home), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(statePath(home), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Up(context.Background(), Options{Home: home, BasePort: 26793})
	if err == nil || !strings.Contains(err.Error(), statePath(home)) || !strings.Contains(err.Error(), "--fresh") {
		t.Fatalf("up over an unreadable state: %v, want a refusal naming %s and --fresh", err, statePath(home))
	}
	if _, err := os.Stat(statePath(home)); err != nil {
		t.Fatalf("the refusal removed the state: %v", err)
	}
}
