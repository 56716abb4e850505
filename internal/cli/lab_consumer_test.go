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
