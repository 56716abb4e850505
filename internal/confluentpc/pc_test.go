package confluentpc

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func validConfig() Config {
	return Config{Seeds: []string{"127.0.0.1:9092"}, Topic: "t", Records: 10}
}

func TestConfigValidateNamesEveryBadField(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want []string // substrings, one per expected problem; nil: valid
	}{
		{"minimal config with every default", func(*Config) {}, nil},
		{"every field set to a valid value", func(c *Config) {
			c.Seeds = []string{"a:1", "b:2"}
			c.Group = "g"
			c.Ordering = OrderUnordered
			c.MaxConcurrency = 500
			c.CommitMode = CommitSync
			c.BatchSize = 10
			c.Work = WorkSleep
			c.Sleep = 5 * time.Millisecond
			c.Timeout = time.Second
			c.JVMFlags = []string{"-Xmx256m", "-XX:+UseParallelGC"}
		}, nil},
		{"sleep of zero ms is valid", func(c *Config) { c.Work = WorkSleep }, nil},
		{"records one is the boundary", func(c *Config) { c.Records = 1 }, nil},
		{"no seeds", func(c *Config) { c.Seeds = nil }, []string{"Seeds is empty"}},
		{"empty seed", func(c *Config) { c.Seeds = []string{"a:1", ""} }, []string{`Seeds entry ""`}},
		{"comma in seed", func(c *Config) { c.Seeds = []string{"a:1,b:2"} }, []string{`Seeds entry "a:1,b:2"`}},
		{"no topic", func(c *Config) { c.Topic = "" }, []string{"Topic is empty"}},
		{"zero records", func(c *Config) { c.Records = 0 }, []string{"Records 0"}},
		{"negative records", func(c *Config) { c.Records = -5 }, []string{"Records -5"}},
		{"lower-case ordering", func(c *Config) { c.Ordering = "key" }, []string{`Ordering "key"`}},
		{"negative concurrency", func(c *Config) { c.MaxConcurrency = -1 }, []string{"MaxConcurrency -1"}},
		{"transactional commit mode", func(c *Config) { c.CommitMode = "PERIODIC_TRANSACTIONAL_PRODUCER" },
			[]string{`CommitMode "PERIODIC_TRANSACTIONAL_PRODUCER"`}},
		{"negative batch", func(c *Config) { c.BatchSize = -2 }, []string{"BatchSize -2"}},
		{"unknown work", func(c *Config) { c.Work = "spin" }, []string{`Work "spin"`}},
		{"sleep without sleep work", func(c *Config) { c.Sleep = time.Millisecond }, []string{"Sleep 1ms needs Work"}},
		{"sub-millisecond sleep", func(c *Config) { c.Work, c.Sleep = WorkSleep, 1500*time.Microsecond },
			[]string{"Sleep 1.5ms must be a whole number"}},
		{"negative sleep", func(c *Config) { c.Work, c.Sleep = WorkSleep, -time.Millisecond }, []string{"Sleep -1ms"}},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, []string{"Timeout -1s"}},
		{"jvm flag without dash", func(c *Config) { c.JVMFlags = []string{"Xmx256m"} }, []string{`JVMFlags entry "Xmx256m"`}},
		{"jvm flag replacing the class path", func(c *Config) { c.JVMFlags = []string{"-cp"} }, []string{`JVMFlags entry "-cp"`}},
		{"several problems are all named", func(c *Config) {
			c.Topic, c.Records, c.MaxConcurrency, c.Work = "", 0, -3, "x"
		}, []string{"Topic is empty", "Records 0", "MaxConcurrency -3", `Work "x"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.edit(&c)
			err := c.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("Validate() = %v, want an ErrConfig", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			if n := strings.Count(err.Error(), ErrConfig.Error()); n != len(tt.want) {
				t.Errorf("error names %d problems, want %d: %v", n, len(tt.want), err)
			}
		})
	}
}

func TestHarnessArgsCarryDefaultsAndRoundTimeoutUp(t *testing.T) {
	c := validConfig()
	c.Seeds = []string{"a:1", "b:2"}
	c.Work, c.Sleep = WorkSleep, 5*time.Millisecond
	c.Timeout = 1500 * time.Millisecond
	args := c.withDefaults().harnessArgs()
	get := func(flag string) string {
		i := slices.Index(args, flag)
		if i < 0 || i+1 >= len(args) {
			t.Fatalf("%s missing from %q", flag, args)
		}
		return args[i+1]
	}
	for flag, want := range map[string]string{
		"--bootstrap": "a:1,b:2", "--topic": "t", "--records": "10", "--ordering": "KEY",
		"--max-concurrency": "16", "--commit-mode": "PERIODIC_CONSUMER_ASYNCHRONOUS", "--batch-size": "1",
		"--work": "sleep", "--sleep-ms": "5", "--timeout-s": "2",
	} {
		if got := get(flag); got != want {
			t.Errorf("%s = %q, want %q", flag, got, want)
		}
	}
	if g := get("--group"); !strings.HasPrefix(g, "kpar-pc-") {
		t.Errorf("default group %q, want a fresh kpar-pc-<ns>", g)
	}
}

// goodLine is a harness line (PC 0.5.3.3, 2,000 records, no-op) in the
// harness's field order.
const goodLine = `{"records":2000,"seconds":1.234567,"records_per_s":1620.000000,"first_record_s":0.900000,` +
	`"steady_records_per_s":5980.000000,"warmup_records":200,"end_records":2000,"first_done_s":0.900100,` +
	`"window_a_s":0.950000,"window_b_s":1.234567,"handler_calls":2000,"mean_handler_ms":0.001000,"duplicates":0,` +
	`"completions":2000,"close_s":0.050000,"cpu_seconds":4.500000,"startup_s":0.600000,` +
	`"jvm":{"version":"17.0.15","vm":"OpenJDK 64-Bit Server VM 17.0.15+6","input_arguments":["-Xmx256m"],` +
	`"max_heap_bytes":268435456,"available_processors":8},` +
	`"options":{"bootstrap":"127.0.0.1:24092","topic":"t","group":"g","ordering":"KEY","max_concurrency":16,` +
	`"commit_mode":"PERIODIC_CONSUMER_ASYNCHRONOUS","batch_size":1,"work":"noop","sleep_ms":0,"timeout_s":300,` +
	`"fetch_max_bytes":1048576,"max_partition_fetch_bytes":1048576},` +
	`"pc_version":"0.5.3.3","kafka_clients_version":"3.9.1"}`

func TestParseLine(t *testing.T) {
	tests := []struct {
		name    string
		stdout  string
		wantErr string // "" means it parses
	}{
		{"the harness line", goodLine + "\n", ""},
		{"without a final newline", goodLine, ""},
		{"after other stdout lines and before blank ones", "[Global flags]\n  bool X = true\n" + goodLine + "\n\n", ""},
		{"empty stdout", "", "stdout is empty"},
		{"only blank lines", "\n \n", "stdout is empty"},
		{"not JSON", "Exception in thread main\n", "invalid character"},
		{"truncated line", goodLine[:len(goodLine)/2], "unexpected EOF"},
		{"JSON not last", goodLine + "\nbye\n", "invalid character"},
		{"unknown field", strings.Replace(goodLine, `"records":2000`, `"records":2000,"extra":1`, 1), `unknown field "extra"`},
		{"trailing data", goodLine + " {}", "trailing data"},
		{"zero records", strings.Replace(goodLine, `"records":2000`, `"records":0`, 1), "missing or zero: records"},
		{"no versions", strings.NewReplacer(`"pc_version":"0.5.3.3"`, `"pc_version":""`,
			`"kafka_clients_version":"3.9.1"`, `"kafka_clients_version":""`).Replace(goodLine),
			"missing or zero: pc_version, kafka_clients_version"},
		{"no warm-up event", strings.Replace(goodLine, `"warmup_records":200`, `"warmup_records":0`, 1), "missing or zero: warmup_records"},
		{"B before A", strings.Replace(goodLine, `"window_a_s":0.950000`, `"window_a_s":1.300000`, 1), "missing or zero: window_a_s, window_b_s"},
		{"stopped short of the records", strings.Replace(goodLine, `"end_records":2000`, `"end_records":1999`, 1), "missing or zero: end_records"},
		{"null rate (first and last record at once)", strings.Replace(goodLine, `"records_per_s":1620.000000`, `"records_per_s":null`, 1),
			"missing or zero: records_per_s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := ParseLine([]byte(tt.stdout))
			if tt.wantErr != "" {
				if !errors.Is(err, ErrNoJSON) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseLine error = %v, want ErrNoJSON containing %q", err, tt.wantErr)
				}
				if out.Records != 0 || out.PCVersion != "" {
					t.Fatalf("ParseLine returned a half result with its error: %+v", out)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseLine: %v", err)
			}
			if out.Records != 2000 || out.Seconds != 1.234567 || out.JVM.MaxHeapBytes != 268435456 ||
				!slices.Equal(out.JVM.InputArguments, []string{"-Xmx256m"}) || out.Options.MaxConcurrency != 16 ||
				out.Options.CommitMode != string(CommitAsync) || out.PCVersion != "0.5.3.3" || out.KafkaClientsVersion != "3.9.1" {
				t.Fatalf("ParseLine = %+v", out)
			}
		})
	}
}

// The harness reports the clock's raw events; Go computes the window with
// internal/clock's arithmetic: (2000 - 200) records between A (0.95 s) and
// B (1.234567 s), the fetch sizes it was given echoed.
func TestParseLineWindowFollowsTheClocksArithmetic(t *testing.T) {
	out, err := ParseLine([]byte(goodLine))
	if err != nil {
		t.Fatal(err)
	}
	w := out.Window()
	wantS := 1.234567 - 0.95
	if w.Records != 2000 || w.WarmupRecords != 200 || w.EndRecords != 2000 || math.Abs(w.Seconds-wantS) > 1e-6 ||
		math.Abs(w.PerS-1800/wantS) > 1e-3 || math.Abs(w.FirstS-0.9001) > 1e-6 || math.Abs(w.TotalS-1.234567) > 1e-6 {
		t.Fatalf("window %+v, want 1800 records over %.6f s", w, wantS)
	}
	if out.Options.FetchMaxBytes != 1<<20 || out.Options.MaxPartitionFetchBytes != 1<<20 {
		t.Fatalf("options %+v: want the fetch sizes echoed", out.Options)
	}
}

// The fetch sizes reach the harness only when set, each under its flag.
func TestHarnessArgsCarryTheFetchSizesWhenSet(t *testing.T) {
	c := Config{Seeds: []string{"h:1"}, Topic: "t", Records: 1}.withDefaults()
	if a := strings.Join(c.harnessArgs(), " "); strings.Contains(a, "fetch") {
		t.Fatalf("unset fetch sizes passed: %s", a)
	}
	c.FetchMaxBytes, c.MaxPartitionFetchBytes = 1<<20, 1<<19
	a := strings.Join(c.harnessArgs(), " ")
	if !strings.Contains(a, "--fetch-max-bytes 1048576") || !strings.Contains(a, "--max-partition-fetch-bytes 524288") {
		t.Fatalf("args %s: want both fetch sizes", a)
	}
}

func TestPomPinsTheDeclaredVersions(t *testing.T) {
	pom := string(pomXML)
	for _, want := range []string{
		"<pc.version>" + PCVersion + "</pc.version>",
		"<kafka-clients.version>" + KafkaClientsVersion + "</kafka-clients.version>",
		"<slf4j.version>" + SLF4JVersion + "</slf4j.version>",
	} {
		if !strings.Contains(pom, want) {
			t.Errorf("assets/pom.xml lacks %s", want)
		}
	}
}
