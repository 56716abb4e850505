package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/broker"
	"github.com/kpar/kpar/internal/testkit"
)

// stopTestProducerPort is the first client port of the 3-node cluster the
// lab producer case starts (controllers 100 above); the lab refuses ports
// in Linux's ephemeral range, so it is below 32768.
// KPAR_STOP_TEST_PRODUCER_PORT overrides it.
func stopTestProducerPort(t *testing.T) string {
	return strconv.Itoa(testkit.Port(t, "KPAR_STOP_TEST_PRODUCER_PORT", 31292, 32767-103))
}

// Every long-running command family, stopped mid-run by a signal: each
// exits non-zero within stopBound saying it was interrupted, writes no
// results and leaves none of the processes it started (workers, members,
// PC's JVM, the lab producer's broker JVMs). The commands run at once
// (different topics; the lab producer on its own cluster); each logs its
// stop time.
func TestEveryCommandStopsOnSignal(t *testing.T) {
	seeds := testkit.Brokers(t)
	bin := kparBinary(t)
	brokers := "--brokers=" + strings.Join(seeds, ",")
	marker := func(m string) func(string, []int) bool {
		return func(o string, _ []int) bool { return strings.Contains(o, m) }
	}
	dropTopics := func(t *testing.T, names ...string) {
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			testkit.Admin(t, seeds).DeleteTopics(ctx, names...)
		})
	}
	outDir := func(t *testing.T) string { return filepath.Join(t.TempDir(), "out") }

	// bench produce with a worker process per producer, stopped while a
	// worker runs.
	t.Run("bench-produce", func(t *testing.T) {
		t.Parallel()
		dir, out, topic := t.TempDir(), outDir(t), testkit.TopicName(t)
		dropTopics(t, topic)
		csv := filepath.Join(dir, "e.csv")
		runBinary(t, bin, "gen", "csv", "--rows", "100000", "--out", csv)
		stopMidRun(t, bin, syscall.SIGINT, func(o string, kids []int) bool {
			return strings.Contains(o, "(processes, ") && countRunning(kids, "produce-worker") > 0
		}, out, nil, brokers, "bench", "produce", "--input", csv, "--topic", topic, "--partitions", "3",
			"--producers", "1,2", "--repeat", "5", "--warmup", "0", "--processes", "--out", out)
	})

	// bench consume's io measurement (in this process), stopped while its
	// handlers sleep; SIGTERM, the other signal kpar handles.
	t.Run("bench-consume", func(t *testing.T) {
		t.Parallel()
		out, prefix := outDir(t), testkit.TopicName(t)
		dropTopics(t, prefix+"-io-3p-1000k-100v")
		stopMidRun(t, bin, syscall.SIGTERM, marker("io 1/1: consuming"), out, nil, brokers, "bench", "consume",
			"--topic-prefix", prefix, "--partitions", "3", "--records", "50000", "--concurrency", "10",
			"--repeat", "1", "--min-window", "1ns", "--only", "io", "--out", out)
	})

	// compare consume, stopped while a JVM (PC's or ShareConsumerPerformance)
	// runs as its child.
	t.Run("compare-consume", func(t *testing.T) {
		t.Parallel()
		out, prefix := outDir(t), testkit.TopicName(t)
		dropTopics(t, prefix+"-io-3p-1000k-100v", prefix+"-backlog-3p-1000k-100v")
		stopMidRun(t, bin, syscall.SIGINT, func(o string, kids []int) bool {
			return strings.Contains(o, "kpar: preparing") && countRunning(kids, "java") > 0
		}, out, nil, brokers, "compare", "consume", "--topic-prefix", prefix, "--partitions", "3",
			"--concurrency", "8", "--io-records", "3000", "--noop-records", "20000", "--rss-records", "20000",
			"--dlq-records", "0", "--pc-heap-steps", "0", "--min-window", "1ns", "--repeat", "1", "--out", out)
	})

	// lab consumer, stopped while a worker process consumes a cell.
	t.Run("lab-consumer", func(t *testing.T) {
		t.Parallel()
		out := outDir(t)
		stopMidRun(t, bin, syscall.SIGINT, func(_ string, kids []int) bool {
			return countRunning(kids, "lab-worker") > 0
		}, out, nil, brokers, "lab", "consumer", "--strategies", "lib-key,commit-before", "--scenarios", "ooo+crash",
			"--records", "4000", "--partitions", "3", "--keys", "16", "--workers", "4", "--max-poll", "50",
			"--crashes", "2", "--seed", "77", "--out", out)
	})

	// lab group, stopped once its three members consume (SIGTERM, as the
	// run that once outlived it for 45 s got).
	t.Run("lab-group", func(t *testing.T) {
		t.Parallel()
		out := outDir(t)
		stopMidRun(t, bin, syscall.SIGTERM, func(_ string, kids []int) bool {
			return countRunning(kids, "group-member") >= 3
		}, out, nil, brokers, "lab", "group", "--cell", "kill/range", "--settings", "none",
			"--duration", "30s", "--rate", "200", "--out", out)
	})

	// lab producer on its own 3-node cluster (its own KPAR_HOME and port),
	// stopped in its cell: no JVM recorded under that home survives.
	t.Run("lab-producer", func(t *testing.T) {
		testkit.SkipShort(t, "starts a 3-node cluster")
		if _, err := exec.LookPath("java"); err != nil {
			testkit.Unavailable(t, "java: %v", err)
		}
		t.Parallel()
		home, out := t.TempDir(), outDir(t)
		lab := filepath.Join(home, "lab-producer")
		var jvms []broker.Node
		t.Cleanup(func() { // a failed check leaves no JVM behind
			for _, n := range jvms {
				if n.Alive() {
					_ = syscall.Kill(n.Pid, syscall.SIGKILL)
				}
			}
		})
		stopMidRun(t, bin, syscall.SIGINT, func(o string, _ []int) bool {
			if !strings.Contains(o, "[1/1] ") {
				return false
			}
			st, err := broker.LoadState(lab)
			if err == nil {
				jvms = st.Nodes
			}
			return len(jvms) == 3
		}, out, []string{"KPAR_HOME=" + home, "KPAR_BROKERS="},
			"lab", "producer", "--cell", "all-idem/leader-kill", "--port", stopTestProducerPort(t), "--heap", "256M",
			"--warmup", "20s", "--out", out)
		for _, n := range jvms {
			if n.Alive() {
				t.Errorf("node %d (pid %d) of the lab's cluster still runs after the command exited", n.ID, n.Pid)
			}
		}
		if b, err := os.ReadFile(filepath.Join(lab, "broker", "state.json")); err == nil {
			t.Errorf("the lab's cluster is still recorded after the signal: %s", b)
		}
	})
}
