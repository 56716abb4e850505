package report

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/bench/consume"
	"github.com/kpar/kpar/internal/doc"
	"github.com/kpar/kpar/internal/testkit"
)

// chromium finds Debian's headless-capable browser, or skips (fails under
// KPAR_REQUIRE_BROKER=1, like the broker tests, so CI cannot pass by
// skipping).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testkit.Unavailable(t, "browser test: chromium is not installed (apt-get install chromium; .ci/run does)")
	return ""
}

// The screenshot is kept here for a person to look at after the test.
var artifactDir = filepath.Join(os.TempDir(), "kpar-report-e2e")

// The page, end to end: short real runs of the cheap measurements write
// results, kpar report turns them into a page, and headless Chromium loads
// it. Every section must be there, with its answer and its charts drawn,
// and none may show an error; a section whose measurement this kpar cannot
// read yet must say so with its command.
//
// Three sections come from fixtures, results committed for tests because
// their runs are too slow for one (scripts/fixtures.sh regenerates them):
// testdata/compare/compare.json (`kpar compare consume --quick`, a JVM per
// Parallel Consumer run), testdata/lab-producer/lab-producer.json (`kpar
// lab producer` on its own 3-node cluster) and testdata/lab-soak/soak.json
// (`kpar lab soak`, a minute of faults on its own 3-node cluster). The page
// must mark those three as fixtures and no other. The binary is built as the Makefile builds it, so
// the real runs' provenance (kpar's revision, the broker's version) must be
// complete.
func TestPageRendersInChromiumFromShortRunsAndFixtures(t *testing.T) {
	browser := chromium(t)
	seeds := testkit.Brokers(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "kpar")
	ldflags, err := exec.CommandContext(ctx, filepath.Join("..", "..", "scripts", "ldflags.sh")).Output()
	if err != nil {
		t.Fatalf("scripts/ldflags.sh: %v", err)
	}
	if out, err := exec.CommandContext(ctx, "go", "build", "-ldflags", strings.TrimSpace(string(ldflags)), "-o", bin, "github.com/kpar/kpar/cmd/kpar").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	res := filepath.Join(dir, "results")
	kpar := func(args ...string) string {
		t.Helper()
		start := time.Now()
		cmd := exec.CommandContext(ctx, bin, append([]string{"--brokers", strings.Join(seeds, ",")}, args...)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("kpar %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
		}
		t.Logf("kpar %s: %.1f s", strings.Join(args[:2], " "), time.Since(start).Seconds())
		return stdout.String()
	}
	csv := filepath.Join(dir, "events.csv")
	kpar("gen", "csv", "--rows", "5000", "--out", csv)
	kpar("bench", "produce", "--input", csv, "--producers", "1,2", "--warmup", "1000", "--out", filepath.Join(res, "produce"))
	kpar("bench", "consume", "--only", "io,rss", "--records", "3000", "--rss-records", "30000", "--repeat", "1", "--min-window", "1ns", "--out", filepath.Join(res, "consume"))
	kpar("lab", "consumer", "--strategies", "commit-before,lib-key", "--scenarios", "ooo+crash", "--records", "300", "--partitions", "3",
		"--keys", "16", "--workers", "4", "--max-poll", "50", "--crashes", "1", "--seed", "77", "--out", filepath.Join(res, "lab"))
	kpar("lab", "group", "--cell", "join/range", "--duration", "5s", "--event-at", "2s", "--seed", "11", "--out", filepath.Join(res, "lab-group"))
	kpar("lab", "group-settings", "--experiments", "reset", "--records", "300", "--seed", "12", "--out", filepath.Join(res, "lab-group-settings"))
	for _, f := range []string{"compare/compare.json", "lab-producer/lab-producer.json", "lab-soak/soak.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(res, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(res, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	page := filepath.Join(res, "index.html")
	out := kpar("report", "--in", res, "--out", page)
	if !strings.Contains(out, "wrote "+page) {
		t.Fatalf("kpar report printed no path:\n%s", out)
	}
	t.Log(out)

	if err := os.MkdirAll(artifactDir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(artifactDir, "index.png")
	headless := []string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--virtual-time-budget=10000"}
	dump := exec.CommandContext(ctx, browser, append(headless, "--dump-dom", "file://"+page)...)
	var dom, stderr bytes.Buffer
	dump.Stdout, dump.Stderr = &dom, &stderr
	if err := dump.Run(); err != nil || dom.Len() == 0 {
		t.Fatalf("chromium --dump-dom: %v\n%s", err, stderr.String())
	}
	if b, err := exec.CommandContext(ctx, browser, append(headless, "--window-size=1280,12000", "--screenshot="+shot, "file://"+page)...).CombinedOutput(); err != nil {
		t.Fatalf("chromium --screenshot: %v\n%s", err, b)
	}
	if st, err := os.Stat(shot); err != nil || st.Size() < 10_000 {
		t.Fatalf("screenshot %s: %v", shot, err)
	}
	if b, err := os.ReadFile(page); err == nil {
		os.WriteFile(filepath.Join(artifactDir, "index.html"), b, 0o644)
	}
	t.Logf("screenshot and page kept in %s", artifactDir)

	d := dom.String()
	// The browser ran the page's script: every chart has a drawn box.
	m := regexp.MustCompile(`data-charts-rendered="(\d+)/(\d+)"`).FindStringSubmatch(d)
	if m == nil || m[1] != m[2] || m[1] == "0" {
		t.Fatalf("charts rendered: %v (the page's script did not run, or a chart has no box)", m)
	}
	for _, bad := range []string{`class="error"`, `class="refused"`, `id="skipped"`} {
		if strings.Contains(d, bad) {
			i := strings.Index(d, bad)
			t.Errorf("the page shows %s: %s", bad, d[i:min(len(d), i+400)])
		}
	}
	if g := regexp.MustCompile(`(?s)<div class="glance">.*?</div>`).FindString(d); strings.Count(g, "<li>") != len(sections) {
		t.Errorf("the at-a-glance list has %d items for %d sections", strings.Count(g, "<li>"), len(sections))
	}
	for _, s := range sections {
		i := strings.Index(d, `<section id="`+s.ID+`"`)
		if i < 0 {
			t.Errorf("section %s is not on the page", s.ID)
			continue
		}
		body := d[i:]
		body = body[:strings.Index(body, "</section>")]
		read := slices.ContainsFunc(kinds, func(k kind) bool { return k.section == s.ID })
		switch {
		case read && !strings.Contains(body, `data-state="ok"`):
			t.Errorf("section %s has no results on the page", s.ID)
		case read && !regexp.MustCompile(`<div class="answer"><p>[^<]{20,}`).MatchString(body):
			t.Errorf("section %s opens with no answer", s.ID)
		case read && !strings.Contains(body, `data-rendered="yes"`):
			t.Errorf("section %s has no chart drawn", s.ID)
		case !read && (!strings.Contains(body, `data-state="missing"`) || !strings.Contains(body, htmlEscaped(s.Produce))):
			t.Errorf("section %s, which this kpar cannot read yet, does not say how to produce it", s.ID)
		}
		if read && !strings.Contains(body, `class="command"`) {
			t.Errorf("section %s gives no command that reproduces it", s.ID)
		}
		fixture := s.ID == "compare" || s.ID == "producer-lab" || s.ID == "soak"
		if marked := strings.Contains(body, `<p class="fixture">`); marked != fixture {
			t.Errorf("section %s: marked as a fixture %v, drawn from a fixture %v", s.ID, marked, fixture)
		}
		if u := regexp.MustCompile(`<th>unknown</th><td>[^<]*`).FindString(body); read && !fixture && u != "" &&
			regexp.MustCompile(`kpar(&#39;|')s revision|broker(&#39;|')s version`).MatchString(u) {
			t.Errorf("section %s, from a run of this build on this broker, lacks provenance: %s", s.ID, u)
		}
	}
	// A sentence on the page and the JSON it came from agree.
	var cr consume.Result
	if err := consume.Kind.Read(filepath.Join(res, "consume", "consume.json"), &cr); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("<strong>%s of the ideal</strong> %s records/s", doc.Pct(cr.IO.Efficiency.Median), doc.Num(cr.IO.IdealPerS))
	if !strings.Contains(d, want) {
		t.Errorf("the consumer section does not say %q, as consume.json has it", want)
	}
}
