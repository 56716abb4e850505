package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kpar/kpar/internal/testkit"
)

// badFlag is a command line that must fail naming want (name: the subtest;
// empty, the args).
type badFlag struct {
	name string
	args []string
	want string
}

// refusedBeforeTheBroker runs cmd against the unreachable broker
// 127.0.0.1:1 with --out and each case's args, in a subtest each. Every run
// must fail naming its flag, before any broker is looked up (the error
// names neither the address nor any of absent), print nothing and create
// no --out.
func refusedBeforeTheBroker(t *testing.T, cmd []string, cases []badFlag, absent ...string) {
	t.Helper()
	for _, c := range cases {
		name := c.name
		if name == "" {
			name = strings.Join(c.args, " ")
		}
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "results")
			args := append(append([]string{"--brokers", "127.0.0.1:1"}, cmd...), "--out", out)
			stdout, err := runKpar(t, append(args, c.args...)...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want an error containing %q, got %v", c.want, err)
			}
			for _, a := range append([]string{"127.0.0.1:1"}, absent...) {
				if strings.Contains(err.Error(), a) {
					t.Fatalf("a bad flag reached the broker: %v", err)
				}
			}
			if stdout != "" {
				t.Fatalf("a bad flag printed: stdout %q", stdout)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatalf("a bad flag created --out: %v", err)
			}
		})
	}
}

// Every bad flag of every measuring command fails by name before any
// broker is looked up or any JVM started, and nothing is written: the
// broker here does not exist, so an error about it would mean the flags
// were checked too late.
func TestEveryCommandNamesABadFlagBeforeAnyBrokerLookup(t *testing.T) {
	dir := t.TempDir()
	good := testkit.WriteFile(t, dir, "good.csv", "id,v\n1,a\n")
	for _, tc := range []struct {
		cmd    []string
		cases  []badFlag
		absent []string
	}{
		{[]string{"bench", "consume"}, []badFlag{
			{"", []string{"--records", "-5"}, "--records -5"},
			{"", []string{"--partitions", "0"}, "--partitions 0"},
			{"", []string{"--keys", "0"}, "--keys 0"},
			{"", []string{"--cpu-concurrency", "0"}, "--cpu-concurrency 0"},
			{"", []string{"--fetch-max-bytes", "-1"}, "--fetch-max-bytes -1"},
			{"", []string{"--sleep", "0s"}, "--sleep 0s"},
			{"", []string{"--order", "sideways"}, `--order: `},
			{"", []string{"--only", "io,mem"}, `--only: unknown measurement "mem"`},
			{"", []string{"--repeat", "0"}, "--repeat 0"},
			{"", []string{"--min-window", "0s"}, "--min-window 0s"},
			{"", []string{"--min-window", "-3s"}, "--min-window -3s"},
		}, []string{"broker"}},
		// A broker lookup would fail naming the address (--pin's own
		// messages say "broker", the side).
		{[]string{"bench", "produce", "--input", good}, []badFlag{
			{"", []string{"--partitions", "0"}, `--partitions "0": 0 must be at least 1`},
			{"", []string{"--partitions", "1,x,12"}, `--partitions "1,x,12": "x" is not a whole number`},
			{"", []string{"--partitions", ""}, `--partitions "": no number given`},
			{"", []string{"--record-size", "100,-5"}, `--record-size "100,-5": -5 must be at least 0`},
			{"", []string{"--record-size", "1k"}, `--record-size "1k": "1k" is not a whole number`},
			{"", []string{"--record-size", "2000000"}, "--record-size 2000000"},
			{"", []string{"--pin", "broker=0"}, `--pin "broker=0": name both sides`},
			{"", []string{"--pin", "broker=0,bench=0"}, "--pin: CPU 0 is given to both"},
			{"", []string{"--pin", "broker=x,bench=1"}, `--pin "broker=x,bench=1": broker: "x" is not a CPU number`},
			{"", []string{"--pin", "cpu=0,bench=1"}, `--pin "cpu=0,bench=1": want broker=CPUS,bench=CPUS`},
			{"", []string{"--pin", "broker=0,bench=99"}, "--pin: CPU 99 does not exist"},
			{"", []string{"--vs-kcat", "--kcat", filepath.Join(dir, "no-kcat")}, "--vs-kcat: exec"},
			{"", []string{"--vs-kcat", "--no-flush"}, "--vs-kcat with --no-flush"},
			{"", []string{"--repeat", "0"}, "--repeat 0"},
			{"", []string{"--producers", "0"}, `--producers "0"`},
			{"", []string{"--warmup", "-1"}, "--warmup -1"},
			{"", []string{"--batch-size", "big"}, `--batch-size "big"`},
			{"", []string{"--vs-java", "--no-flush"}, "--vs-java with --no-flush"},
			{"", []string{"--input", filepath.Join(dir, "nope.csv")}, "--input"},
		}, nil},
		{[]string{"compare", "consume"}, []badFlag{
			{"", []string{"--concurrency", "16,x"}, `--concurrency "16,x": "x" is not a whole number`},
			{"", []string{"--concurrency", "0"}, `--concurrency "0": 0 must be at least 1`},
			{"", []string{"--concurrency", "16,16"}, "--concurrency 16: given twice"},
			{"", []string{"--io-records", "0"}, "--io-records 0"},
			{"", []string{"--rss-records", "-1"}, "--rss-records -1"},
			{"", []string{"--sleep", "2500us"}, "--sleep 2.5ms"},
			{"", []string{"--pc-heap", "half"}, `--pc-heap "half"`},
			{"", []string{"--timeout", "0s"}, "--timeout 0s"},
			{"", []string{"--repeat", "0"}, "--repeat 0"},
			{"", []string{"--min-window", "0s"}, "--min-window 0s"},
			{"", []string{"--pc-heap-steps", "-1"}, "--pc-heap-steps -1"},
			{"", []string{"--pc-heap-timeout", "-1s"}, "--pc-heap-timeout -1s"},
			{"", []string{"--source-root", os.TempDir()}, "lines of code of naive loop"},
		}, nil},
		{[]string{"lab", "consumer"}, []badFlag{
			{"negative records", []string{"--records", "-5"}, "--records -5: must be at least 1"},
			{"no workers", []string{"--workers", "0"}, "--workers 0: must be at least 1"},
			{"no partitions", []string{"--partitions", "0"}, "--partitions 0: must be at least 1"},
			{"negative seed", []string{"--seed", "-3"}, "--seed -3: must be at least 0"},
			{"unknown strategy", []string{"--strategies", "yolo"}, `--strategies: unknown strategy "yolo"`},
			{"unknown fault", []string{"--scenarios", "ooo+meteor"}, `unknown fault "meteor"`},
			{"cell without slash", []string{"--cell", "lib-key"}, `--cell "lib-key": want strategy/scenario`},
			{"crash-at not a number", []string{"--crash-at", "500,x"}, `--crash-at "500,x": "x" is not a whole number`},
			{"crash-at not increasing", []string{"--crash-at", "500,100"}, "--crash-at 500,100: want increasing positive"},
			{"chance above one", []string{"--transient", "1.5"}, "--transient 1.5: must be a chance between 0 and 1"},
		}, nil},
		// With the valid names where there is a list.
		{[]string{"lab", "group"}, []badFlag{
			{"unknown event", []string{"--events", "join,meteor"}, `--events: unknown event "meteor" (valid: join, leave, kill, restart-static, restart-dynamic)`},
			{"unknown assignor", []string{"--assignors", "eager"}, `--assignors: unknown assignor "eager" (valid: range, roundrobin, sticky, cooperative-sticky, kip848-uniform, kip848-range)`},
			{"unknown parallel assignor", []string{"--parallel", "kip848"}, `--parallel: unknown assignor "kip848"`},
			{"bad cell", []string{"--cell", "join"}, `--cell "join": want event/assignor`},
			{"cell with unknown event", []string{"--cell", "crash/range"}, `--cell: unknown event "crash"`},
			{"no rate", []string{"--rate", "0"}, "--rate 0: must be at least 1"},
			{"event after the stream", []string{"--event-at", "20s"}, "--event-at 20s: must fall inside the stream"},
			{"short session", []string{"--session-timeout", "2s"}, "--session-timeout 2s: must be at least 6s"},
			{"nothing to run", []string{"--assignors", "none", "--parallel", "none"}, "no cell to run"},
			{"unknown settings experiment", []string{"--settings", "reset,bogus"}, `--settings: --experiments: unknown experiment "bogus" (valid: reset, autocommit, isolation, pollinterval)`},
		}, nil},
		{[]string{"lab", "group-settings"}, []badFlag{
			{"unknown experiment", []string{"--experiments", "reset,rebalance"},
				`--experiments: unknown experiment "rebalance" (valid: reset, autocommit, isolation, pollinterval)`},
			{"no experiment", []string{"--experiments", " , "}, "--experiments: none given"},
			{"twice", []string{"--experiments", "reset,reset"}, "--experiments: reset is named twice"},
			{"few records", []string{"--records", "10"}, "--records 10: must be at least 100"},
			{"negative seed", []string{"--seed", "-1"}, "--seed -1: must not be negative"},
		}, nil},
		{[]string{"lab", "producer"}, []badFlag{
			{"", []string{"--settings=acks2"}, `--settings: unknown setting "acks2"`},
			{"", []string{"--faults=meteor"}, `--faults: unknown fault "meteor"`},
			{"", []string{"--cell=acks1-if5"}, `--cell "acks1-if5": want setting/fault`},
			{"", []string{"--freeze=5s"}, "--freeze 5s: must be longer than the brokers' session timeout"},
			{"", []string{"--producers=0"}, "--producers 0: must be at least 1"},
			{"", []string{"--seed=-1"}, "--seed -1: must be at least 0"},
		}, nil},
	} {
		t.Run(strings.Join(tc.cmd[:2], " "), func(t *testing.T) { refusedBeforeTheBroker(t, tc.cmd, tc.cases, tc.absent...) })
	}
}

// With good flags every command gets as far as the broker: an unreachable
// one is named, within bench produce's --timeout where it has one, and
// --out is not created.
func TestAnUnreachableBrokerIsNamedAndNothingWritten(t *testing.T) {
	in := testkit.WriteFile(t, t.TempDir(), "good.csv", "id,v\n1,a\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "consume"}, "broker 127.0.0.1:1"},
		{[]string{"bench", "produce", "--timeout", "2s", "--input", in}, "broker 127.0.0.1:1"},
		{[]string{"lab", "consumer", "--cell", "lib-key/ooo"}, "broker 127.0.0.1:1 does not answer"},
		{[]string{"lab", "group-settings", "--experiments", "reset", "--records", "100"}, "broker 127.0.0.1:1 does not answer"},
	} {
		t.Run(strings.Join(tc.args[:2], " "), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "results")
			start := time.Now()
			_, err := runKpar(t, append(append([]string{"--brokers", "127.0.0.1:1"}, tc.args...), "--out", out)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error naming %q, got %v", tc.want, err)
			}
			if el := time.Since(start); el > 15*time.Second {
				t.Fatalf("took %s to give up on the broker", el)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatalf("an unreachable broker created --out: %v", err)
			}
		})
	}
}

// A run that fails after the broker answered, refusing to create its
// topics, leaves --out as it was: nothing written into a new one, an older
// run's file in an existing one untouched. bench consume on the real broker
// (it refuses the topic name), lab consumer on kfake refusing every topic.
func TestARunWhoseTopicsAreRefusedWritesNothing(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		brokers func(testing.TB) []string
		older   string // a file of an older run in --out, or none
		want    string
	}{
		{[]string{"bench", "consume", "--only", "io", "--topic-prefix", "bad/prefix", "--records", "10"},
			testkit.Brokers, "", "create topic bad/prefix"},
		{[]string{"lab", "consumer", "--cell", "lib-key/ooo", "--records", "10"}, refusingTopics, "lab-consumer.json", "create topic"},
	} {
		t.Run(strings.Join(tc.args[:2], " "), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "res")
			if tc.older != "" {
				testkit.WriteFile(t, out, tc.older, "older run")
			}
			_, err := runKpar(t, append(append([]string{"--brokers", strings.Join(tc.brokers(t), ",")}, tc.args...), "--out", out)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if tc.older == "" {
				assertNothingWritten(t, out)
				return
			}
			files, _ := os.ReadDir(out)
			if b, _ := os.ReadFile(filepath.Join(out, tc.older)); len(files) != 1 || string(b) != "older run" {
				t.Fatalf("a failed run changed --out: %v", files)
			}
		})
	}
}

// refusingTopics is a kfake cluster that refuses to create any topic.
func refusingTopics(t testing.TB) []string {
	c := testkit.KfakeCluster(t, kfake.NumBrokers(1))
	c.ControlKey(int16(kmsg.CreateTopics), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		creq := req.(*kmsg.CreateTopicsRequest)
		resp := creq.ResponseKind().(*kmsg.CreateTopicsResponse)
		for _, rt := range creq.Topics {
			st := kmsg.NewCreateTopicsResponseTopic()
			st.Topic, st.ErrorCode = rt.Topic, kerr.PolicyViolation.Code
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	return c.ListenAddrs()
}
