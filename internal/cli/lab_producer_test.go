package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kpar/kpar/internal/testkit"
)

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
		c := testkit.KfakeCluster(t, kfake.NumBrokers(tc.nodes))
		out := filepath.Join(t.TempDir(), "results")
		_, err := runKpar(t, "--brokers", strings.Join(c.ListenAddrs(), ","), "lab", "producer", "--out", out)
		c.Close()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%d node(s): want %q, got %v", tc.nodes, tc.want, err)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%d node(s): a refused run created --out: %v", tc.nodes, err)
		}
	}
}
