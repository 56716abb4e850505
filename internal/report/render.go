package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/kpar/kpar/internal/doc"
	"github.com/kpar/kpar/internal/render"
)

//go:embed page.html.tmpl
var pageTmpl string

var funcs = template.FuncMap{
	"md":      render.Inline,
	"docHTML": func(d *doc.Doc) template.HTML { return render.HTML(*d) },
	"inc":     func(i int) int { return i + 1 },
	"date":    func(t time.Time) string { return t.Format("2006-01-02 15:04:05 MST") },
	"join":    strings.Join,
}

// Render is the page as self-contained HTML.
func Render(pg Page) ([]byte, error) {
	t, err := template.New("page").Funcs(funcs).Parse(pageTmpl)
	if err != nil {
		return nil, fmt.Errorf("report template: %w", err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, pg); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return b.Bytes(), nil
}
