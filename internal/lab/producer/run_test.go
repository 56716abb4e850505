package producer

import (
	"context"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/kafka"
	"github.com/kpar/kpar/internal/testkit"
)

func fakeCluster(t *testing.T, brokers int) []string {
	t.Helper()
	return testkit.KfakeCluster(t, kfake.NumBrokers(brokers)).ListenAddrs()
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

// The replica-size check describes the topic's partitions (a topic named
// without partitions describes none) and names a partition whose replicas
// differ: kfake keeps one replica per partition, so every partition here
// has fewer than the 3 the lab's topics have.
func TestReplicasDifferDescribesEveryPartition(t *testing.T) {
	seeds := fakeCluster(t, 3)
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.DefaultProduceTopic("t"), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	adm := kadm.NewClient(cl)
	if _, err := kafka.Create(ctx, adm, []kafka.Topic{{Name: "t", Partitions: 2}}); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	c := &cluster{cl: cl, adm: adm}
	got := c.replicasDiffer(ctx, "t", []int32{0, 1})
	if strings.Contains(got, "no replica") || !strings.Contains(got, "partition 0 map[") || !strings.Contains(got, "partition 1 map[") {
		t.Fatalf("replicasDiffer: %q", got)
	}
}
