package render

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kpar/kpar/internal/doc"
)

func sample() doc.Doc {
	line := &doc.Chart{Name: "rate", Title: "Rate by producers", Kind: doc.Line,
		X: doc.Axis{Label: "producers", Log: true}, Y: doc.Axis{Label: "throughput", Unit: "records/s"},
		Series: []doc.Series{{Name: "acks=all", X: []float64{1, 2, 4}, Y: []float64{10, 19, 30}}, {Name: "acks=1", X: []float64{1, 2, 4}, Y: []float64{12, 22, 31}, Dashed: true}}}
	bars := &doc.Chart{Name: "cpu", Title: "CPU", Kind: doc.Bars, X: doc.Axis{Label: "contender", Categories: []string{"kpar", "pc"}}, Y: doc.Axis{Label: "CPU", Unit: "s"},
		Series: []doc.Series{{Name: "median", Y: []float64{1, 2}}}}
	tl := &doc.Chart{Name: "timeline", Title: "Ownership", Kind: doc.Timeline, X: doc.Axis{Label: "time", Unit: "s"}, Y: doc.Axis{Label: "records/s"},
		Lanes:  []doc.Lane{{Name: "p0", Spans: []doc.Span{{From: 0, To: 5, Label: "m1"}, {From: 6, To: 10, Label: "m2"}}}, {Name: "p1", Spans: []doc.Span{{From: 0, To: 10, Label: "m2"}}}},
		Series: []doc.Series{{Name: "rate", X: []float64{0, 5, 10}, Y: []float64{3, 1, 3}}}, Marks: []doc.Mark{{X: 5, Label: "kill"}}}
	multi := &doc.Chart{Name: "multi", Title: "Small multiples", Kind: doc.Line, X: doc.Axis{Label: "producers"}, Y: doc.Axis{Label: "MB/s"},
		Panels: []doc.Chart{*line, *line, {Title: "p3", Series: line.Series[:1]}, {Title: "p4"}}}
	return doc.Doc{Name: "sample", Title: "A sample", Command: []string{"kpar", "bench"},
		Answer: []doc.Finding{doc.Judged("90%", "met", "kpar reached **95%%** of the ideal"), doc.Say("It used `1 MiB` fetches.")},
		Body: []doc.Block{{Findings: []doc.Finding{doc.Judged("0 lost", "mixed (2 of 3)", "lost 1 record in one repeat")}},
			{Title: "Rate", Chart: line}, {Table: &doc.Table{Head: []string{"n", "rate"}, Num: []bool{true, true}, Rows: [][]string{{"1", "10"}, {"2", "19|x"}}}}},
		Details: []doc.Block{{Chart: bars}, {Chart: tl}, {Chart: multi}, {Text: []string{"every sweep"}}},
	}
}

var tags = regexp.MustCompile(`<[^>]+>`)

// The same finding must read the same, word for word, in the terminal, the
// Markdown and the report's HTML.
func TestOneFindingReadsTheSameInEveryRendering(t *testing.T) {
	d := sample()
	text := Text(d)
	md := Plain(Markdown(d))
	html := strings.NewReplacer("&#39;", "'", "&quot;", `"`, "&amp;", "&").Replace(tags.ReplaceAllString(string(HTML(d)), ""))
	for _, f := range d.Findings() {
		want := Plain(Finding(f))
		for name, got := range map[string]string{"text": text, "markdown": md, "html": html} {
			if f.Text != "" && !strings.Contains(got, want) {
				t.Errorf("%s lacks %q:\n%s", name, want, got)
			}
		}
	}
	if !strings.Contains(text, "(target 90%: met)") || !strings.Contains(html, "(target 0 lost: mixed (2 of 3))") {
		t.Errorf("verdicts not in their fixed wording:\n%s\n%s", text, html)
	}
	if strings.Contains(text, "every sweep") {
		t.Error("the terminal summary shows the details")
	}
	if !strings.Contains(string(HTML(d)), "<details>") {
		t.Error("the details are not folded in the HTML")
	}
	if !strings.Contains(Markdown(d), "| 2 | 19/x |") {
		t.Errorf("a cell's | breaks the Markdown table:\n%s", Markdown(d))
	}
}

func TestEveryChartKindDrawsAsSVGAndPNG(t *testing.T) {
	dir := t.TempDir()
	for _, c := range sample().Charts() {
		svg, err := SVG(c)
		if err != nil || !bytes.Contains(svg, []byte("<svg")) {
			t.Fatalf("%s: svg %v", c.Name, err)
		}
		p := filepath.Join(dir, c.Name+".png")
		if err := Save(c, p); err != nil {
			t.Fatalf("%s: png %v", c.Name, err)
		}
		if b, _ := os.ReadFile(p); !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Fatalf("%s: not a PNG", c.Name)
		}
		if os.Getenv("KPAR_KEEP_CHARTS") != "" {
			os.WriteFile(filepath.Join(os.Getenv("KPAR_KEEP_CHARTS"), c.Name+".png"), mustRead(p), 0o644)
		}
	}
	if err := Save(sample().Charts()[0], filepath.Join(dir, "x.gif")); err == nil {
		t.Error("an unknown format was accepted")
	}
}

func mustRead(p string) []byte { b, _ := os.ReadFile(p); return b }

func TestViewsAreTheMarkdownAndEachChartTwice(t *testing.T) {
	vs := Views(sample())
	if len(vs) != 1+2*4 || vs[0].Name != "sample.md" {
		t.Fatalf("views %d, first %s", len(vs), vs[0].Name)
	}
}

func TestALogAxisWithoutPointsDrawsInsteadOfPanicking(t *testing.T) {
	c := &doc.Chart{Name: "empty", Kind: doc.Line, X: doc.Axis{Label: "producers", Log: true}, Y: doc.Axis{Label: "records/s"},
		Panels: []doc.Chart{{Title: "none", Series: []doc.Series{{Name: "a"}}}, {Title: "some", Series: []doc.Series{{Name: "a", X: []float64{1, 2}, Y: []float64{5e6, 6e6}}}}}}
	if _, err := SVG(c); err != nil {
		t.Fatal(err)
	}
}

func TestBarAndTickLabelsReadForPeople(t *testing.T) {
	for v, want := range map[float64]string{5e6: "5M", 1.25e6: "1.3M", 250000: "250k", 2000: "2k", 1500: "1500", 0: "0", 0.25: "0.25", 12.5: "12.5"} {
		if got := shortNum(v); got != want {
			t.Errorf("shortNum(%g) = %s, want %s", v, got, want)
		}
	}
}
