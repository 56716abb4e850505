package producer

import (
	"context"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
)

func fakeCluster(t *testing.T, brokers int) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(brokers))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

func TestRunRefusesAOneNodeCluster(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Brokers, cfg.Home = fakeCluster(t, 1), t.TempDir()
	_, err := Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "needs a 3-node cluster") || !strings.Contains(err.Error(), "report 1 node") {
		t.Fatalf("want the 3-node refusal, got %v", err)
	}
}

func TestRunRefusesFaultsOnAClusterWithoutOurPids(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Brokers, cfg.Home = fakeCluster(t, 3), t.TempDir()
	cfg.Faults = []string{FaultNone, FaultFreeze}
	_, err := Run(context.Background(), cfg)
	if err == nil {
		t.Fatal("a fault on a cluster without our pids ran")
	}
	for _, want := range []string{"fault freeze cannot be applied", "no cluster is recorded under", "Refusing rather than skipping"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
}
