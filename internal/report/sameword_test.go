package report

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kpar/kpar/internal/render"
)

var htmlTags = regexp.MustCompile(`<[^>]+>`)

// Every finding of a real result's document reads word for word the same
// in the terminal text, the Markdown and the report's HTML: one document,
// rendered three ways.
func TestARealResultsFindingsReadTheSameInTerminalMarkdownAndPage(t *testing.T) {
	for _, c := range []struct {
		path string
		load func(string) (Part, error)
	}{
		{filepath.Join("testdata", "compare", "compare.json"), compareKind.load},
		{filepath.Join("testdata", "lab-producer", "lab-producer.json"), labProducerKind.load},
	} {
		p, err := c.load(c.path)
		if err != nil {
			t.Fatal(err)
		}
		d := *p.Doc
		text := render.Text(d)
		md := render.Plain(render.Markdown(d))
		page := strings.NewReplacer("&#39;", "'", "&#34;", `"`, "&quot;", `"`, "&amp;", "&", "&lt;", "<", "&gt;", ">").
			Replace(htmlTags.ReplaceAllString(string(render.HTML(d)), ""))
		findings := d.Findings()
		if len(findings) == 0 {
			t.Fatalf("%s: no findings", c.path)
		}
		for _, f := range findings {
			want := render.Plain(render.Finding(f))
			if !strings.Contains(md, want) || !strings.Contains(page, want) {
				t.Errorf("%s: %q is not word for word in the Markdown and the page", c.path, want)
			}
		}
		// The terminal shows the answer and the body, not the details.
		for _, f := range d.Answer {
			if want := render.Plain(render.Finding(f)); !strings.Contains(text, want) {
				t.Errorf("%s: the terminal lacks %q", c.path, want)
			}
		}
	}
}
