package cli

import (
	"os"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kpar/kpar/internal/testkit"
)

// A run that fails after the broker answered (here: it refuses to create
// the cell's topics) writes nothing, not even an older run's files are
// touched.
func TestLabConsumerFailedRunWritesNothing(t *testing.T) {
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
	out := t.TempDir()
	old := testkit.WriteFile(t, out, "lab-consumer.json", "older run")
	_, err := runKpar(t, "--brokers", strings.Join(c.ListenAddrs(), ","), "lab", "consumer", "--cell", "lib-key/ooo",
		"--records", "10", "--out", out)
	if err == nil || !strings.Contains(err.Error(), "create topic") {
		t.Fatalf("want the topic refusal, got %v", err)
	}
	files, _ := os.ReadDir(out)
	if b, _ := os.ReadFile(old); len(files) != 1 || string(b) != "older run" {
		t.Fatalf("a failed run changed --out: %v", files)
	}
}
