package produce

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kpar/kpar/internal/progress"

	"github.com/kpar/kpar/internal/testkit"
)

func TestConfigValidateNamesTheFlag(t *testing.T) {
	in := writeCSV(t, 10).Path
	good := func() Config {
		c := DefaultConfig()
		c.Input = in
		return c
	}
	testkit.ValidateRefuses(t, good, map[string]func(*Config){
		"--topic":                          func(c *Config) { c.Topics = nil },
		"--partitions 0":                   func(c *Config) { c.Partitions = []int{12, 0} },
		"--partitions: no partition count": func(c *Config) { c.Partitions = nil },
		"--record-size -1":                 func(c *Config) { c.RecordSizes = []int{100, -1} },
		"--record-size 900001":             func(c *Config) { c.RecordSizes = []int{MaxRecordSize + 1} },
		"CPU 0 is given to both":           func(c *Config) { c.Pin = &Pin{Broker: []int{0}, Bench: []int{0}} },
		"CPU 4096 does not exist":          func(c *Config) { c.Pin = &Pin{Broker: []int{0}, Bench: []int{4096}} },
		"--vs-kcat: exec":                  func(c *Config) { c.VsKcat, c.Worker, c.Kcat = true, testkit.StartChild, "/nonexistent/kcat" },
		"--vs-kcat with --no-flush":        func(c *Config) { c.VsKcat, c.NoFlush, c.Worker = true, true, testkit.StartChild },
		"--producers":                      func(c *Config) { c.Producers = nil },
		"--producers 257":                  func(c *Config) { c.Producers = []int{1, 257} },
		"--repeat 0":                       func(c *Config) { c.Repeat = 0 },
		"--records -1":                     func(c *Config) { c.Records = -1 },
		"--warmup -5":                      func(c *Config) { c.Warmup = -5 },
		"--java-records -1":                func(c *Config) { c.JavaRecords = -1 },
		"--timeout 0s":                     func(c *Config) { c.Timeout = 0 },
		`--value "xml"`:                    func(c *Config) { c.Value = "xml" },
		`--idempotence "maybe"`:            func(c *Config) { c.Idempotence = []string{"maybe"} },
		"needs acks=all":                   func(c *Config) { c.Acks = []string{"1"}; c.Idempotence = []string{"on"} },
		`--compression "gzip9"`:            func(c *Config) { c.Compressions = []string{"gzip9"} },
		"no settings to run":               func(c *Config) { c.Lingers = nil },
		"--vs-java with --no-flush":        func(c *Config) { c.VsJava, c.NoFlush, c.Worker = true, true, testkit.StartChild },
		"--processes, --vs-java and --vs-kcat need a worker command": func(c *Config) { c.Processes = true },
		"--input: stat":  func(c *Config) { c.Input = filepath.Join(t.TempDir(), "nope.csv") },
		"is a directory": func(c *Config) { c.Input = t.TempDir() },
	}, func(c *Config) {
		c.Producers, c.Records, c.Warmup = []int{MaxProducers}, 0, 0
	})
}

func TestSweepsAreEveryCombination(t *testing.T) {
	c := DefaultConfig()
	c.Acks = []string{"1", "all"}
	c.Compressions = []string{"none", "lz4", "zstd"}
	sw, err := c.Sweeps()
	if err != nil {
		t.Fatal(err)
	}
	if len(sw) != 6 {
		t.Fatalf("%d sweeps, want 2 acks x 3 compressions", len(sw))
	}
	// auto idempotence follows acks.
	if sw[0].Acks != "1" || sw[0].Idempotence || sw[5].Acks != "all" || !sw[5].Idempotence {
		t.Fatalf("idempotence auto: %+v / %+v", sw[0], sw[5])
	}
}

func TestRunSweepsReportsEveryStepAndDeliversEveryRecord(t *testing.T) {
	c := runConfig(t, testkit.Kfake(t), 2000, "run")
	c.KeyColumn, c.Producers, c.Warmup = "customer_id", []int{1, 2}, 100
	var delivered int64
	var lines []string
	var mu sync.Mutex // Progress is called from producer goroutines
	c.Progress = func(e progress.Event) {
		mu.Lock()
		defer mu.Unlock()
		switch e.Kind {
		case progress.Records:
			delivered = max(delivered, e.Done)
		case progress.Line:
			lines = append(lines, e.Line)
		}
	}
	r, err := Run(ctx(t), c)
	if err != nil {
		t.Fatal(err)
	}
	seen := func(line string) (n int) {
		for _, l := range lines {
			if l == line {
				n++
			}
		}
		return n
	}
	ready, done, steps := seen(ReadyLine(r)), 0, 0
	for _, sw := range r.Sweeps {
		done += seen(SaturationLine(sw))
		for _, st := range sw.Steps {
			steps += seen(StepLine(st))
		}
	}
	if r.Schema != Kind.Schema || r.Version != Kind.Version || r.Finished.Before(r.Started) || len(r.Command) != 3 {
		t.Fatalf("header %+v", r.Header)
	}
	if ready != 1 || done != 1 || steps != 2 || len(r.Sweeps) != 1 || len(r.Sweeps[0].Steps) != 2 {
		t.Fatalf("ready %d, sweeps done %d, steps seen %d, result %+v", ready, done, steps, r.Sweeps)
	}
	for _, st := range r.Sweeps[0].Steps {
		if st.Acked != 2000 || st.ReachedTopic != 2000 || st.Failed != 0 {
			t.Fatalf("%d producers: acked %d reached %d failed %d", st.Producers, st.Acked, st.ReachedTopic, st.Failed)
		}
	}
	if want := ProgressTotal(c, r.Input.Records, r.Input.PayloadBytes); delivered != want || want != 100+2*2000 {
		t.Fatalf("progress counted %d, ProgressTotal %d, want warm-up 100 + 2 steps x 2000", delivered, want)
	}
	if r.WarmupRecords != 100 || r.Partitions["run"] != 12 || r.ReplicationFactor != 1 || r.Broker.Nodes != 1 || r.Broker.CPU != "unknown" {
		t.Fatalf("warm-up %d partitions %v broker %+v", r.WarmupRecords, r.Partitions, r.Broker)
	}
}

func TestRunFailsWhenTheInputCannotFeedTheProducers(t *testing.T) {
	c := runConfig(t, testkit.Kfake(t), 2, "few")
	c.Producers, c.Warmup = []int{4}, 0
	if _, err := Run(ctx(t), c); err == nil || !strings.Contains(err.Error(), "2 records cannot feed 4 producers") {
		t.Fatalf("got %v", err)
	}
}
