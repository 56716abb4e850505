package produce

import (
	"testing"

	"github.com/kpar/kpar/internal/render"
	"github.com/kpar/kpar/internal/testkit"
)

// A tiny run on the real broker: two partition counts, two record sizes
// and the kcat anchor give a complete Result. Rates are not asserted.
func TestRunOnRealBrokerSweepsPartitionsSizesAndKcat(t *testing.T) {
	c := runConfig(t, testkit.Brokers(t), 4000, testkit.TopicName(t))
	c.Partitions, c.RecordSizes, c.Producers = []int{1, 3}, []int{0, 500}, []int{1, 2}
	c.Warmup, c.VsKcat = 200, true
	c.Worker = testkit.StartChild
	r, err := Run(ctx(t), c)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Sweeps) != 4 {
		t.Fatalf("%d sweeps, want 2 partition counts x 2 sizes", len(r.Sweeps))
	}
	for _, sw := range r.Sweeps {
		want := 4000
		if sw.RecordSize == 500 {
			want = int(r.Input.PayloadBytes / 500) // the input's bytes at most
		}
		if r.Partitions[sw.Settings.Topics[0]] != sw.Partitions || sw.Records != want || len(sw.Steps) != 2 {
			t.Fatalf("sweep %s: partitions %d (topic has %d), records %d want %d, %d steps", sw.Label, sw.Partitions, r.Partitions[sw.Settings.Topics[0]], sw.Records, want, len(sw.Steps))
		}
		for _, st := range sw.Steps {
			if st.Acked != int64(want) || st.ReachedTopic != int64(want) || st.Failed != 0 || st.WireOutBytes < int64(want)*int64(max(sw.RecordSize, 100)) {
				t.Fatalf("%s, %d producers: acked %d reached %d failed %d wire %d", sw.Label, st.Producers, st.Acked, st.ReachedTopic, st.Failed, st.WireOutBytes)
			}
			if st.LoopbackRxBytes == nil || *st.LoopbackRxBytes < st.WireOutBytes || len(st.CoreBusySeconds) == 0 {
				t.Fatalf("%s: loopback %v for %d wire bytes, cores %v", sw.Label, st.LoopbackRxBytes, st.WireOutBytes, st.CoreBusySeconds)
			}
		}
	}
	if len(r.Ceilings) != 2 || len(r.Ceilings[0].Points) != 2 || r.Ceilings[0].Sentence == "" {
		t.Fatalf("ceilings %+v", r.Ceilings)
	}
	k := r.Kcat
	if k == nil || k.Kcat.Records != 4000 || k.Go.Acked != 4000 || k.Kcat.CPUSeconds <= 0 || k.Go.ProcessCPUSeconds <= 0 ||
		k.KcatRecordsPerSec <= 0 || k.GoRecordsPerSec <= 0 || k.Verdict == "" || k.Topic != c.Topics[0]+"-p1" || !k.Go.PayloadFile || k.MaxBufferedRecords != MaxBufferedRecords {
		t.Fatalf("kcat comparison %+v", k)
	}
	if r.ReplicationFactor < 1 || r.Broker.Nodes < 1 || r.Java != nil {
		t.Fatalf("rf %d nodes %d java %v", r.ReplicationFactor, r.Broker.Nodes, r.Java)
	}
	if md := render.Markdown(Doc(r)); len(md) == 0 {
		t.Fatal("empty summary")
	}
}
