package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Bad flags fail by name before any broker is looked up (the broker here
// does not exist) and write nothing.
func TestLabProducerBadFlagFailsByNameBeforeTheBroker(t *testing.T) {
	cases := [][2]string{
		{"--settings=acks2", `--settings: unknown setting "acks2"`},
		{"--faults=meteor", `--faults: unknown fault "meteor"`},
		{"--cell=acks1-if5", `--cell "acks1-if5": want setting/fault`},
		{"--freeze=5s", "--freeze 5s: must be longer than the brokers' session timeout"},
		{"--producers=0", "--producers 0: must be at least 1"},
		{"--seed=-1", "--seed -1: must be at least 0"},
	}
	for _, c := range cases {
		out := filepath.Join(t.TempDir(), "results")
		stdout, err := runKpar(t, "--brokers", "127.0.0.1:1", "lab", "producer", "--out", out, c[0])
		if err == nil || !strings.Contains(err.Error(), c[1]) {
			t.Errorf("%s: want an error containing %q, got %v", c[0], c[1], err)
			continue
		}
		if strings.Contains(err.Error(), "127.0.0.1:1") || stdout != "" {
			t.Errorf("%s reached the broker or printed: %v, stdout %q", c[0], err, stdout)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%s created --out: %v", c[0], err)
		}
	}
}

// A 1-node cluster is refused naming the 3 nodes the lab needs; a 3-node
// cluster kpar did not start gets its faults refused, not skipped.
func TestLabProducerRefusesOneNodeAndFaultsWithoutOurPids(t *testing.T) {
	t.Setenv("KPAR_HOME", t.TempDir())
	for _, tc := range []struct {
		nodes int
		want  string
	}{
		{1, "kpar lab producer needs a 3-node cluster"},
		{3, "fault leader-kill cannot be applied"},
	} {
		c, err := kfake.NewCluster(kfake.NumBrokers(tc.nodes))
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "results")
		_, err = runKpar(t, "--brokers", strings.Join(c.ListenAddrs(), ","), "lab", "producer", "--out", out)
		c.Close()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%d node(s): want %q, got %v", tc.nodes, tc.want, err)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%d node(s): a refused run created --out: %v", tc.nodes, err)
		}
	}
}
