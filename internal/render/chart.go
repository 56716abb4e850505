package render

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/kpar/kpar/internal/doc"
)

// Palette is the one set of colors every chart uses (colorblind-safe,
// Okabe-Ito, then greys); a series keeps its color across panels.
var Palette = []color.Color{
	color.RGBA{0x00, 0x72, 0xb2, 0xff}, color.RGBA{0xe6, 0x9f, 0x00, 0xff}, color.RGBA{0x00, 0x9e, 0x73, 0xff},
	color.RGBA{0xd5, 0x5e, 0x00, 0xff}, color.RGBA{0xcc, 0x79, 0xa7, 0xff}, color.RGBA{0x56, 0xb4, 0xe9, 0xff},
	color.RGBA{0xf0, 0xe4, 0x42, 0xff}, color.RGBA{0x00, 0x00, 0x00, 0xff}, color.RGBA{0x88, 0x88, 0x88, 0xff},
}

const (
	panelW, panelH = 4.6 * vg.Inch, 3.2 * vg.Inch
	singleW        = 7.5 * vg.Inch
	singleH        = 4 * vg.Inch
	minLegendW     = 1.2 * vg.Inch
)

// SVG draws the chart as SVG.
func SVG(c *doc.Chart) ([]byte, error) { return encode(c, "svg") }

// PNG draws the chart as PNG, the same drawing as the SVG.
func PNG(c *doc.Chart) ([]byte, error) { return encode(c, "png") }

// Save writes the chart to path, its format from the extension (.svg, .png).
func Save(c *doc.Chart, path string) error {
	b, err := encode(c, strings.TrimPrefix(filepath.Ext(path), "."))
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func encode(c *doc.Chart, format string) ([]byte, error) {
	panels := c.Panels
	if len(panels) == 0 {
		panels = []doc.Chart{*c}
	}
	cols := min(len(panels), 3)
	rows := (len(panels) + cols - 1) / cols
	pw, ph := singleW, singleH
	if len(panels) > 1 {
		pw, ph = panelW, panelH
	}
	if c.Kind == doc.Timeline {
		ph = 6 * vg.Inch
	}
	// Every panel is prepared before the canvas exists: the legend (and so
	// its width) is known only once each panel has named its series.
	colors := newColors()
	var legend []legendEntry
	drawers := make([]func(draw.Canvas), len(panels))
	for i := range panels {
		title := c.Title
		if len(panels) > 1 {
			title = panels[i].Title
		}
		d, err := prepare(c, &panels[i], title, colors, &legend)
		if err != nil {
			return nil, fmt.Errorf("chart %s: %w", c.Name, err)
		}
		drawers[i] = d
	}
	titleH := vg.Length(0)
	if len(panels) > 1 && c.Title != "" {
		titleH = 0.35 * vg.Inch
	}
	legendW := legendWidth(legend)
	w, h := vg.Length(cols)*pw+legendW, vg.Length(rows)*ph+titleH
	canvas, err := newCanvas(format, w, h)
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", c.Name, err)
	}
	dc := draw.New(canvas)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	if titleH > 0 {
		st := draw.TextStyle{Color: color.Black, Font: plot.DefaultFont, Handler: plot.DefaultTextHandler, XAlign: draw.XCenter}
		st.Font.Size = vg.Points(13)
		dc.FillText(st, vg.Point{X: (w - legendW) / 2, Y: h - titleH*0.7}, c.Title)
	}
	data := draw.Crop(dc, 0, -legendW, 0, -titleH)
	for i, d := range drawers {
		r, col := i/cols, i%cols
		d(draw.Canvas{Canvas: data.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: data.Min.X + vg.Length(col)*pw, Y: data.Max.Y - vg.Length(r+1)*ph},
			Max: vg.Point{X: data.Min.X + vg.Length(col+1)*pw, Y: data.Max.Y - vg.Length(r)*ph},
		}})
	}
	if len(legend) > 0 {
		drawLegend(draw.Crop(dc, w-legendW+0.1*vg.Inch, 0, 0, -titleH-0.3*vg.Inch), legend)
	}
	var b bytes.Buffer
	if _, err := canvas.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("chart %s: %w", c.Name, err)
	}
	return b.Bytes(), nil
}

// prepare builds one panel's plot(s) and returns what draws them.
func prepare(parent, p *doc.Chart, title string, colors *colors, legend *[]legendEntry) (func(draw.Canvas), error) {
	if p.Kind == doc.Timeline || parent.Kind == doc.Timeline {
		return timeline(p, title, colors, legend)
	}
	pl, err := newPlot(parent, p, colors, legend)
	if err != nil {
		return nil, err
	}
	pl.Title.Text = title
	return pl.Draw, nil
}

// legendWidth follows the longest name (about 5 points a character at
// 9-point type, and room for the swatch), so no name is cut off.
func legendWidth(legend []legendEntry) vg.Length {
	if len(legend) == 0 {
		return 0
	}
	w := minLegendW
	for _, e := range legend {
		w = max(w, vg.Points(5*float64(len(e.name))+30))
	}
	return w
}

func newCanvas(format string, w, h vg.Length) (vg.CanvasWriterTo, error) {
	switch format {
	case "svg":
		return vgsvg.New(w, h), nil
	case "png":
		return vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(110))}, nil
	}
	return nil, fmt.Errorf("no format %q (svg or png)", format)
}

// colors gives each name (series or span label) one color for the whole chart.
type colors struct {
	by   map[string]color.Color
	next int
}

func newColors() *colors { return &colors{by: map[string]color.Color{}} }

func (c *colors) of(name string) (color.Color, bool) {
	if col, ok := c.by[name]; ok {
		return col, false
	}
	col := Palette[c.next%len(Palette)]
	c.next++
	c.by[name] = col
	return col, true
}

type legendEntry struct {
	name  string
	thumb plot.Thumbnailer
}

func drawLegend(dc draw.Canvas, entries []legendEntry) {
	if len(entries) == 0 {
		return
	}
	l := plot.NewLegend()
	l.Top, l.Left = true, true
	l.TextStyle.Font.Size = vg.Points(9)
	for _, e := range entries {
		l.Add(e.name, e.thumb)
	}
	l.Draw(dc)
}

func axisPlot(parent, c *doc.Chart) *plot.Plot {
	p := plot.New()
	x, y := c.X, c.Y
	if x.Label == "" {
		x = parent.X
	}
	if y.Label == "" {
		y = parent.Y
	}
	p.X.Label.Text = x.Text()
	p.Y.Label.Text = y.Text()
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	return p
}

// floorAxis keeps Y from 0 up: an empty or all-zero chart reads 0 to 1, not
// -1 to 1.
func floorAxis(p *plot.Plot) {
	p.Y.Min = 0
	if p.Y.Max <= 0 {
		p.Y.Max = 1
	}
	p.Y.Tick.Marker = readableTicks{}
}

// readableTicks are gonum's default ticks labelled for people: 5000000 reads
// 5M, 250000 reads 250k.
type readableTicks struct{}

func (readableTicks) Ticks(min, max float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = shortNum(ts[i].Value)
		}
	}
	return ts
}

func newPlot(parent, c *doc.Chart, colors *colors, legend *[]legendEntry) (*plot.Plot, error) {
	p := axisPlot(parent, c)
	kind := c.Kind
	if len(parent.Panels) > 0 {
		kind = parent.Kind
	}
	var err error
	if kind == doc.Bars {
		err = addBars(p, parent, c, colors, legend)
	} else {
		err = addLines(p, parent, c, colors, legend)
	}
	floorAxis(p)
	return p, err
}

// addBars draws a group per category, a bar per series, each labelled.
func addBars(p *plot.Plot, parent, c *doc.Chart, colors *colors, legend *[]legendEntry) error {
	cats := c.X.Categories
	if len(cats) == 0 {
		cats = parent.X.Categories
	}
	n := len(c.Series)
	w := vg.Points(float64(min(40, 240/max(1, n*max(1, len(cats))))))
	for i, s := range c.Series {
		vals := make(plotter.Values, len(cats))
		for j := range vals {
			if j < len(s.Y) && !math.IsNaN(s.Y[j]) {
				vals[j] = s.Y[j]
			}
		}
		b, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return err
		}
		col, first := colors.of(s.Name)
		b.LineStyle.Width = 0
		b.Color = col
		b.Offset = w * vg.Length(float64(i)-float64(n-1)/2)
		p.Add(b)
		if len(cats)*n <= 24 { // a value on each bar, so a 0 reads as measured
			if l, err := barLabels(vals, b); err == nil {
				p.Add(l)
			}
		}
		if first && s.Name != "" {
			*legend = append(*legend, legendEntry{s.Name, b})
		}
	}
	p.NominalX(cats...)
	p.X.Min, p.X.Max = -0.6, float64(len(cats))-0.4
	chars := 0
	for _, c := range cats {
		chars += len(c) + 2
	}
	if chars > 70 { // long category names lean instead of overlapping
		p.X.Tick.Label.Rotation = math.Pi / 6
		p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YTop
	}
	floorAxis(p)
	p.Y.Max *= 1.1 // room for the labels
	return nil
}

// addLines draws each series as points joined by lines (dashed when asked),
// a log X axis ticked at the data's X values, and the marks.
func addLines(p *plot.Plot, parent, c *doc.Chart, colors *colors, legend *[]legendEntry) error {
	ticks := map[float64]bool{}
	for _, s := range c.Series {
		var pts plotter.XYs
		for i := range s.X {
			if i < len(s.Y) && !math.IsNaN(s.Y[i]) && !math.IsInf(s.Y[i], 0) {
				pts = append(pts, plotter.XY{X: s.X[i], Y: s.Y[i]})
				ticks[s.X[i]] = true
			}
		}
		if len(pts) == 0 {
			continue
		}
		l, sc, err := plotter.NewLinePoints(pts)
		if err != nil {
			return err
		}
		col, first := colors.of(s.Name)
		l.Color, sc.Color = col, col
		sc.Shape = draw.CircleGlyph{}
		sc.Radius = vg.Points(2)
		if len(pts) > 60 { // a dense series reads as a line
			sc.Radius = 0
		}
		if s.Dashed {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		p.Add(l, sc)
		if first && s.Name != "" {
			*legend = append(*legend, legendEntry{s.Name, l})
		}
	}
	if (c.X.Log || parent.X.Log) && len(ticks) > 0 {
		p.X.Scale = plot.LogScale{}
		var t plot.ConstantTicks
		for x := range ticks {
			if x > 0 {
				t = append(t, plot.Tick{Value: x, Label: trimFloat(x)})
			}
		}
		p.X.Tick.Marker = t
	}
	p.Add(marks{c.Marks})
	return nil
}

// barLabels writes each bar's value just above it.
func barLabels(vals plotter.Values, b *plotter.BarChart) (*plotter.Labels, error) {
	var xys plotter.XYLabels
	for i, v := range vals {
		xys.XYs = append(xys.XYs, plotter.XY{X: float64(i), Y: v})
		xys.Labels = append(xys.Labels, shortNum(v))
	}
	l, err := plotter.NewLabels(xys)
	if err != nil {
		return nil, err
	}
	for i := range l.TextStyle {
		l.TextStyle[i].Font.Size = vg.Points(7)
		l.TextStyle[i].XAlign = draw.XCenter
		l.TextStyle[i].YAlign = draw.YBottom
	}
	l.Offset = vg.Point{X: b.Offset, Y: vg.Points(1)}
	return l, nil
}

// shortNum is a bar label: 1234567 -> 1.2M, 12345 -> 12k, 0.25 -> 0.25.
func shortNum(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e6:
		return trimFloat(math.Round(v/1e5)/10) + "M"
	case a >= 1e4 || (a >= 1e3 && math.Mod(a, 1e3) == 0):
		return trimFloat(math.Round(v/1e2)/10) + "k"
	case a >= 100 || v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	}
	return trimFloat(math.Round(v*100) / 100)
}

func trimFloat(x float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.3f", x), "0"), ".")
}

// marks draws dashed vertical lines at moments, labelled at the top.
type marks struct{ m []doc.Mark }

func (v marks) Plot(c draw.Canvas, p *plot.Plot) {
	tx, _ := p.Transforms(&c)
	ls := draw.LineStyle{Color: color.Gray{Y: 0x40}, Width: vg.Points(0.7), Dashes: []vg.Length{vg.Points(3), vg.Points(2)}}
	st := p.X.Label.TextStyle
	st.Font.Size = vg.Points(7)
	st.Rotation = math.Pi / 2
	st.XAlign, st.YAlign = draw.XRight, draw.YBottom
	for _, m := range v.m {
		x := tx(m.X)
		if x < c.Min.X || x > c.Max.X {
			continue
		}
		c.StrokeLine2(ls, x, c.Min.Y, x, c.Max.Y)
		if m.Label != "" {
			c.FillText(st, vg.Point{X: x - vg.Points(2), Y: c.Max.Y - vg.Points(2)}, m.Label)
		}
	}
}
