package render

import (
	"fmt"
	"html"
	"html/template"
	"strings"

	"github.com/kpar/kpar/internal/doc"
)

// HTML is the document as a fragment of the report: the answer, the body,
// the details folded. Charts are inline SVG; one that cannot be drawn says why.
func HTML(d doc.Doc) template.HTML {
	var b strings.Builder
	if len(d.Answer) > 0 {
		b.WriteString(`<div class="answer">`)
		for _, f := range d.Answer {
			fmt.Fprintf(&b, "<p>%s</p>", FindingHTML(f))
		}
		b.WriteString("</div>\n")
	}
	writeBlocks(&b, d, "<details><summary>Details</summary>\n", "</details>\n", htmlMarkup.block)
	return template.HTML(b.String())
}

// FindingHTML is a finding in the report's markup: its verdict in a span
// whose class (met, missed, mixed or other, e.g. "not measured") the page
// styles.
func FindingHTML(f doc.Finding) template.HTML {
	s := string(Inline(f.Text))
	if f.Target != "" {
		cls := "other"
		switch {
		case f.Verdict == "met" || strings.HasPrefix(f.Verdict, "met ") || f.Verdict == "shown" || f.Verdict == "yes":
			cls = "met"
		case f.Verdict == "missed" || strings.HasPrefix(f.Verdict, "missed ") || f.Verdict == "not shown" || f.Verdict == "no":
			cls = "missed"
		case strings.HasPrefix(f.Verdict, "mixed"):
			cls = "mixed"
		}
		s += fmt.Sprintf(` <span class="verdict %s">(target %s: %s)</span>`, cls, html.EscapeString(f.Target), html.EscapeString(f.Verdict))
	}
	return template.HTML(s)
}

func inlineHTML(s string) string { return string(Inline(s)) }

var htmlMarkup = markup{title: "<h4>%s</h4>\n", text: "<p>%s</p>\n", item: "<li>%s</li>", err: `<p class="error">%s</p>` + "\n",
	list: [2]string{"<ul>", "</ul>\n"}, raw: inlineHTML, inline: inlineHTML,
	finding: func(f doc.Finding) string { return string(FindingHTML(f)) }, table: htmlTable, chart: htmlChart}

func htmlTable(b *strings.Builder, t *doc.Table) {
	b.WriteString(`<div class="table"><table><thead><tr>`)
	for i, h := range t.Head {
		fmt.Fprintf(b, "<th%s>%s</th>", numClass(t, i), Inline(h))
	}
	b.WriteString("</tr></thead><tbody>")
	for _, r := range t.Rows {
		b.WriteString("<tr>")
		for i, c := range r {
			fmt.Fprintf(b, "<td%s>%s</td>", numClass(t, i), Inline(c))
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</tbody></table></div>\n")
}

func htmlChart(b *strings.Builder, bl doc.Block) {
	c, title := bl.Chart, bl.Title
	if title == "" {
		title = c.Title
	}
	svg, err := SVG(c)
	if err != nil {
		fmt.Fprintf(b, `<p class="error">chart %q could not be drawn: %s</p>`+"\n", html.EscapeString(title), html.EscapeString(err.Error()))
		return
	}
	// The drawing carries the chart's title; a caption only adds the
	// block's own, when it says something else.
	caption := ""
	if title != c.Title {
		caption = fmt.Sprintf("<figcaption>%s</figcaption>", Inline(title))
	}
	fmt.Fprintf(b, `<figure class="chart" data-chart="%s">%s%s</figure>`+"\n", html.EscapeString(c.Name), caption, inlineSVG(svg))
}

func numClass(t *doc.Table, i int) string {
	if i < len(t.Num) && t.Num[i] {
		return ` class="num"`
	}
	return ""
}

// inlineSVG drops what an SVG file carries before its <svg> element, which
// HTML does not allow inline. The SVG is drawn by gonum/plot from our own
// data, which escapes its text.
func inlineSVG(b []byte) string {
	s := string(b)
	if i := strings.Index(s, "<svg"); i >= 0 {
		return s[i:]
	}
	return s
}
