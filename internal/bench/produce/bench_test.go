package produce

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/kpar/kpar/internal/datagen"
	"github.com/kpar/kpar/internal/testkit"
)

// The test binary doubles as the worker process of process mode
// (testkit.StartChild).
func TestMain(m *testing.M) { testkit.ServeChild(m, RunWorker) }

func writeCSV(t *testing.T, rows int) Source {
	t.Helper()
	path := filepath.Join(t.TempDir(), "events.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := datagen.Write(f, datagen.Config{Rows: rows, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return Source{Path: path, KeyColumn: "customer_id", Value: "raw"}
}

func defaults(topics ...string) Settings {
	return Settings{Acks: "all", Idempotence: true, Partitioner: "uniform-bytes", Linger: 5 * time.Millisecond,
		BatchBytes: 1 << 20, Compression: "none", MaxInFlight: 5, Topics: topics}
}

func testBench(t *testing.T, seeds []string, src Source) *bench {
	t.Helper()
	data, err := src.Load()
	if err != nil {
		t.Fatal(err)
	}
	b, err := newBench(seeds, nil, data, testkit.StartChild, src, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// runConfig is the defaults over rows generated rows into topic on seeds.
func runConfig(t *testing.T, seeds []string, rows int, topic string) Config {
	c := DefaultConfig()
	c.Input, c.Topics, c.Brokers, c.Command = writeCSV(t, rows).Path, []string{topic}, seeds, []string{"kpar", "bench", "produce"}
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func TestEveryRecordIsAckedAndReachesTheTopicInProcessAndAsProcesses(t *testing.T) {
	seeds := testkit.Kfake(t)
	src := writeCSV(t, 3000)
	b := testBench(t, seeds, src)
	parts, err := b.EnsureTopics(ctx(t), []string{"events"}, 12, 1)
	if err != nil || parts["events"] != 12 {
		t.Fatalf("ensure topics: %v %v", parts, err)
	}
	for _, procs := range []bool{false, true} {
		st, err := b.Step(ctx(t), point{Settings: defaults("events"), Partitions: parts, Producers: 3, Processes: procs})
		if err != nil {
			t.Fatalf("processes=%v: %v", procs, err)
		}
		if st.Records != 3000 || st.Acked != 3000 || st.Failed != 0 || st.ReachedTopic != 3000 {
			t.Fatalf("processes=%v: records %d acked %d failed %d reached %d, want 3000/3000/0/3000 (%s)",
				procs, st.Records, st.Acked, st.Failed, st.ReachedTopic, st.FirstError)
		}
		if len(st.PerProducerRecSec) != 3 || st.RecordsPerSec <= 0 || st.LatencyP50Ms <= 0 || st.LatencyP999Ms < st.LatencyP50Ms {
			t.Fatalf("processes=%v: implausible step %+v", procs, st)
		}
		if st.WireOutBytes < 3000*100 {
			t.Fatalf("processes=%v: %d bytes on the wire for 3000 rows of 100+ bytes", procs, st.WireOutBytes)
		}
		if st.BrokerCPUSeconds != nil {
			t.Fatal("broker CPU reported without a broker CPU reader")
		}
		// /proc/stat counts whole 10 ms ticks: compare only once the bench
		// used several of them.
		if st.MachineBusyCPUSeconds == nil || (st.BenchCPUSeconds > 0.1 && *st.MachineBusyCPUSeconds < st.BenchCPUSeconds*0.5) {
			t.Fatalf("processes=%v: machine busy %v for bench CPU %v", procs, st.MachineBusyCPUSeconds, st.BenchCPUSeconds)
		}
		if st.BenchCPUSeconds <= 0 {
			t.Fatalf("processes=%v: bench CPU %v", procs, st.BenchCPUSeconds)
		}
	}
}

func TestManualPartitionerAndTwoTopicsSplitRecords(t *testing.T) {
	seeds := testkit.Kfake(t)
	b := testBench(t, seeds, writeCSV(t, 1000))
	parts, err := b.EnsureTopics(ctx(t), []string{"a", "b"}, 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	s := defaults("a", "b")
	s.Partitioner = "manual"
	st, err := b.Step(ctx(t), point{Settings: s, Partitions: parts, Producers: 2, Limit: 800})
	if err != nil {
		t.Fatal(err)
	}
	if st.Acked != 800 || st.ReachedTopic != 800 {
		t.Fatalf("acked %d reached %d, want 800 (limit)", st.Acked, st.ReachedTopic)
	}
	a, err := b.endOffsets(ctx(t), []string{"a"})
	if err != nil || a != 400 {
		t.Fatalf("topic a has %d records (%v), want half of 800", a, err)
	}
}

// uniform-bytes moves to another partition only after a batch's bytes, as
// KIP-794 has the Java client do after batch.size: 1,000 unkeyed rows
// (about 120 KB) under a 1 MiB batch all land in one of 12 partitions.
func TestUniformBytesFillsABatchBeforeItMovesOn(t *testing.T) {
	src := writeCSV(t, 1000)
	src.KeyColumn = ""
	b := testBench(t, testkit.Kfake(t), src)
	parts, err := b.EnsureTopics(ctx(t), []string{"u"}, 12, 1)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := b.Step(ctx(t), point{Settings: defaults("u"), Partitions: parts, Producers: 1}); err != nil || st.Acked != 1000 {
		t.Fatalf("step: %v, acked %d", err, st.Acked)
	}
	ends, err := b.adm.ListEndOffsets(ctx(t), "u")
	if err != nil {
		t.Fatal(err)
	}
	var used []int32
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			used = append(used, o.Partition)
		}
	})
	if len(used) != 1 {
		t.Fatalf("records went to partitions %v, want one partition for less than a batch", used)
	}
}

func TestNoFlushLeavesRecordsWithoutDeliveryReport(t *testing.T) {
	seeds := testkit.Kfake(t)
	b := testBench(t, seeds, writeCSV(t, 20000))
	parts, err := b.EnsureTopics(ctx(t), []string{"nf"}, 12, 1)
	if err != nil {
		t.Fatal(err)
	}
	s := defaults("nf")
	s.NoFlush = true
	s.Linger = time.Second // records wait in the buffer: exit comes first
	st, err := b.Step(ctx(t), point{Settings: s, Partitions: parts, Producers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if st.NoReport == 0 {
		t.Fatalf("no-flush with 1s linger: every record had a report at exit (%+v)", st)
	}
	if st.ReachedTopic >= st.Records {
		t.Fatalf("no-flush: %d of %d records reached the topic, want fewer", st.ReachedTopic, st.Records)
	}
	if st.Acked+st.Failed+st.NoReport != st.Records {
		t.Fatalf("acked %d + failed %d + no report %d != records %d", st.Acked, st.Failed, st.NoReport, st.Records)
	}
}

func TestUnreachableBrokerFailsTheStepInsteadOfHanging(t *testing.T) {
	b := testBench(t, []string{"127.0.0.1:1"}, writeCSV(t, 10))
	c, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err := b.EnsureTopics(c, []string{"x"}, 1, 1)
	if err == nil {
		t.Fatal("creating a topic on a closed port succeeded")
	}
}

func TestSettingsValidationNamesTheFlag(t *testing.T) {
	testkit.ValidateRefuses(t, func() Settings { return defaults("t") }, map[string]func(*Settings){
		`--acks "2"`:                     func(s *Settings) { s.Acks = "2" },
		"--acks 1 with --idempotence on": func(s *Settings) { s.Acks = "1" },
		`--partitioner "hash"`:           func(s *Settings) { s.Partitioner = "hash" },
		`--compression "gzip2"`:          func(s *Settings) { s.Compression = "gzip2" },
		"--batch-size 10":                func(s *Settings) { s.BatchBytes = 10 },
		"--linger -1s":                   func(s *Settings) { s.Linger = -time.Second },
		"--max-in-flight 0":              func(s *Settings) { s.MaxInFlight = 0 },
		"--topic":                        func(s *Settings) { s.Topics = nil },
	}, func(s *Settings) { s.Acks, s.Idempotence, s.BatchBytes, s.Linger = "0", false, 1024, 0 })
}

func TestSaturationIsTheStepBeforeTheFirstGainUnderTenPercent(t *testing.T) {
	steps := []Step{{Producers: 4, RecordsPerSec: 180}, {Producers: 1, RecordsPerSec: 100}, {Producers: 2, RecordsPerSec: 170}, {Producers: 8, RecordsPerSec: 185}}
	s := FindSaturation(steps)
	if !s.Reached || s.Producers != 2 || s.NextProducers != 4 {
		t.Fatalf("got %+v, want saturation at 2 (4 adds 5.9%%)", s)
	}
	s = FindSaturation([]Step{{Producers: 1, RecordsPerSec: 100}, {Producers: 2, RecordsPerSec: 150}})
	if s.Reached || s.Producers != 2 {
		t.Fatalf("got %+v, want not reached at 2", s)
	}
}

func TestBottleneckComesFromCPUShares(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	step := func(broker *float64, bench float64) []Step {
		return []Step{{Producers: 4, ElapsedSeconds: 10, BenchCPUSeconds: bench, BrokerCPUSeconds: broker}}
	}
	sat := Saturation{Producers: 4}
	cases := []struct {
		steps []Step
		want  string
	}{
		{step(f(12), 7), "machine-cpu"},
		{step(f(15), 1), "broker-cpu"},
		{step(f(2), 2), "latency"},
		{step(nil, 2), "unknown"},
	}
	for _, tc := range cases {
		if got := FindBottleneck(tc.steps, sat, 2, 12).Kind; got != tc.want {
			t.Errorf("got %s, want %s", got, tc.want)
		}
	}
	if got := FindBottleneck(step(f(2), 2), sat, 8, 4).Kind; got != "partitions" {
		t.Errorf("4 producers on 4 partitions with idle CPUs: got %s, want partitions", got)
	}
}

func TestBottleneckBlamesOtherLoadWhenTheMachineIsFull(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	steps := []Step{{Producers: 4, ElapsedSeconds: 10, BenchCPUSeconds: 5, BrokerCPUSeconds: f(5), MachineBusyCPUSeconds: f(19)}}
	b := FindBottleneck(steps, Saturation{Producers: 4}, 2, 12)
	if b.Kind != "machine-cpu" || b.OtherCores == nil || *b.OtherCores < 0.89 || *b.OtherCores > 0.91 {
		t.Fatalf("got %+v, want machine-cpu with 0.9 other cores", b)
	}
	if !strings.Contains(b.Reason, "other processes 0.90") {
		t.Fatalf("reason %q does not name the other load", b.Reason)
	}
}
