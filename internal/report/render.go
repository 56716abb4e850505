package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"html"
	"html/template"
	"regexp"
	"strings"
	"time"

	"github.com/kpar/kpar/internal/doc"
	"github.com/kpar/kpar/internal/render"
)

//go:embed page.html.tmpl
var pageTmpl string

var (
	bold = regexp.MustCompile(`\*\*(.+?)\*\*`)
	code = regexp.MustCompile("`([^`]+)`")
)

// md renders the inline Markdown the measurement packages' sentences use
// (**bold**, `code`), everything else escaped.
func md(s string) template.HTML {
	s = html.EscapeString(s)
	s = code.ReplaceAllString(s, "<code>$1</code>")
	s = bold.ReplaceAllString(s, "<strong>$1</strong>")
	return template.HTML(s)
}

var funcs = template.FuncMap{
	"md":      md,
	"docHTML": func(d *doc.Doc) template.HTML { return render.HTML(*d) },
	"inc":     func(i int) int { return i + 1 },
	"date":    func(t time.Time) string { return t.Format("2006-01-02 15:04:05 MST") },
	"join":    strings.Join,
	"align": func(t *Table, i int) string {
		switch {
		case i < len(t.Num) && t.Num[i]:
			return "num"
		case i < len(t.Small) && t.Small[i]:
			return "small"
		}
		return ""
	},
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

// Number formatting shared by the sections.

// num is an integer-ish figure with thousands separators: 1234567 -> 1,234,567.
func num(v float64) string {
	neg := v < 0
	if neg {
		v = -v
	}
	s := fmt.Sprintf("%.0f", v)
	var out []byte
	for i, c := range []byte(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, c)
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

func inum(v int) string   { return num(float64(v)) }
func i64(v int64) string  { return num(float64(v)) }
func f2(v float64) string { return fmt.Sprintf("%.2f", v) }
func f1(v float64) string { return fmt.Sprintf("%.1f", v) }
func pct(v float64) string {
	return fmt.Sprintf("%.0f%%", 100*v)
}
func mib(kib int64) string { return fmt.Sprintf("%.0f MiB", float64(kib)/1024) }

// plural is "1 record" / "2 records".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return inum(n) + " " + many
}

// listing joins "a", "a and b", "a, b and c".
func listing(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// sentence starts s with a capital and ends it with a period: the packages'
// verdicts are often written to follow a colon.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

func firstLine(s string) string { return strings.SplitN(strings.TrimSpace(s), "\n", 2)[0] }
