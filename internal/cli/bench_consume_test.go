package cli

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/bench/consume"
	"github.com/kpar/kpar/internal/clock"
	"github.com/kpar/kpar/internal/testkit"
)

// A measured window shorter than --min-window is refused: the command fails
// naming each contender too short and the records it would need, and
// writes nothing. On kfake (a functional broker: the refusal, not a rate).
func TestBenchConsumeRefusesAWindowTooShortAndWritesNothing(t *testing.T) {
	seeds := testkit.Kfake(t)
	out := filepath.Join(t.TempDir(), "res")
	_, err := runKpar(t, "bench", "consume", "--brokers", strings.Join(seeds, ","), "--only", "cpu", "--partitions", "2", "--value-size", "1000",
		"--cpu-records", "8000", "--repeat", "1", "--min-window", "1h", "--out", out)
	if !errors.Is(err, clock.ErrTooShort) {
		t.Fatalf("error %v, want %v", err, clock.ErrTooShort)
	}
	for _, want := range []string{"raise --cpu-records", "kpar: measured window too short", "plain franz-go, FetchMaxBytes ", "measured window too short",
		"plain franz-go, default fetch: measured window too short", "it needs about"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	assertNothingWritten(t, out)
	// The io run the same way, and the boundary: the same run with a
	// window it can meet writes results.
	io := []string{"bench", "consume", "--brokers", strings.Join(seeds, ","), "--only", "io", "--partitions", "2",
		"--records", "2000", "--sleep", "1ms", "--repeat", "2", "--out", out}
	if _, err := runKpar(t, append(io, "--min-window", "1h")...); !errors.Is(err, clock.ErrTooShort) || !strings.Contains(err.Error(), "raise --records") {
		t.Fatalf("io with --min-window 1h: %v", err)
	}
	assertNothingWritten(t, out)
	if _, err := runKpar(t, append(io, "--min-window", "1ns")...); err != nil {
		t.Fatalf("--min-window 1ns: %v", err)
	}
	var r consume.Result
	if err := consume.Kind.Read(filepath.Join(out, consume.Kind.File), &r); err != nil || r.MinWindowS != 1e-9 || len(r.IO.Repeats) != 2 {
		t.Fatalf("results (%v): %+v", err, r)
	}
}

// The command end to end on the real broker, as the kpar binary (the rss
// child is `kpar child consume-rss`): it writes consume.json and consume.md
// by default into --out, prints the text summary, and with --json prints the
// data alone.
func TestBenchConsumeWritesResultsAndJSONIsOnlyData(t *testing.T) {
	seeds := testkit.Brokers(t)
	dir := t.TempDir()
	prefix := testkit.TopicName(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		testkit.Admin(t, seeds).DeleteTopics(ctx, prefix+"-io-3p-1000k-100v", prefix+"-big-3p-100v")
	})
	args := []string{"--brokers", strings.Join(seeds, ","), "bench", "consume", "--topic-prefix", prefix, "--partitions", "3",
		"--records", "1000", "--rss-records", "3000", "--repeat", "2", "--min-window", "1ns"}

	out := filepath.Join(dir, "text")
	bin := kparBinary(t)
	// io and rss: the cpu contenders' windows on a real broker are in
	// internal/bench/consume's real-broker test (a small topic's plain loop
	// reads everything in one poll, which the clock refuses).
	stdout, _ := runBinary(t, bin, append(args, "--only", "io,rss", "--out", out)...)
	for _, want := range []string{"of the ideal", "median of 2 repeats", "; bound by ", "(target 90% of the ideal: ", "peak RSS over a 3,000-record backlog"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	var r consume.Result
	if err := consume.Kind.Read(filepath.Join(out, consume.Kind.File), &r); err != nil {
		t.Fatal(err)
	}
	if r.IO == nil || r.RSS == nil || r.RSS.Records != 3000 || r.RSS.PeakRSSKiB <= 0 || r.IO.Target != consume.IOTarget || len(r.Command) < 3 {
		t.Fatalf("consume.json: %+v", r)
	}
	md, err := os.ReadFile(filepath.Join(out, "consume.md"))
	if err != nil || !strings.Contains(string(md), r.IO.BoundBy) || !strings.Contains(string(md), "1,000 records, 3 partitions") {
		t.Fatalf("consume.md (%v) lacks the verdict %q:\n%s", err, r.IO.BoundBy, md)
	}

	out = filepath.Join(dir, "json")
	stdout, _ = runBinary(t, bin, append(args, "--only", "io", "--out", out, "--json")...)
	var j consume.Result
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(&j); err != nil || dec.More() {
		t.Fatalf("--json stdout is not the data alone (%v):\n%s", err, stdout)
	}
	if j.Schema != consume.Kind.Schema || j.Version != consume.Kind.Version || j.IO == nil || j.CPU != nil || j.RSS != nil {
		t.Fatalf("--json printed %+v", j)
	}
	if _, err := os.Stat(filepath.Join(out, consume.Kind.File)); err != nil {
		t.Fatalf("--json did not write --out too: %v", err)
	}
}
