package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kpar/kpar/internal/lab/consumer"
	"github.com/kpar/kpar/internal/render"
	"github.com/kpar/kpar/internal/testkit"
)

// The command itself, end to end on the real broker: the kpar binary runs
// the cells, re-executes itself as the worker processes, and writes results
// whose JSON and Markdown agree.
func TestLabConsumerWritesConsistentJSONMarkdownAndCharts(t *testing.T) {
	seeds := testkit.Brokers(t)
	bin := kparBinary(t)
	out := filepath.Join(t.TempDir(), "results")
	text, _ := runBinary(t, bin, "--brokers", strings.Join(seeds, ","), "lab", "consumer",
		"--strategies", "commit-before,lib-key", "--scenarios", "ooo+crash", "--records", "400", "--partitions", "3",
		"--keys", "16", "--workers", "4", "--max-poll", "50", "--crashes", "1", "--seed", "77", "--out", out)
	t.Log(text)
	for _, want := range []string{"seed 77", "[1/2] commit-before", "[2/2] lib-key"} {
		if !strings.Contains(text, want) {
			t.Fatalf("stdout lacks %q:\n%s", want, text)
		}
	}

	res, err := consumer.Read(filepath.Join(out, "lab-consumer.json"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Schema != consumer.Kind.Schema || res.Version != consumer.Kind.Version || res.Seed != 77 || len(res.Cells) != 2 {
		t.Fatalf("results: schema %q version %d, seed %d, %d cells", res.Schema, res.Version, res.Seed, len(res.Cells))
	}
	md, err := os.ReadFile(filepath.Join(out, "lab-consumer.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cells {
		if c.Check.Input != 400 || c.Crashes != 1 || c.Error != "" || c.Stalled {
			t.Fatalf("cell %s/%s did not run as asked: %+v", c.Strategy, c.Scenario, c)
		}
		// The Markdown row must carry the JSON's counts.
		row := fmt.Sprintf("| %s | %s | %d | %d | ", c.Strategy, c.Scenario, c.Check.Lost, c.Check.Duplicated)
		if !strings.Contains(string(md), row) {
			t.Fatalf("markdown has no row %q:\n%s", row, md)
		}
		if !strings.Contains(string(md), c.Rerun) || !strings.Contains(c.Rerun, "--seed 77") {
			t.Fatalf("re-run command %q missing or without the seed", c.Rerun)
		}
		// The library never loses; committing before processing does when
		// killed with work in flight.
		if c.Strategy == "lib-key" && c.Check.Lost != 0 {
			t.Fatalf("lib-key lost %d", c.Check.Lost)
		}
		if c.Strategy == "commit-before" && c.Check.Lost == 0 {
			t.Fatalf("commit-before lost nothing when killed with work in flight")
		}
	}
	// The speed lesson is reported, in the data and in a sentence computed
	// from it, whatever its value; the text is the document's answer.
	if len(res.Speed) != 1 || res.Speed[0].Strategy != "commit-before" || res.Speed[0].Ratio <= 0 {
		t.Fatalf("speed: want commit-before against lib-key, got %+v", res.Speed)
	}
	d := consumer.Doc(res)
	speed := 0
	for _, f := range d.Findings() {
		if strings.HasPrefix(f.Text, "ooo+crash: against lib-key's ") {
			speed++
			if !strings.Contains(string(md), f.Text) {
				t.Fatalf("speed sentence %q missing from the Markdown", f.Text)
			}
		}
	}
	if speed != 1 {
		t.Fatalf("want one speed sentence in the document, got %d", speed)
	}
	for _, f := range d.Answer {
		if !strings.Contains(text, render.Plain(render.Finding(f))) {
			t.Fatalf("the text lacks the answer %q:\n%s", f.Text, text)
		}
	}
	for _, m := range []string{"lost", "duplicated", "reordered", "records_per_sec"} {
		svg, err := os.ReadFile(filepath.Join(out, "lab-consumer-"+m+".svg"))
		if err != nil || !bytes.Contains(svg, []byte("<svg")) {
			t.Fatalf("%s.svg: %v", m, err)
		}
		png, err := os.ReadFile(filepath.Join(out, "lab-consumer-"+m+".png"))
		if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
			t.Fatalf("%s.png: %v", m, err)
		}
	}
	if leftovers, _ := filepath.Glob(filepath.Join(out, ".*")); len(leftovers) != 0 {
		t.Fatalf("temp files left behind: %v", leftovers)
	}
}

// --json: stdout is the result data alone, the same bytes as the file.
func TestLabConsumerJSONPrintsOnlyTheData(t *testing.T) {
	seeds := testkit.Brokers(t)
	bin := kparBinary(t)
	out := filepath.Join(t.TempDir(), "results")
	stdout, _ := runBinary(t, bin, "--brokers", strings.Join(seeds, ","), "lab", "consumer", "--json",
		"--cell", "lib-key/ooo", "--records", "200", "--partitions", "2", "--keys", "8", "--workers", "4", "--seed", "5", "--out", out)
	file, err := os.ReadFile(filepath.Join(out, "lab-consumer.json"))
	if err != nil {
		t.Fatal(err)
	}
	if stdout != string(file) {
		t.Fatalf("stdout is not the data file:\nstdout:\n%s\nfile:\n%s", stdout, file)
	}
	var res consumer.Result
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || res.Schema != consumer.Kind.Schema || len(res.Cells) != 1 ||
		res.Cells[0].Check.Input != 200 || res.Cells[0].Check.Lost != 0 {
		t.Fatalf("stdout data: %v, %+v", err, res)
	}
}
