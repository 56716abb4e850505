package proc

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/clientsec"
)

const envChild = "KPAR_PROC_TEST_CHILD"

type echoSpec struct {
	Word string `json:"word"`
}

// TestMain: the test binary doubles as a child that echoes its spec and
// its commands as JSON lines, and says "gone" when stdin ends.
func TestMain(m *testing.M) {
	if os.Getenv(envChild) == "1" {
		var s echoSpec
		ctx, c, err := ReadSpec(context.Background(), os.Stdin, os.Stdout, &s)
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(2)
		}
		c.Out.Write(map[string]string{"word": s.Word, "user": c.Client.User})
		for cmd := range c.Commands {
			c.Out.Write(map[string]string{"command": cmd})
		}
		<-ctx.Done()
		c.Out.Write(map[string]string{"gone": "yes"})
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func testExe() Exe {
	return Exe{Argv: []string{os.Args[0]}, Env: []string{envChild + "=1"}, Security: clientsec.Settings{}}
}

func TestAChildGetsItsSpecAndCommandsAndEndsWithItsStdin(t *testing.T) {
	var mu sync.Mutex
	var got []map[string]string
	p, err := testExe().Start(t.Context(), "echo", echoSpec{Word: "hello"}, Options{OnLine: func(b []byte) {
		var m map[string]string
		if json.Unmarshal(b, &m) == nil {
			mu.Lock()
			got = append(got, m)
			mu.Unlock()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Send("release"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	p.stdinMu.Lock()
	p.stdin.Close() // the parent is gone
	p.stdinMu.Unlock()
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(); err != nil { // idempotent
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 3 || got[0]["word"] != "hello" || got[1]["command"] != "release" || got[2]["gone"] != "yes" {
		t.Fatalf("lines %v: want the spec's word, the command, then gone", got)
	}
	if u := p.Usage(); u.CPUSeconds <= 0 || u.PeakRSSKiB <= 0 {
		t.Fatalf("usage %+v: want CPU and peak RSS from rusage", u)
	}
}

func TestASignalReachesTheWholeGroup(t *testing.T) {
	// sh starts a sleep of its own; a SIGKILL of the group ends both, so
	// Wait does not wait for the grandchild holding stdout.
	var out strings.Builder
	p, err := Start(t.Context(), "sh", []string{"sh", "-c", "sleep 30 & echo started; wait"}, Options{Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if err := p.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	_ = p.Signal(syscall.SIGCONT)
	start := time.Now()
	p.Kill()
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Kill took %v: the grandchild kept the output open", d)
	}
	if !p.Signaled() || p.ExitCode() != -1 {
		t.Fatalf("signaled %v, exit code %d: want a process we killed", p.Signaled(), p.ExitCode())
	}
}

func TestACancelledContextKillsTheProcessAndTheTailKeepsStderr(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	p, err := Start(ctx, "sh", []string{"sh", "-c", "echo one >&2; echo two >&2; sleep 30"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	cancel()
	select {
	case <-p.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the process outlived its context")
	}
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), "one\ntwo") {
		t.Fatalf("Err() = %v: want the exit with the stderr tail", err)
	}
	if got := p.Tail(1); got != "two" {
		t.Fatalf("Tail(1) = %q, want the last line", got)
	}
}

func TestSpecErrorsNameTheLine(t *testing.T) {
	var s echoSpec
	if _, _, err := ReadSpec(t.Context(), strings.NewReader("not json\n"), os.Stdout, &s); err == nil || !strings.Contains(err.Error(), "spec line") {
		t.Fatalf("err = %v", err)
	}
	if _, _, err := ReadSpec(t.Context(), strings.NewReader(""), os.Stdout, &s); err == nil {
		t.Fatal("no spec line: want an error")
	}
}

func TestTailBufferKeepsTheEnd(t *testing.T) {
	b := &tailBuf{max: 10}
	for _, s := range []string{"0123456", "789ab", "cdef"} {
		b.Write([]byte(s))
	}
	if got := b.String(); !strings.HasSuffix("0123456789abcdef", got) || !strings.HasSuffix(got, "cdef") || len(got) > 10 {
		t.Fatalf("tail = %q", got)
	}
}

func TestParseCoreBusyIsPerCPUWithoutIdle(t *testing.T) {
	stat := "cpu  10 0 10 1000 5 0 0 0 0 0\ncpu0 100 0 50 999 7 0 10 0 0 0\ncpu1 1 2 3 4 5 6 7 8 9 10\nintr 1 2\n"
	m, c := ParseStat(stat)
	// cpu0: user+nice+system+irq+softirq+steal = 100+0+50+0+10+0 ticks.
	if m == nil || *m != 0.2 || len(c) != 2 || c[0] != 1.6 || c[1] != (1+2+3+6+7+8)/100.0 {
		t.Fatalf("got %v %v", m, c)
	}
	if m, c := ParseStat("cpu 1 2 3 4 5 6 7 8\n"); c != nil || m == nil || *m != 0.27 {
		t.Fatalf("no cpuN line parsed: %v %v", m, c)
	}
	if m, c := ParseStat("cpu 1 2 x 4 5 6 7 8\ncpu0 1 2 3 4 5 6 7 8\ncpu1 1 2 3 4 x 6 7 8\n"); m != nil || c != nil {
		t.Fatalf("malformed lines parsed: %v %v", m, c)
	}
}

// A spec's ClientOpts field, which does not travel in the JSON, gets the
// parent's security resolved into client options; a spec without the field
// reads as before.
func TestReadSpecGivesClientOptsTheResolvedSecurity(t *testing.T) {
	var s struct {
		N          int
		ClientOpts []kgo.Opt `json:"-"`
	}
	line := `{"spec":{"N":3},"security":{"tls":true}}` + "\n"
	if _, _, err := ReadSpec(t.Context(), strings.NewReader(line), io.Discard, &s); err != nil {
		t.Fatal(err)
	}
	if s.N != 3 || len(s.ClientOpts) == 0 {
		t.Fatalf("spec %+v: want N 3 and the TLS client options", s)
	}
	var plain echoSpec
	if _, _, err := ReadSpec(t.Context(), strings.NewReader(line), io.Discard, &plain); err != nil {
		t.Fatal(err)
	}
}
