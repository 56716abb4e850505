package report

import (
	"strings"
)

// mdBlocks turns the small Markdown the measurement packages write
// (headings, paragraphs, "- " lists, pipe tables; images dropped, since the
// page draws the charts itself) into blocks, so a section can show a
// package's own computed text without restating it.
func mdBlocks(md string) []Block {
	var out []Block
	var para []string
	flush := func() {
		if len(para) > 0 {
			out = append(out, Block{Text: []string{strings.Join(para, " ")}})
			para = nil
		}
	}
	lines := strings.Split(md, "\n")
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		switch {
		case l == "":
			flush()
		case strings.HasPrefix(l, "#"):
			flush()
			out = append(out, Block{Title: strings.TrimSpace(strings.TrimLeft(l, "#"))})
		case strings.HasPrefix(l, "!["):
			flush()
		case strings.HasPrefix(l, "|"):
			flush()
			t := &Table{}
			for ; i < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[i]), "|"); i++ {
				cells := strings.Split(strings.Trim(strings.TrimSpace(lines[i]), "|"), "|")
				for j := range cells {
					cells[j] = strings.TrimSpace(cells[j])
				}
				if strings.Trim(strings.Join(cells, ""), "-: ") == "" { // the |---|---:| line
					for _, c := range cells {
						t.Num = append(t.Num, strings.HasSuffix(c, ":"))
					}
					continue
				}
				if t.Head == nil {
					t.Head = cells
				} else {
					t.Rows = append(t.Rows, cells)
				}
			}
			i--
			out = append(out, Block{Table: t})
		case strings.HasPrefix(l, "- "):
			flush()
			b := Block{List: true}
			for ; i < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[i]), "- "); i++ {
				b.Text = append(b.Text, strings.TrimPrefix(strings.TrimSpace(lines[i]), "- "))
			}
			i--
			out = append(out, b)
		default:
			para = append(para, l)
		}
	}
	flush()
	return out
}
