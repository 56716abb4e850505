package compare

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// localPath matches what a build machine's path looks like in a source:
// the shared guide, anything under /work/ or a home directory.
var localPath = regexp.MustCompile(`shared/guide|/work/|/home/|/root/|\.\./`)

// Every static row cites its sources upstream: no path of the machine that
// wrote it, and at least one link (PC's sources, README or issues at the
// version measured, or Kafka's documentation); every PC link points at the
// measured tag or at an issue.
func TestFactsCiteUpstreamSourcesNotLocalPaths(t *testing.T) {
	if len(Facts) == 0 {
		t.Fatal("no facts")
	}
	url := regexp.MustCompile(`https://[^\s;,)]+`)
	for _, r := range Facts {
		if len(r.Cells) != len(Columns) {
			t.Errorf("%s: %d cells for %d columns", r.Aspect, len(r.Cells), len(Columns))
		}
		for _, s := range append([]string{r.Source, r.Aspect}, r.Cells...) {
			if m := localPath.FindString(s); m != "" {
				t.Errorf("%s: %q in %q: a local path, not an upstream source", r.Aspect, m, s)
			}
		}
		links := url.FindAllString(r.Source, -1)
		if len(links) == 0 {
			t.Errorf("%s: source %q cites no link", r.Aspect, r.Source)
		}
		for _, l := range links {
			pc := strings.HasPrefix(l, "https://github.com/confluentinc/parallel-consumer/")
			if pc && !strings.HasPrefix(l, pcTree) && !strings.HasPrefix(l, pcIssues) {
				t.Errorf("%s: %s is not PC at the measured tag nor a PC issue", r.Aspect, l)
			}
			if !pc && !strings.HasPrefix(l, "https://kafka.apache.org/") {
				t.Errorf("%s: %s is neither PC's nor Kafka's", r.Aspect, l)
			}
		}
	}
}

// The fine-grained row names every option kpar sets on PC, read from the
// sources that set them: a builder call added to the harness or the lab's
// bridge without the row following fails here.
func TestFineGrainedRowListsEveryPCOptionKparSets(t *testing.T) {
	var row *Row
	for i := range Facts {
		if Facts[i].Aspect == "fine-grained control" {
			row = &Facts[i]
		}
	}
	if row == nil {
		t.Fatal("no fine-grained control row")
	}
	call := regexp.MustCompile(`(?m)^\s*(?:b = b)?\.([a-zA-Z]+)\(`)
	seen := map[string]bool{}
	for _, f := range []string{"Harness.java", "LabBridge.java"} {
		src, err := os.ReadFile(filepath.Join("..", "confluentpc", "assets", f))
		if err != nil {
			t.Fatal(err)
		}
		// The options builder chains: from ".builder()" to ".build()".
		s := string(src)
		i := strings.Index(s, "ParallelConsumerOptions.<byte[], byte[]>builder()")
		j := strings.Index(s[max(i, 0):], ".build()")
		if i < 0 || j < 0 {
			t.Fatalf("%s: no options builder found", f)
		}
		for _, m := range call.FindAllStringSubmatch(s[i:i+j+len(".build()")], -1) {
			seen[m[1]] = true
		}
	}
	delete(seen, "build")
	delete(seen, "consumer") // the KafkaConsumer itself, not an option
	if len(seen) < 5 {
		t.Fatalf("found only %v in the builders: the scan is broken", seen)
	}
	pcCell := row.Cells[len(row.Cells)-1]
	for opt := range seen {
		if !regexp.MustCompile(`\b` + opt + `\b`).MatchString(pcCell) {
			t.Errorf("kpar sets PC's %s, but the fine-grained row does not list it: %q", opt, pcCell)
		}
	}
}

// The committed comparison fixture the report's tests read carries the
// same sources: no local path in it either.
func TestCompareFixtureHasNoLocalPaths(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "report", "testdata", "compare", "compare.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"shared/guide", "/work/"} {
		if strings.Contains(string(b), bad) {
			t.Errorf("the fixture holds %q", bad)
		}
	}
}
