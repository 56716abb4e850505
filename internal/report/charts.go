package report

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/kpar/kpar/internal/results"
)

// prolog is what an SVG file carries before its <svg> element; inline in
// HTML it is not allowed.
var prolog = regexp.MustCompile(`(?s)^.*?(<svg[\s>])`)

func inlineSVG(b []byte) (template.HTML, error) {
	loc := prolog.FindSubmatchIndex(b)
	if loc == nil {
		return "", fmt.Errorf("no <svg> element")
	}
	// The charts are drawn by gonum/plot from our own data, which escapes
	// text: trusted markup.
	return template.HTML(b[loc[2]:]), nil
}

// chartFromSave renders a chart with the measurement package's own drawing
// function (which saves to a path, its format from the extension) and
// returns the SVG for inlining.
func chartFromSave(save func(path string) error) (template.HTML, error) {
	dir, err := os.MkdirTemp("", "kpar-report-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "chart.svg")
	if err := save(p); err != nil {
		return "", err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", err
	}
	return inlineSVG(b)
}

// chartBlocks turns a package's views into chart blocks: the SVG ones only
// (each chart is also written as PNG beside it), titled by name.
func chartBlocks(views []results.View, title func(name string) string) []Block {
	var out []Block
	for _, v := range views {
		if !strings.HasSuffix(v.Name, ".svg") {
			continue
		}
		out = append(out, chartBlock(title(strings.TrimSuffix(v.Name, ".svg")), func(p string) error {
			if v.Save != nil {
				return v.Save(p)
			}
			return os.WriteFile(p, v.Bytes, 0o644)
		}))
	}
	return out
}

// chartBlock is a chart, or what kept it from being drawn.
func chartBlock(title string, save func(path string) error) Block {
	svg, err := chartFromSave(save)
	if err != nil {
		return Block{Title: title, Error: fmt.Sprintf("chart %q could not be drawn: %v", title, err)}
	}
	return Block{Title: title, Chart: svg}
}

// plotBlock draws a plot made here.
func plotBlock(title string, p *plot.Plot) Block {
	w, err := p.WriterTo(7*vg.Inch, 4*vg.Inch, "svg")
	if err != nil {
		return Block{Title: title, Error: fmt.Sprintf("chart %q could not be drawn: %v", title, err)}
	}
	var b bytes.Buffer
	if _, err := w.WriteTo(&b); err != nil {
		return Block{Title: title, Error: fmt.Sprintf("chart %q could not be drawn: %v", title, err)}
	}
	svg, err := inlineSVG(b.Bytes())
	if err != nil {
		return Block{Title: title, Error: fmt.Sprintf("chart %q could not be drawn: %v", title, err)}
	}
	return Block{Title: title, Chart: svg}
}

var palette = []color.Color{
	color.RGBA{0x1f, 0x77, 0xb4, 0xff}, color.RGBA{0xff, 0x7f, 0x0e, 0xff}, color.RGBA{0x2c, 0xa0, 0x2c, 0xff},
	color.RGBA{0xd6, 0x27, 0x28, 0xff}, color.RGBA{0x94, 0x67, 0xbd, 0xff}, color.RGBA{0x8c, 0x56, 0x4b, 0xff},
}

// series is one named row of values of a grouped bar chart.
type series struct {
	name string
	vals []float64
}

// groupedBars draws one group of bars per label, one bar per series.
func groupedBars(title, ylabel string, labels []string, ss ...series) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	p.Y.Min = 0
	p.Legend.Top = true
	w := vg.Points(18)
	for i, s := range ss {
		b, err := plotter.NewBarChart(plotter.Values(s.vals), w)
		if err != nil {
			continue
		}
		b.LineStyle.Width = 0
		b.Color = palette[i%len(palette)]
		b.Offset = w * vg.Length(float64(i)-float64(len(ss)-1)/2)
		p.Add(b)
		p.Legend.Add(s.name, b)
	}
	p.NominalX(labels...)
	p.Add(plotter.NewGrid())
	p.Y.Max = p.Y.Max*1.25 + 1 // room for the legend
	return p
}

// bars is a one-series bar chart, a bar per label.
func bars(title, ylabel string, labels []string, vals []float64) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	p.Y.Min = 0
	b, err := plotter.NewBarChart(plotter.Values(vals), vg.Points(40))
	if err == nil {
		b.LineStyle.Width = 0
		b.Color = palette[0]
		p.Add(b)
	}
	p.NominalX(labels...)
	p.Add(plotter.NewGrid())
	return p
}
