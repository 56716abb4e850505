package examples_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/kafka"
	"github.com/kpar/kpar/internal/testkit"
)

const (
	clusterFile = "../deploy/docker-compose.yml"
	membersFile = "../deploy/compose.consumers.yml"
)

// composeMembers reads the consumer file's member services: instance id and
// published metrics port by service name, the brokers they are given, and
// the partitions the load creates.
func composeMembers(t *testing.T) (ids, ports map[string]string, brokers []string, partitions int) {
	t.Helper()
	b, err := os.ReadFile(membersFile)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	ids, ports = map[string]string{}, map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^  (member-\d+):\n((?:    .*\n)*)`).FindAllStringSubmatch(doc, -1) {
		if id := regexp.MustCompile(`INSTANCE_ID: (\S+)\}`).FindStringSubmatch(m[2]); id != nil {
			ids[m[1]] = id[1]
		}
		if p := regexp.MustCompile(`ports: \["(\d+):9100"\]`).FindStringSubmatch(m[2]); p != nil {
			ports[m[1]] = p[1]
		}
	}
	if bs := regexp.MustCompile(`KAFKA_BROKERS: (\S+)`).FindStringSubmatch(doc); bs != nil {
		brokers = strings.Split(bs[1], ",")
	}
	if p := regexp.MustCompile(`"--partitions", "(\d+)"`).FindStringSubmatch(doc); p != nil {
		partitions, _ = strconv.Atoi(p[1])
	}
	return ids, ports, brokers, partitions
}

// The consumer compose file wires what the member example needs: every
// member a static member of its own id with its own metrics port, the
// brokers exactly the cluster file's internal listeners, no more members
// than the topic has partitions, and the image built from the example.
func TestComposeMembersAreDistinctStaticMembersOfTheCluster(t *testing.T) {
	ids, ports, brokers, partitions := composeMembers(t)
	if len(ids) < 2 {
		t.Fatalf("%d member services with an INSTANCE_ID, want several", len(ids))
	}
	seenID, seenPort := map[string]bool{}, map[string]bool{}
	for svc, id := range ids {
		if seenID[id] || seenPort[ports[svc]] || ports[svc] == "" {
			t.Errorf("%s: instance id %q or metrics port %q missing or shared", svc, id, ports[svc])
		}
		seenID[id], seenPort[ports[svc]] = true, true
	}
	if len(ids) > partitions {
		t.Errorf("%d members for %d partitions: the extra ones would sit idle", len(ids), partitions)
	}
	cluster, err := os.ReadFile(clusterFile)
	if err != nil {
		t.Fatal(err)
	}
	var internal []string
	for _, m := range regexp.MustCompile(`INTERNAL://(kafka-\d+:\d+)`).FindAllStringSubmatch(string(cluster), -1) {
		internal = append(internal, m[1])
	}
	if strings.Join(internal, ",") != strings.Join(brokers, ",") {
		t.Errorf("members are given brokers %v, the cluster's internal listeners are %v", brokers, internal)
	}
	df, err := os.ReadFile("../deploy/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(df), "go build -trimpath -o /member ./examples/member") {
		t.Error("deploy/Dockerfile does not build examples/member")
	}
}

// Where Docker with compose runs, the two files together: the load writes
// its records, the three members commit every one, and each completed some.
func TestComposeMembersCommitEveryRecord_Docker(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an image and starts a 3-node cluster in Docker")
	}
	if exec.Command("docker", "compose", "version").Run() != nil || exec.Command("docker", "info").Run() != nil {
		t.Skip("needs Docker with compose and a running daemon (kpar's own tests run on jars, not Docker)")
	}
	ids, ports, _, _ := composeMembers(t)
	compose := func(ctx context.Context, args ...string) ([]byte, error) {
		return exec.CommandContext(ctx, "docker", append([]string{"compose", "-p", "kpar-compose-test", "-f", clusterFile, "-f", membersFile}, args...)...).CombinedOutput()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	t.Cleanup(func() { _, _ = compose(context.Background(), "down", "-v", "--remove-orphans") })
	if out, err := compose(ctx, "up", "-d", "--build"); err != nil {
		t.Fatalf("compose up: %v\n%s", err, out)
	}
	if out, err := compose(ctx, "wait", "load"); err != nil || strings.TrimSpace(string(out)) != "0" {
		logs, _ := compose(ctx, "logs", "load")
		t.Fatalf("the load did not exit 0: %v %s\n%s", err, out, logs)
	}
	adm := testkit.Admin(t, []string{"127.0.0.1:9092", "127.0.0.1:9093", "127.0.0.1:9094"})
	var n int64
	for {
		ends, err := kafka.EndsOf(ctx, adm, "orders")
		cs, ferr := adm.FetchOffsets(ctx, "orders")
		n = 0
		var done int64
		for p, end := range ends {
			n += end
			if o, ok := cs.Lookup("orders", p); ok && o.At == end {
				done += end
			}
		}
		if err == nil && ferr == nil && n > 0 && done == n {
			break
		}
		select {
		case <-ctx.Done():
			logs, _ := compose(context.Background(), "logs", "--tail", "20")
			t.Fatalf("the group committed %d of %d records (%v, %v)\n%s", done, n, err, ferr, logs)
		case <-time.After(time.Second):
		}
	}
	for svc := range ids {
		resp, err := http.Get("http://127.0.0.1:" + ports[svc] + "/metrics")
		if err != nil {
			t.Fatalf("%s's metrics: %v", svc, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := regexp.MustCompile(`(?m)^kpar_parallel_records_completed_total (\d+)`).FindSubmatch(body)
		if m == nil || string(m[1]) == "0" {
			t.Errorf("%s completed no record: %s", svc, firstLine(body, "kpar_parallel_records_completed_total"))
		}
	}
	t.Logf("%d records committed by %d members", n, len(ids))
}

func firstLine(b []byte, prefix string) string {
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return fmt.Sprintf("no %s line", prefix)
}
