package cli

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kpar/kpar/internal/compare"
	"github.com/kpar/kpar/internal/testkit"
)

// The command end to end on the real broker with tiny sizes, as the kpar
// binary (its children are `kpar child compare-kpar|compare-plain` and PC's
// JVM): every side of every measurement finished and every file is written;
// --json prints the data alone. No figure's size is checked.
func TestCompareConsumeEveryContenderFinishesAndEveryFileIsWritten(t *testing.T) {
	seeds := testkit.Brokers(t)
	prefix := testkit.TopicName(t)
	t.Cleanup(func() {
		adm := testkit.Admin(t, seeds)
		ctx := t.Context()
		adm.DeleteTopics(ctx, prefix+"-io-12p-1000k-100v", prefix+"-backlog-12p-1000k-100v")
	})
	out := filepath.Join(t.TempDir(), "res")
	stdout, stderr := runBinary(t, kparBinary(t), "--brokers", strings.Join(seeds, ","), "compare", "consume",
		"--topic-prefix", prefix, "--io-records", "2000", "--concurrency", "16,64", "--noop-records", "5000", "--rss-records", "20000",
		"--dlq-records", "5000", "--repeat", "2", "--min-window", "1ns", "--pc-heap-steps", "1", "--timeout", "90s", "--json", "--out", out)
	var r compare.Result
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(&r); err != nil || dec.More() {
		t.Fatalf("--json stdout is not the data alone (%v):\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	if !strings.Contains(stderr, "io c=64: kpar ") || !strings.Contains(stderr, "noop: kpar ") {
		t.Errorf("stderr lacks the per-measurement lines:\n%s", stderr)
	}
	var back compare.Result
	if err := compare.Kind.Read(filepath.Join(out, compare.Kind.File), &back); err != nil {
		t.Fatal(err)
	}
	finished := func(what string, s compare.Side, records int64) {
		t.Helper()
		if !s.Finished || s.Records != records || s.SteadyPerS <= 0 || s.CPUSeconds <= 0 || s.PeakRSSKiB <= 0 {
			t.Errorf("%s: %+v, want %d records finished with a rate, CPU and RSS", what, s, records)
		}
	}
	if len(r.IO) != 2 || r.IO[0].Concurrency != 16 || r.IO[1].Concurrency != 64 {
		t.Fatalf("io points %+v", r.IO)
	}
	for _, p := range r.IO {
		finished("io kpar", p.Kpar, 2000)
		finished("io pc", p.PC, 2000)
		finished("io share", p.Share, 2000)
		if p.KparShare == nil {
			t.Errorf("io c=%d: no kpar-share side", p.Concurrency)
		} else {
			finished("io kpar-share", *p.KparShare, 2000)
		}
		// Order is counted for every io run (kpar's is 0 by construction,
		// reported, not asserted here).
		if p.Kpar.Order == nil || p.Share.Order == nil || p.Share.Order.Records == 0 || p.Share.Members != 2 {
			t.Errorf("io c=%d: order kpar %+v, share %+v, share members %d", p.Concurrency, p.Kpar.Order, p.Share.Order, p.Share.Members)
		}
		if p.Kpar.MeanHandlerMs < 5 || p.PC.MeanHandlerMs < 5 || p.Kpar.IdealShare <= 0 || p.PC.IdealShare <= 0 || p.Speedup <= 0 {
			t.Errorf("io c=%d: handler means %v/%v, shares %v/%v, speedup %v", p.Concurrency, p.Kpar.MeanHandlerMs, p.PC.MeanHandlerMs,
				p.Kpar.IdealShare, p.PC.IdealShare, p.Speedup)
		}
	}
	finished("noop kpar", r.Noop.Kpar, 5000)
	finished("noop pc", r.Noop.PC, 5000)
	finished("noop plain", r.Noop.Plain, 5000)
	finished("noop share", r.Noop.Share, 5000)
	finished("rss share", r.RSS.Share, 20000)
	if j := r.Noop.JavaShare; j.Records < 5000 || j.RecordsPerS <= 0 || j.CPUSeconds <= 0 || j.PeakRSSKiB <= 0 || j.Threads != 2 {
		t.Errorf("ShareConsumerPerformance %+v", j)
	}
	if r.Noop.KparShare == nil || r.RSS.KparShare == nil || len(r.ShareFindings) == 0 {
		t.Errorf("kpar-share noop %v, rss %v, findings %d", r.Noop.KparShare, r.RSS.KparShare, len(r.ShareFindings))
	}
	// The dead-letter part: each way twice, interleaved, every record that
	// failed for good dead-lettered once.
	if d := r.DeadLetters; d == nil || len(d.Ways) != 2 || len(d.Runs) != 4 || len(d.Ratios) != 2 {
		t.Errorf("dead letters %+v: want 2 ways, 4 runs, 2 ratios", d)
	} else {
		for i, run := range d.Runs {
			want := []string{compare.WayKpar, compare.WayBroker}[i%2]
			if run.Way != want || run.Failed == 0 || run.DeadLetters != run.Failed || run.Distinct != run.Failed || run.Wrong != 0 {
				t.Errorf("dead-letter run %d: %+v, want %s dead-lettering each of its failed records once", i, run, want)
			}
		}
	}
	finished("rss kpar", r.RSS.Kpar, 20000)
	finished("rss plain", r.RSS.Plain, 20000)
	finished("rss pc", r.RSS.PC, 20000)
	if r.RSS.PCCapped.Finished == (r.RSS.PCCapped.DidNotFinish != "") || !r.RSS.CapFromKpar || r.RSS.PCCapped.JVMFlags[0] != "-Xmx"+r.RSS.CapHeap {
		t.Errorf("capped pc run %+v (cap %s)", r.RSS.PCCapped, r.RSS.CapHeap)
	}
	// PC's capped run got the fetch sizes kpar's client ran with.
	if hs := r.RSS.HeapSearch; hs == nil || len(hs.Steps) != 1 || hs.FetchMaxBytes != r.RSS.Kpar.FetchMaxBytes || hs.FetchMaxBytes <= 0 ||
		hs.MaxPartitionFetchBytes != r.RSS.Kpar.FetchMaxPartitionBytes || hs.MaxPartitionFetchBytes <= 0 ||
		r.RSS.PCCapped.FetchMaxBytes != hs.FetchMaxBytes {
		t.Errorf("heap search %+v, kpar's fetch sizes %d/%d", hs, r.RSS.Kpar.FetchMaxBytes, r.RSS.Kpar.FetchMaxPartitionBytes)
	}
	// Two interleaved repeats of every io and no-op contender, ratios per
	// repeat, every window from the clock.
	for _, p := range r.IO {
		if len(p.Kpar.Repeats) != 2 || len(p.PC.Repeats) != 2 || len(p.Share.Repeats) != 2 || len(p.SpeedupRuns) != 2 {
			t.Errorf("io c=%d: repeats kpar %d, pc %d, share %d, ratios %v", p.Concurrency, len(p.Kpar.Repeats), len(p.PC.Repeats), len(p.Share.Repeats), p.SpeedupRuns)
		}
		for _, s := range append(append([]compare.Side{}, p.Kpar.Repeats...), p.PC.Repeats...) {
			if w := s.Window; w.Records != 2000 || w.WarmupRecords < 200 || w.EndRecords < 2000 || w.Seconds <= 0 || w.PerS != s.SteadyPerS {
				t.Errorf("io c=%d %s: window %+v, rate %v", p.Concurrency, s.Contender, w, s.SteadyPerS)
			}
		}
	}
	if len(r.Noop.VsPlainRuns) != 2 || len(r.Noop.PlainDefault.Repeats) != 2 || len(r.Noop.PlainSameFetch.Repeats) != 2 || len(r.Failures) != 0 {
		t.Errorf("noop: vs plain %v, plain repeats %d/%d, failures %+v", r.Noop.VsPlainRuns, len(r.Noop.PlainDefault.Repeats),
			len(r.Noop.PlainSameFetch.Repeats), r.Failures)
	}
	if r.Env.PCVersion != "0.5.3.3" || r.Env.KafkaClientsVersion != "3.9.1" || r.Env.JavaVersion == "" || r.Env.JVMDefaultMaxHeap <= 0 {
		t.Errorf("env %+v", r.Env)
	}
	if len(r.Targets) != 5 || len(r.LOC) != 4 || len(r.Table.Rows) < len(compare.Facts)+1 || len(r.Command) < 3 {
		t.Errorf("targets %d, loc %d, table rows %d, command %v", len(r.Targets), len(r.LOC), len(r.Table.Rows), r.Command)
	}
	want := map[string]bool{compare.Kind.File: true, "compare.md": true}
	for _, c := range compare.ChartNames {
		want[c+".svg"], want[c+".png"] = true, true
	}
	ents, _ := os.ReadDir(out)
	for _, e := range ents {
		if !want[e.Name()] {
			t.Errorf("unexpected file %s in --out", e.Name())
		}
		if fi, _ := e.Info(); fi == nil || fi.Size() == 0 {
			t.Errorf("%s is empty", e.Name())
		}
		delete(want, e.Name())
	}
	if len(want) > 0 {
		t.Errorf("not written: %v", want)
	}
}

// A part that fails does not discard the others: with a minimum window no
// rate run can reach, every io and no-op part fails with its reason, the
// memory part and PC's heap search complete, the result and its views are
// written, and the command exits non-zero.
func TestCompareConsumeWritesTheCompletedPartsAndExitsNonZero(t *testing.T) {
	seeds := testkit.Brokers(t)
	prefix := testkit.TopicName(t)
	t.Cleanup(func() {
		testkit.Admin(t, seeds).DeleteTopics(t.Context(), prefix+"-io-12p-1000k-100v", prefix+"-backlog-12p-1000k-100v")
	})
	out := filepath.Join(t.TempDir(), "res")
	stdout, stderr, err := execBinary(kparBinary(t), "--brokers", strings.Join(seeds, ","), "compare", "consume",
		"--topic-prefix", prefix, "--io-records", "500", "--concurrency", "16", "--noop-records", "2000", "--rss-records", "5000",
		"--min-window", "1h", "--pc-heap-steps", "1", "--dlq-records", "0", "--timeout", "90s", "--out", out)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("exit %v, want non-zero\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	var r compare.Result
	if err := compare.Kind.Read(filepath.Join(out, compare.Kind.File), &r); err != nil {
		t.Fatalf("the completed parts were not written: %v\nstderr:\n%s", err, stderr)
	}
	parts := map[string]string{}
	for _, f := range r.Failures {
		parts[f.Part] = f.Reason
	}
	if len(parts) != 2 || !strings.Contains(parts["io c=16"], "measured window too short") || !strings.Contains(parts[compare.PartNoop], "measured window too short") {
		t.Fatalf("failures %+v: want io c=16 and no-op, too short", r.Failures)
	}
	if len(r.IO) != 0 || r.Noop != nil || r.RSS == nil || !r.RSS.Kpar.Finished || r.RSS.HeapSearch == nil || len(r.RSS.HeapSearch.Steps) != 1 {
		t.Fatalf("io %v, noop %v, rss %+v: want only the memory part and the heap search", r.IO, r.Noop, r.RSS)
	}
	md, err := os.ReadFile(filepath.Join(out, "compare.md"))
	if err != nil || !strings.Contains(string(md), "## Parts that did not complete") || !strings.Contains(string(md), "- **no-op**: ") {
		t.Fatalf("compare.md (%v) does not mark the failed parts:\n%s", err, md)
	}
}
