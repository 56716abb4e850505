// Package render turns documents (internal/doc) into what people and
// programs read: terminal text, Markdown, the report's HTML and SVG/PNG
// charts. Every finding is written by Finding alone, so a sentence reads the
// same in each; only the markup around it differs.
package render

import (
	"fmt"
	"html"
	"html/template"
	"regexp"
	"strings"

	"github.com/kpar/kpar/internal/doc"
	"github.com/kpar/kpar/internal/results"
)

// Finding is a finding's one wording: its text, then its target and verdict.
func Finding(f doc.Finding) string { return f.Text + f.Suffix() }

var (
	bold = regexp.MustCompile(`\*\*(.+?)\*\*`)
	code = regexp.MustCompile("`([^`]+)`")
)

// Plain strips the inline Markdown (**bold**, `code`) a finding may carry:
// the terminal shows text as it reads.
func Plain(s string) string {
	return code.ReplaceAllString(bold.ReplaceAllString(s, "$1"), "$1")
}

// Inline is inline Markdown as HTML, everything else escaped.
func Inline(s string) template.HTML {
	s = html.EscapeString(s)
	s = code.ReplaceAllString(s, "<code>$1</code>")
	s = bold.ReplaceAllString(s, "<strong>$1</strong>")
	return template.HTML(s)
}

// Text is the terminal summary: the title, the answer and the body (the
// details are in the Markdown beside the data).
func Text(d doc.Doc) string {
	var b strings.Builder
	if d.Title != "" {
		fmt.Fprintf(&b, "%s\n", d.Title)
	}
	for _, f := range d.Answer {
		fmt.Fprintf(&b, "  %s\n", Plain(Finding(f)))
	}
	for _, bl := range d.Body {
		textMarkup.block(&b, bl)
	}
	if len(d.Details) > 0 && d.Name != "" {
		fmt.Fprintf(&b, "(details: %s.md)\n", d.Name)
	}
	return b.String()
}

// markup is one format's wording of a block's parts, which block writes
// in the one order every format shows them: title, paragraphs, list items
// and findings, table, chart, error.
type markup struct {
	title, text, item, err string              // formats of one string each
	list                   [2]string           // around the items, when there are any
	raw                    func(string) string // a title or an error
	inline                 func(string) string // a paragraph or an item
	finding                func(doc.Finding) string
	chartTitle             bool // a chart's block shows its title (HTML: the figure carries it)
	table                  func(*strings.Builder, *doc.Table)
	chart                  func(*strings.Builder, doc.Block)
}

func (m markup) block(b *strings.Builder, bl doc.Block) {
	if bl.Title != "" && (bl.Chart == nil || m.chartTitle) {
		fmt.Fprintf(b, m.title, m.raw(bl.Title))
	}
	for _, t := range bl.Text {
		fmt.Fprintf(b, m.text, m.inline(t))
	}
	if len(bl.List)+len(bl.Findings) > 0 {
		b.WriteString(m.list[0])
		for _, t := range bl.List {
			fmt.Fprintf(b, m.item, m.inline(t))
		}
		for _, f := range bl.Findings {
			fmt.Fprintf(b, m.item, m.finding(f))
		}
		b.WriteString(m.list[1])
	}
	if bl.Table != nil {
		m.table(b, bl.Table)
	}
	if bl.Chart != nil {
		m.chart(b, bl)
	}
	if bl.Error != "" {
		fmt.Fprintf(b, m.err, m.raw(bl.Error))
	}
}

func same(s string) string { return s }

var textMarkup = markup{title: "\n%s\n", text: "%s\n", item: "  - %s\n", err: "  %s\n", chartTitle: true,
	raw: same, inline: Plain, finding: func(f doc.Finding) string { return Plain(Finding(f)) },
	table: func(b *strings.Builder, t *doc.Table) { b.WriteString(TextTable(*t)) },
	chart: func(b *strings.Builder, bl doc.Block) { fmt.Fprintf(b, "  chart: %s.svg\n", bl.Chart.Name) }}

// TextTable is a table in aligned columns, numbers right-aligned.
func TextTable(t doc.Table) string {
	w := make([]int, len(t.Head))
	rows := append([][]string{t.Head}, t.Rows...)
	for _, r := range rows {
		for i, c := range r {
			if i < len(w) {
				w[i] = max(w[i], len([]rune(Plain(c))))
			}
		}
	}
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(" ")
		for i, c := range r {
			if i >= len(w) {
				break
			}
			c = Plain(c)
			pad := strings.Repeat(" ", w[i]-len([]rune(c)))
			if i < len(t.Num) && t.Num[i] {
				b.WriteString(" " + pad + c)
			} else {
				b.WriteString(" " + c + pad)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// Markdown is the whole document: title, command, answer, body, details,
// charts as images beside it.
func Markdown(d doc.Doc) string {
	var b strings.Builder
	if d.Title != "" {
		fmt.Fprintf(&b, "# %s\n\n", d.Title)
	}
	if len(d.Command) > 0 {
		fmt.Fprintf(&b, "`%s`\n\n", strings.Join(d.Command, " "))
	}
	for _, f := range d.Answer {
		fmt.Fprintf(&b, "%s\n\n", Finding(f))
	}
	writeBlocks(&b, d, "## Details\n\n", "", mdMarkup.block)
	return b.String()
}

// writeBlocks writes the body's blocks, then the details' between open and
// close (nothing when there are none): the one order of every format that
// shows the details.
func writeBlocks(b *strings.Builder, d doc.Doc, open, close string, block func(*strings.Builder, doc.Block)) {
	for _, bl := range d.Body {
		block(b, bl)
	}
	if len(d.Details) > 0 {
		b.WriteString(open)
		for _, bl := range d.Details {
			block(b, bl)
		}
		b.WriteString(close)
	}
}

func mdCell(s string) string { return strings.ReplaceAll(s, "|", "/") }

var mdMarkup = markup{title: "### %s\n\n", text: "%s\n\n", item: "- %s\n", err: "%s\n\n", list: [2]string{"", "\n"}, chartTitle: true,
	raw: same, inline: same, finding: Finding, table: mdTable,
	chart: func(b *strings.Builder, bl doc.Block) {
		fmt.Fprintf(b, "![%s](%s.svg)\n\n", bl.Chart.Title, bl.Chart.Name)
	}}

func mdTable(b *strings.Builder, t *doc.Table) {
	cells := make([]string, len(t.Head))
	for i, h := range t.Head {
		cells[i] = mdCell(h)
	}
	fmt.Fprintf(b, "| %s |\n|", strings.Join(cells, " | "))
	for i := range t.Head {
		if i < len(t.Num) && t.Num[i] {
			b.WriteString("---:|")
		} else {
			b.WriteString("---|")
		}
	}
	b.WriteString("\n")
	for _, r := range t.Rows {
		cells := make([]string, len(r))
		for i, c := range r {
			cells[i] = mdCell(c)
		}
		fmt.Fprintf(b, "| %s |\n", strings.Join(cells, " | "))
	}
	b.WriteString("\n")
}

// Views are the document's files for results.Write: Name.md and each chart
// as SVG and PNG.
func Views(d doc.Doc) []results.View {
	vs := []results.View{{Name: d.Name + ".md", Bytes: []byte(Markdown(d))}}
	for _, c := range d.Charts() {
		c := c
		for _, ext := range []string{"svg", "png"} {
			ext := ext
			vs = append(vs, results.View{Name: c.Name + "." + ext, Save: func(path string) error { return Save(c, path) }})
		}
	}
	return vs
}
