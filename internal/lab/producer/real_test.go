package producer

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/progress"

	"github.com/kpar/kpar/internal/broker"
	"github.com/kpar/kpar/internal/testkit"
)

// realPort is this test's own 3-node cluster: clients 19092-19094,
// controllers 19192-19194, which no other test uses; KPAR_LAB_PRODUCER_PORT
// moves it where those are taken. It starts its own cluster because the
// suite's broker (make test) is one node, and the lab's faults need pids of
// ours.
func realPort(t *testing.T) int {
	return testkit.Port(t, "KPAR_LAB_PRODUCER_PORT", 19092, 32767-100-Nodes)
}

// threeNodes starts a 3-node cluster for t. A missing java, mvn or kcat,
// a busy port or a cluster that does not come up skips locally and fails
// under KPAR_REQUIRE_BROKER=1 (testkit.Unavailable): the kcat cross-check
// is part of what this test proves.
func threeNodes(t *testing.T) (seeds []string, home string) {
	t.Helper()
	testkit.SkipShort(t, "-short: this test starts a 3-node Kafka cluster")
	if _, err := broker.JavaBin(); err != nil {
		testkit.Unavailable(t, "no 3-node cluster: %v", err)
	}
	for _, tool := range []string{"mvn", "kcat"} {
		if _, err := exec.LookPath(tool); err != nil {
			testkit.Unavailable(t, "%s not found on PATH: %v", tool, err)
		}
	}
	base := realPort(t)
	for i := 0; i < Nodes; i++ {
		for _, p := range []int{base + i, base + 100 + i} {
			if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p)); err != nil {
				testkit.Unavailable(t, "no 3-node cluster: port %d is in use", p)
			} else {
				l.Close()
			}
		}
	}
	home = t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st, err := broker.Up(ctx, broker.Options{Home: home, Nodes: Nodes, BasePort: base, Heap: "512M", Progress: func(s string) { t.Log(s) }})
	if err != nil {
		_, _ = broker.Down(home)
		testkit.Unavailable(t, "no 3-node cluster: %v", err)
	}
	t.Cleanup(func() {
		if _, err := broker.Down(home); err != nil {
			t.Errorf("stopping the test cluster: %v", err)
		}
	})
	return st.Bootstrap(), home
}

// TestRealAcksAllIdempotentLosesNothingUnderALeaderKill: the safe setting keeps
// every acknowledged record, exactly once, when the node leading every
// partition is SIGKILLed mid-stream and restarted; kcat reads the same, and
// the parallel consumer reading meanwhile misses nothing.
func TestRealAcksAllIdempotentLosesNothingUnderALeaderKill(t *testing.T) {
	seeds, home := threeNodes(t)
	cfg := DefaultConfig()
	cfg.Brokers, cfg.Home = seeds, home
	cfg.Cell = CellName("all-idem", FaultLeaderKill)
	cfg.Seed = 1
	cfg.Rate, cfg.Partitions, cfg.Keys = 500, 3, 8
	cfg.Warmup, cfg.Tail = time.Second, 500*time.Millisecond
	cfg.Progress = func(e progress.Event) { t.Log(e.Line) }
	res := testkit.RunWithin(t, 4*time.Minute, Run, cfg)
	c := res.Cells[0]
	k := c.Counts
	t.Logf("sent %d acked %d failed %d unanswered %d lost %d disagreed %d dup %d reordered %d; %s; readers %s; reads %+v; consumer %+v; %.0fs",
		k.Sent, k.Acked, k.Failed, k.Unreported, k.Lost, k.Disagreed, k.Duplicated, k.Reordered, KcatText(c), ReadersText(c), c.Reads, c.Consumer, c.Seconds)
	var killed, healed bool
	for _, e := range c.Events {
		killed = killed || strings.HasPrefix(e.What, "SIGKILL node")
		healed = healed || strings.HasSuffix(e.What, "back in every ISR")
	}
	if !killed || !healed {
		t.Fatalf("the fault did not run through: %+v", c.Events)
	}
	if k.Acked == 0 || k.Acked < k.Sent/2 {
		t.Fatalf("only %d of %d records acked: the cell measured nothing", k.Acked, k.Sent)
	}
	if k.Lost != 0 || k.Duplicated != 0 || k.Reordered != 0 {
		t.Errorf("acks=all with idempotence lost %d, duplicated %d, reordered %d", k.Lost, k.Duplicated, k.Reordered)
	}
	if !c.Kcat.Ran {
		t.Errorf("the kcat cross-check did not run: %s", c.Kcat.Note)
	} else if !strings.HasPrefix(KcatText(c), "kcat agrees with franz-go") {
		t.Errorf("%s", KcatText(c))
	}
	if c.Kcat.Records != k.Records || len(c.Reads.Ends) != cfg.Partitions {
		t.Errorf("kcat read %d records, franz-go %d; ends %v", c.Kcat.Records, k.Records, c.Reads.Ends)
	}
	if c.Consumer.Missed != 0 {
		t.Errorf("the parallel consumer missed %d records", c.Consumer.Missed)
	}
	if _, ts := Judge(res.Cells); ts[0].Verdict != Met {
		t.Errorf("targets %+v", ts)
	}
}
