package cli

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/kpar/kpar/internal/broker"
	"github.com/kpar/kpar/internal/results"
	"github.com/kpar/kpar/internal/testkit"
)

// selfStart is this process's /proc start time, so a State node can be
// "alive" without a JVM.
func selfStart(t *testing.T) uint64 {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	v, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The pinned release is named only for the brokers kpar started and that
// still run; any other cluster gets ApiVersions' guess alone, labelled so.
func TestBrokerVersionComesFromTheStateOnlyForItsOwnLiveNodes(t *testing.T) {
	st := &broker.State{KafkaVersion: "4.3.1", Nodes: []broker.Node{{Pid: os.Getpid(), PidStartTime: selfStart(t), Port: 21092}}}
	cases := []struct {
		name  string
		st    *broker.State
		seeds []string
		guess string
		want  *results.Broker
	}{
		{"ours", st, []string{"127.0.0.1:21092"}, "v4.3", &results.Broker{Version: "4.3.1", Guess: "v4.3"}},
		{"ours by localhost", st, []string{"localhost:21092"}, "", &results.Broker{Version: "4.3.1"}},
		{"another port", st, []string{"127.0.0.1:9092"}, "v3.9", &results.Broker{Guess: "v3.9"}},
		{"one seed not ours", st, []string{"127.0.0.1:21092", "10.0.0.1:9092"}, "", nil},
		{"no state", nil, []string{"127.0.0.1:21092"}, "at least v4.4", &results.Broker{Guess: "at least v4.4"}},
		{"state without a version", &broker.State{Nodes: st.Nodes}, []string{"127.0.0.1:21092"}, "", nil},
		{"a dead node", &broker.State{KafkaVersion: "4.3.1", Nodes: []broker.Node{{Pid: os.Getpid(), PidStartTime: selfStart(t) + 1, Port: 21092}}},
			[]string{"127.0.0.1:21092"}, "v4.3", &results.Broker{Guess: "v4.3"}},
	}
	for _, c := range cases {
		got := brokerInfo(c.st, c.seeds, c.guess)
		if (got == nil) != (c.want == nil) || (got != nil && *got != *c.want) {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

// On the real broker, ApiVersions' guess names a release (the test broker
// is kpar's pinned one, so the guess must agree with it).
func TestApiVersionsGuessNamesTheRealBrokersRelease(t *testing.T) {
	seeds := testkit.Brokers(t)
	g := apiVersionsGuess(context.Background(), seeds)
	if g == "" {
		t.Fatalf("no guess from %v", seeds)
	}
	t.Logf("%v answers like %s", seeds, g)
	if want := "v" + strings.Join(strings.Split(broker.KafkaVersion, ".")[:2], "."); !strings.Contains(g, want) {
		t.Logf("the broker at %v answers like %q, kpar pins %s (fine when KPAR_BROKERS names another cluster)", seeds, g, broker.KafkaVersion)
	}
}
