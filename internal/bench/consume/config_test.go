package consume

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/progress"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/clock"
	"github.com/kpar/kpar/internal/kafka"
	"github.com/kpar/kpar/internal/proc"
	"github.com/kpar/kpar/internal/testkit"
	"github.com/kpar/kpar/parallel"
)

// The test binary doubles as the rss child (testkit.StartChild).
func TestMain(m *testing.M) {
	testkit.ServeChild(m, func(ctx context.Context, s RSSSpec, _ *proc.Child) error { return RSSChild(ctx, s, os.Stdout) })
}

func TestConfigValidateNamesTheFlag(t *testing.T) {
	good := func() Config {
		c := DefaultConfig()
		c.RSSChild = testkit.StartChild
		return c
	}
	testkit.ValidateRefuses(t, good, map[string]func(*Config){
		"--topic-prefix":                    func(c *Config) { c.TopicPrefix = "" },
		"--partitions 0":                    func(c *Config) { c.Partitions = 0 },
		"--keys 0":                          func(c *Config) { c.Keys = 0 },
		"--value-size -1":                   func(c *Config) { c.ValueSize = -1 },
		"--records -5":                      func(c *Config) { c.Records = -5 },
		"--concurrency 0":                   func(c *Config) { c.Concurrency = 0 },
		"--io-max-buffered 0":               func(c *Config) { c.IOMaxBuffered = 0 },
		"--io-max-buffered-per-partition 0": func(c *Config) { c.IOPerPart = 0 },
		"--cpu-records -1":                  func(c *Config) { c.CPURecords = -1 },
		"--cpu-records-max 0":               func(c *Config) { c.CPURecordsMax = 0 },
		"--cpu-concurrency 0":               func(c *Config) { c.CPUConcurrency = 0 },
		"--rss-records 0":                   func(c *Config) { c.RSSRecords = 0 },
		"--max-buffered 0":                  func(c *Config) { c.MaxBuffered = 0 },
		"--max-buffered-per-partition 0":    func(c *Config) { c.PerPart = 0 },
		"--fetch-max-bytes -1":              func(c *Config) { c.FetchMaxBytes = -1 },
		"--sleep 0s":                        func(c *Config) { c.Sleep = 0 },
		"--commit-interval -1s":             func(c *Config) { c.CommitInterval = -time.Second },
		"--order 42":                        func(c *Config) { c.Order = parallel.Order(42) },
		"--only":                            func(c *Config) { c.Only = nil },
		`--only: unknown measurement "mem"`: func(c *Config) { c.Only = []string{"io", "mem"} },
		"--only rss needs a child command":  func(c *Config) { c.RSSChild = nil },
		"--repeat 0":                        func(c *Config) { c.Repeat = 0 },
		"--min-window 0s":                   func(c *Config) { c.MinWindow = 0 },
		"--stall-timeout 0s":                func(c *Config) { c.StallTimeout = 0 },
	}, func(c *Config) {
		// The smallest accepted values.
		c.Partitions, c.Keys, c.ValueSize, c.Records, c.Concurrency, c.FetchMaxBytes = 1, 1, 0, 1, 1, 0
		c.Repeat, c.MinWindow = 1, time.Nanosecond
		c.Only, c.RSSChild = []string{"io", "cpu"}, nil
	})
}

// TestRunOnRealBrokerMeasuresEverything runs all three measurements with
// small counts and checks the result's structure and judgements (never a
// rate's size).
func TestRunOnRealBrokerMeasuresEverything(t *testing.T) {
	seeds := testkit.Brokers(t)
	c := DefaultConfig()
	c.TopicPrefix = testkit.TopicName(t)
	c.Partitions, c.Records, c.CPURecords, c.RSSRecords = 4, 2000, 100_000, 8000
	c.Repeat, c.MinWindow = 2, time.Nanosecond
	// One record batch per partition per fetch: the plain loops' n records
	// come in several polls, so their windows have records after the
	// warm-up (the test topic's compressible values would otherwise fit in
	// one fetch, which the clock refuses).
	c.Client.Opts = []kgo.Opt{kgo.FetchMaxPartitionBytes(1)}
	c.RSSChild = testkit.StartChild
	c.Command = []string{"kpar", "bench", "consume"}
	var logs []string
	c.Progress = func(e progress.Event) { logs = append(logs, e.Line) }
	c.Brokers = seeds
	r := testkit.RunWithin(t, 3*time.Minute, Run, c)
	t.Cleanup(func() {
		_ = kafka.Delete(context.Background(), testkit.Admin(t, seeds), c.TopicPrefix+"-io-4p-1000k-100v", c.TopicPrefix+"-big-4p-100v")
	})
	if r.Schema != Kind.Schema || r.Version != Kind.Version || r.Finished.Before(r.Started) || len(logs) == 0 {
		t.Fatalf("header %+v, %d log lines", r.Header, len(logs))
	}
	if r.IO == nil || len(r.IO.Repeats) != 2 || r.IO.IdealPerS != 100000 || r.IO.BoundBy == "" || r.IO.Verdict.Repeats != 2 {
		t.Fatalf("io %+v", r.IO)
	}
	for _, rp := range r.IO.Repeats {
		if rp.Result.Window.Records != 2000 || rp.Result.MeanHandler <= 0 || rp.Result.Window.WarmupRecords < 200 {
			t.Fatalf("io repeat %+v", rp.Result)
		}
	}
	if r.CPU == nil || len(r.CPU.Repeats) != 2 || r.CPU.SameFetchBytes < 1<<20 || r.CPU.Ratio.Median <= 0 || r.CPU.Verdict.Repeats != 2 || r.MinWindowS != 1e-9 {
		t.Fatalf("cpu %+v", r.CPU)
	}
	// Every contender of every repeat: the window of the same n, its warm-up
	// counted the same way (at least W distinct records at A).
	for _, rp := range r.CPU.Repeats {
		for _, m := range []Measurement{rp.Parallel, rp.PlainSameFetch, rp.PlainDefault} {
			if w := m.Window; w.Records != 100_000 || w.WarmupRecords < clock.WarmupCount(100_000) || w.EndRecords < 100_000 {
				t.Fatalf("%s: window %+v", m.Name, w)
			}
		}
		// The same-fetch loop reads with the size kpar's adaptive fetch had
		// reached in the same repeat (at least its 1 MiB floor).
		if f := rp.Parallel.FetchMaxBytes; f < 1<<20 || rp.PlainSameFetch.FetchMaxBytes != f || rp.PlainSameFetch.Name != PlainName(f) {
			t.Fatalf("same-fetch loop %q %d, kpar %d", rp.PlainSameFetch.Name, rp.PlainSameFetch.FetchMaxBytes, rp.Parallel.FetchMaxBytes)
		}
	}
	if r.RSS == nil || r.RSS.Records != 8000 || r.RSS.PeakRSSKiB <= 0 || r.RSS.MaxBuffered != c.MaxBuffered {
		t.Fatalf("rss %+v", r.RSS)
	}
}

// The transactional io run writes exactly one output per record consumed,
// read_committed, on kfake.
func TestTransactionalRunWritesOneOutputPerRecord(t *testing.T) {
	seeds := testkit.Kfake(t)
	const n = 300
	ctx := context.Background()
	if _, err := Prepare(ctx, seeds, "in", 3, n, 10, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := Prepare(ctx, seeds, "out", 3, 0, 10, 10); err != nil {
		t.Fatal(err)
	}
	every := time.Duration(0)
	m, err := RunParallel(ctx, seeds, "in", n, ParallelSpec{Order: parallel.OrderKey, Concurrency: 8,
		Sleep: time.Millisecond, CommitInterval: &every, OutTopic: "out"})
	if err != nil {
		t.Fatal(err)
	}
	cl := testkit.Client(t, seeds, kgo.ConsumeTopics("out"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	got := 0
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for rctx.Err() == nil {
		got += cl.PollFetches(rctx).NumRecords()
	}
	if m.Window.EndRecords != n || got != n {
		t.Fatalf("consumed %d, read_committed %d outputs; want %d of each", m.Window.EndRecords, got, n)
	}
}
