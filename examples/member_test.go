package examples_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/kafka"
	"github.com/kpar/kpar/internal/testkit"
)

// memberProc is one running copy of the member example.
type memberProc struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	out    strings.Builder
	addr   chan string // its /metrics and /healthz address, once printed
	exited chan error  // its exit, once its output is read
}

func startMember(t *testing.T, bin string, args ...string) *memberProc {
	t.Helper()
	m := &memberProc{cmd: exec.Command(bin, args...), addr: make(chan string, 1), exited: make(chan error, 1)}
	m.cmd.Stdout, m.cmd.Stderr = m, m
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.cmd.Process.Kill() })
	go func() { m.exited <- m.cmd.Wait() }()
	return m
}

var addrRE = regexp.MustCompile(`/healthz on (\S+)\n`)

// Write keeps the member's output and picks its address out of it.
func (m *memberProc) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	had := addrRE.MatchString(m.out.String())
	m.out.Write(p)
	if a := addrRE.FindStringSubmatch(m.out.String()); a != nil && !had {
		m.addr <- a[1]
	}
	return len(p), nil
}

func (m *memberProc) output() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.out.String()
}

// Three copies of the member example, as the compose file runs them, share
// one group as three static members: every member gets partitions and
// processes records, /healthz answers, the group commits every record, and
// SIGTERM ends each cleanly with its count.
func TestMembersShareAGroupAndCommitEveryRecord_RealBroker(t *testing.T) {
	seeds := testkit.Brokers(t)
	bin := build(t, "member")
	topic, group := testkit.TopicName(t), testkit.TopicName(t)+"-group"
	const n = 3000
	base := []string{"--brokers", strings.Join(seeds, ","), "--topic", topic}
	runExample(t, bin, append(base, "--produce", "0", "--partitions", "6")...)
	adm := testkit.Admin(t, seeds)
	t.Cleanup(func() { _ = kafka.Delete(context.Background(), adm, topic) })

	ids := []string{"member-1", "member-2", "member-3"}
	var ms []*memberProc
	for _, id := range ids {
		ms = append(ms, startMember(t, bin, append(base, "--group", group, "--instance", id, "--work", "10ms", "--concurrency", "16")...))
	}
	waitFor(t, "three static members, each with partitions", func(ctx context.Context) (bool, string) {
		gs, err := adm.DescribeGroups(ctx, group)
		if err != nil {
			return false, err.Error()
		}
		g := gs[group]
		var got []string
		for _, m := range g.Members {
			if a, ok := m.Assigned.AsConsumer(); ok && len(a.Topics) > 0 && m.InstanceID != nil {
				got = append(got, *m.InstanceID)
			}
		}
		return len(got) == len(ids), fmt.Sprintf("state %s, assigned static members %v", g.State, got)
	})
	runExample(t, bin, append(base, "--produce", strconv.Itoa(n))...)
	waitFor(t, "the group's commits at the topic's end", func(ctx context.Context) (bool, string) {
		ends, err := kafka.EndsOf(ctx, adm, topic)
		if err != nil {
			return false, err.Error()
		}
		cs, err := adm.FetchOffsets(ctx, group)
		if err != nil {
			return false, err.Error()
		}
		var done int64
		for p, end := range ends {
			if o, ok := cs.Lookup(topic, p); ok && o.At == end {
				done += end
			}
		}
		return done == n, fmt.Sprintf("%d of %d records committed", done, n)
	})

	for _, m := range ms {
		var addr string
		select {
		case addr = <-m.addr:
		case <-time.After(10 * time.Second):
			t.Fatalf("a member printed no address:\n%s", m.output())
		}
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), "ok:") {
			t.Errorf("/healthz of a live member: %d %q", resp.StatusCode, body)
		}
		_ = m.cmd.Process.Signal(syscall.SIGTERM)
	}
	total := 0
	for i, m := range ms {
		select {
		case err := <-m.exited:
			if err != nil {
				t.Errorf("%s exited %v after SIGTERM:\n%s", ids[i], err, m.output())
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s still runs 30 s after SIGTERM:\n%s", ids[i], m.output())
		}
		var got int
		out := m.output()
		if _, err := fmt.Sscanf(out[strings.Index(out, "member "+ids[i]+": "):], "member "+ids[i]+": processed %d records", &got); err != nil {
			t.Fatalf("%s printed no count: %v\n%s", ids[i], err, out)
		}
		t.Logf("%s processed %d records", ids[i], got)
		if got == 0 {
			t.Errorf("%s processed no record: its partitions were not its own", ids[i])
		}
		total += got
	}
	if total < n {
		t.Errorf("the members processed %d records in all, fewer than the %d committed", total, n)
	}
}

// waitFor polls cond every 200 ms for a minute.
func waitFor(t *testing.T, what string, cond func(ctx context.Context) (bool, string)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	last := ""
	for {
		ok, state := cond(ctx)
		if ok {
			return
		}
		last = state
		select {
		case <-ctx.Done():
			t.Fatalf("no %s within a minute: %s", what, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
