package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Every bad flag fails by name before any broker is looked up: the broker
// here does not exist, so an error about it would mean the flags were
// checked too late.
func TestLabConsumerBadFlagFailsByNameBeforeTheBrokerAndWritesNothing(t *testing.T) {
	refusedBeforeTheBroker(t, []string{"lab", "consumer"}, []badFlag{
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
	})
}

func TestLabConsumerUnreachableBrokerIsNamed(t *testing.T) {
	out := filepath.Join(t.TempDir(), "results")
	_, err := runKpar(t, "--brokers", "127.0.0.1:1", "lab", "consumer", "--cell", "lib-key/ooo", "--out", out)
	if err == nil || !strings.Contains(err.Error(), "broker 127.0.0.1:1 does not answer") {
		t.Fatalf("want the unreachable broker named, got %v", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("an unreachable broker created --out: %v", err)
	}
}

// A run that fails after the broker answered (here: it refuses to create
// the cell's topics) writes nothing, not even an older run's files are
// touched.
func TestLabConsumerFailedRunWritesNothing(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
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
	out := t.TempDir()
	old := filepath.Join(out, "lab-consumer.json")
	if err := os.WriteFile(old, []byte("older run"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = runKpar(t, "--brokers", strings.Join(c.ListenAddrs(), ","), "lab", "consumer", "--cell", "lib-key/ooo",
		"--records", "10", "--out", out)
	if err == nil || !strings.Contains(err.Error(), "create topic") {
		t.Fatalf("want the topic refusal, got %v", err)
	}
	files, _ := os.ReadDir(out)
	if b, _ := os.ReadFile(old); len(files) != 1 || string(b) != "older run" {
		t.Fatalf("a failed run changed --out: %v", files)
	}
}
