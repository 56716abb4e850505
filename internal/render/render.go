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
		textBlock(&b, bl)
	}
	if len(d.Details) > 0 && d.Name != "" {
		fmt.Fprintf(&b, "(details: %s.md)\n", d.Name)
	}
	return b.String()
}

func textBlock(b *strings.Builder, bl doc.Block) {
	if bl.Title != "" {
		fmt.Fprintf(b, "\n%s\n", bl.Title)
	}
	for _, t := range bl.Text {
		fmt.Fprintf(b, "%s\n", Plain(t))
	}
	for _, t := range bl.List {
		fmt.Fprintf(b, "  - %s\n", Plain(t))
	}
	for _, f := range bl.Findings {
		fmt.Fprintf(b, "  - %s\n", Plain(Finding(f)))
	}
	if bl.Table != nil {
		b.WriteString(TextTable(*bl.Table))
	}
	if bl.Chart != nil {
		fmt.Fprintf(b, "  chart: %s.svg\n", bl.Chart.Name)
	}
	if bl.Error != "" {
		fmt.Fprintf(b, "  %s\n", bl.Error)
	}
}

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
	writeBlocks(&b, d, "## Details\n\n", "", mdBlock)
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

func mdBlock(b *strings.Builder, bl doc.Block) {
	if bl.Title != "" {
		fmt.Fprintf(b, "### %s\n\n", bl.Title)
	}
	for _, t := range bl.Text {
		fmt.Fprintf(b, "%s\n\n", t)
	}
	for _, t := range bl.List {
		fmt.Fprintf(b, "- %s\n", t)
	}
	for _, f := range bl.Findings {
		fmt.Fprintf(b, "- %s\n", Finding(f))
	}
	if len(bl.List)+len(bl.Findings) > 0 {
		b.WriteString("\n")
	}
	if t := bl.Table; t != nil {
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
	if c := bl.Chart; c != nil {
		fmt.Fprintf(b, "![%s](%s.svg)\n\n", c.Title, c.Name)
	}
	if bl.Error != "" {
		fmt.Fprintf(b, "%s\n\n", bl.Error)
	}
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
