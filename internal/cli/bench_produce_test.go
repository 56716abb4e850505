package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/bench/produce"
	"github.com/kpar/kpar/internal/kafka"
	"github.com/kpar/kpar/internal/testkit"
)

func TestBenchProduceBadInputFailsWithAClearMessageAndNoResults(t *testing.T) {
	seeds := testkit.Kfake(t)
	dir := t.TempDir()
	good := testkit.WriteFile(t, dir, "good.csv", "id,v\n1,a\n2,b\n")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"missing file", []string{"--input", filepath.Join(dir, "nope.csv")}, "--input: stat " + filepath.Join(dir, "nope.csv") + ": no such file"},
		{"empty file", []string{"--input", testkit.WriteFile(t, dir, "empty.csv", "")}, "empty.csv: csv syntax: file is empty"},
		{"ragged row", []string{"--input", testkit.WriteFile(t, dir, "ragged.csv", "id,v\n1,a\n2,b,c\n")}, "ragged.csv:3: row has 3 fields, the header has 2"},
		{"broken quote", []string{"--input", testkit.WriteFile(t, dir, "quote.csv", "id,v\n1,\"a\n")}, "quote.csv:2: quoted field 2 never closes"},
		{"unknown key column", []string{"--input", good, "--key-column", "customer"}, `--key-column "customer" is not a column; the header has: id, v`},
		{"unknown acks", []string{"--input", good, "--acks", "2"}, `--acks "2"`},
		{"acks 1 with idempotence on", []string{"--input", good, "--acks", "1", "--idempotence", "on"}, "needs acks=all"},
		{"unknown compression", []string{"--input", good, "--compression", "gzip9"}, `--compression "gzip9": want one of none, snappy, lz4, zstd`},
		{"unknown partitioner", []string{"--input", good, "--partitioner", "hash"}, `--partitioner "hash"`},
		{"bad linger", []string{"--input", good, "--linger", "5"}, `--linger "5": want a duration`},
		{"bad producers", []string{"--input", good, "--producers", "1,x"}, `--producers "1,x": "x" is not a whole number`},
		{"bad value mode", []string{"--input", good, "--value", "xml"}, `--value "xml"`},
		{"unknown flag", []string{"--input", good, "--acsk", "1"}, "unknown flag: --acsk"},
		{"too few records for producers", []string{"--input", good, "--producers", "4", "--warmup", "0"}, "2 records cannot feed 4 producers"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "res")
			args := append([]string{"bench", "produce", "--brokers", strings.Join(seeds, ","), "--out", out, "--topic", "bad"}, tc.args...)
			_, err := runKpar(t, args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			assertNothingWritten(t, out)
		})
	}
}

func TestBenchProduceSkipBadCountsRowsAndStillDelivers(t *testing.T) {
	seeds := testkit.Kfake(t)
	dir := t.TempDir()
	in := testkit.WriteFile(t, dir, "mixed.csv", "id,v\n1,a\n2\n3,\"c\n4,d\n5,e\n")
	out := filepath.Join(dir, "res")
	if _, err := runKpar(t, "bench", "produce", "--brokers", strings.Join(seeds, ","), "--input", in, "--skip-bad",
		"--producers", "1", "--warmup", "0", "--out", out, "--topic", "sb"); err != nil {
		t.Fatal(err)
	}
	res := readResults(t, out)
	if res.Input.SkippedRows != 2 || res.Input.Records != 3 || res.Sweeps[0].Steps[0].Acked != 3 {
		t.Fatalf("skipped %d records %d acked %d, want 2, 3, 3", res.Input.SkippedRows, res.Input.Records, res.Sweeps[0].Steps[0].Acked)
	}
}

func TestGenCSVWritesTheRequestedRows(t *testing.T) {
	out := filepath.Join(t.TempDir(), "e.csv")
	stdout, err := runKpar(t, "gen", "csv", "--rows", "1234", "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out)
	if n := bytes.Count(b, []byte("\n")); n != 1235 || !strings.Contains(stdout, "wrote 1234 rows") {
		t.Fatalf("%d lines, stdout %q", n, stdout)
	}
	if _, err := runKpar(t, "gen", "csv", "--rows", "0", "--out", out); err == nil || !strings.Contains(err.Error(), "--rows 0") {
		t.Fatalf("--rows 0: %v", err)
	}
}

func readResults(t *testing.T, dir string) produce.Result {
	t.Helper()
	var r produce.Result
	if err := produce.Kind.Read(filepath.Join(dir, "results.json"), &r); err != nil {
		t.Fatal(err)
	}
	if r.Finished.Before(r.Started) || len(r.Command) < 3 || r.Command[0] != "kpar" {
		t.Fatalf("results header %+v", r.Header)
	}
	return r
}

// --json prints the result data and nothing else on stdout, the same data
// as results.json.
func TestBenchProduceJSONPrintsOnlyTheData(t *testing.T) {
	seeds := testkit.Kfake(t)
	dir := t.TempDir()
	in := testkit.WriteFile(t, dir, "e.csv", "id,v\n1,a\n2,b\n3,c\n")
	out := filepath.Join(dir, "res")
	stdout, err := runKpar(t, "bench", "produce", "--brokers", strings.Join(seeds, ","), "--input", in,
		"--producers", "1,2", "--warmup", "0", "--out", out, "--topic", "js", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var r produce.Result
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if dec.More() {
		t.Fatalf("stdout holds more than the JSON data:\n%s", stdout)
	}
	if back := readResults(t, out); r.Schema != produce.Kind.Schema || len(r.Sweeps) != 1 || len(back.Sweeps[0].Steps) != len(r.Sweeps[0].Steps) {
		t.Fatalf("--json printed %+v", r)
	}
}

// TestBenchProduceSweepOnRealBrokerDeliversEveryRecord runs a small sweep
// against KPAR_BROKERS and checks the topic's end offsets against it.
func TestBenchProduceSweepOnRealBrokerDeliversEveryRecord(t *testing.T) {
	seeds := testkit.Brokers(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "e.csv")
	if _, err := runKpar(t, "gen", "csv", "--rows", "20000", "--out", in); err != nil {
		t.Fatal(err)
	}
	topic := testkit.Topic(t, seeds, 12)
	out := filepath.Join(dir, "res")
	if _, err := runKpar(t, "bench", "produce", "--brokers", strings.Join(seeds, ","), "--input", in, "--topic", topic,
		"--producers", "1,2", "--warmup", "1000", "--key-column", "customer_id", "--out", out); err != nil {
		t.Fatal(err)
	}
	res := readResults(t, out)
	steps := res.Sweeps[0].Steps
	if len(steps) != 2 || steps[0].Producers != 1 || steps[1].Producers != 2 || len(steps[1].PerProducerRecSec) != 2 {
		t.Fatalf("steps %+v", steps)
	}
	for _, s := range steps {
		if s.Acked != 20000 || s.Failed != 0 || s.ReachedTopic != 20000 || s.RecordsPerSec <= 0 || s.LatencyP99Ms <= 0 {
			t.Fatalf("%d producers: acked %d failed %d reached %d rate %v p99 %v", s.Producers, s.Acked, s.Failed, s.ReachedTopic, s.RecordsPerSec, s.LatencyP99Ms)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ends, err := kafka.Ends(ctx, testkit.Admin(t, seeds), topic)
	if err != nil {
		t.Fatal(err)
	}
	if total := ends.Sum(); total != 41000 {
		t.Fatalf("topic holds %d records, want 1000 warm-up + 2 x 20000", total)
	}
	for _, f := range produce.Files {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("missing output %s", f)
		}
	}
}

// A step whose deliveries failed (records larger than the topic's
// max.message.bytes) is written with its counts, named, and the command
// exits 1 instead of reporting a throughput as if the run were complete.
func TestBenchProduceExitsNonZeroNamingAStepWithFailedDeliveries_RealBroker(t *testing.T) {
	seeds := testkit.Brokers(t)
	topic := testkit.TopicName(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	small := "1000"
	if _, err := testkit.Admin(t, seeds).CreateTopic(ctx, 1, 1, map[string]*string{"max.message.bytes": &small}, topic); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	input := testkit.WriteFile(t, dir, "in.csv", "id,v\n1,a\n2,b\n3,c\n4,d\n")
	out := filepath.Join(dir, "results")
	_, err := runKpar(t, "--brokers", strings.Join(seeds, ","), "bench", "produce", "--input", input, "--topic", topic,
		"--producers", "1", "--warmup", "0", "--record-size", "5000", "--out", out)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(err.Error(), "deliveries failed") {
		t.Fatalf("want exit 1 naming the failed deliveries, got %v", err)
	}
	var res produce.Result
	if err := produce.Kind.Read(filepath.Join(out, produce.Kind.File), &res); err != nil {
		t.Fatalf("the failed step's results: %v", err)
	}
	if len(res.FailedSteps()) != 1 {
		t.Fatalf("failed steps in the results: %v", res.FailedSteps())
	}
}

// --processes runs every producer as `kpar child produce-worker`.
func TestBenchProduceProcessesRunsWorkerChildren(t *testing.T) {
	seeds := testkit.Brokers(t)
	dir := t.TempDir()
	in := testkit.WriteFile(t, dir, "e.csv", "id,v\n1,a\n2,b\n3,c\n4,d\n")
	topic := testkit.Topic(t, seeds, 3)
	out := filepath.Join(dir, "res")
	runBinary(t, kparBinary(t), "--brokers", strings.Join(seeds, ","), "bench", "produce", "--input", in, "--topic", topic,
		"--producers", "1,2", "--warmup", "0", "--processes", "--out", out)
	res := readResults(t, out)
	for _, s := range res.Sweeps[0].Steps {
		if s.Mode != "processes" || s.Acked != 4 || s.ReachedTopic != 4 {
			t.Fatalf("%d producers: mode %s acked %d reached %d, want processes, 4, 4", s.Producers, s.Mode, s.Acked, s.ReachedTopic)
		}
	}
}
