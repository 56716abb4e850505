package render

import (
	"image/color"
	"math"
	"slices"

	"github.com/kpar/kpar/internal/doc"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// spans draws a timeline's lanes: one row each, a bar per span in its
// label's color.
type spans struct {
	lanes  []doc.Lane
	colors *colors
	x0, x1 float64
}

func (b spans) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	for i, l := range b.lanes {
		for _, s := range l.Spans {
			from, to := max(s.From, b.x0), min(s.To, b.x1)
			if to <= from {
				continue
			}
			col, _ := b.colors.of(s.Label)
			rect := vg.Rectangle{Min: vg.Point{X: tx(from), Y: ty(float64(i) - 0.4)}, Max: vg.Point{X: tx(to), Y: ty(float64(i) + 0.4)}}
			c.SetColor(col)
			c.Fill(rect.Path())
		}
	}
}

func (b spans) DataRange() (xmin, xmax, ymin, ymax float64) {
	return b.x0, b.x1, -0.5, float64(len(b.lanes)) - 0.5
}

type swatch struct{ c color.Color }

func (s swatch) Thumbnail(c *draw.Canvas) {
	c.SetColor(s.c)
	c.Fill(c.Rectangle.Path())
}

// timeline prepares lanes on top (40%) and the series under them, their
// time axes lined up, marks across both. Span labels take their colors in
// sorted order, so the legend reads m0, m1, m2.
func timeline(c *doc.Chart, title string, colors *colors, legend *[]legendEntry) (func(draw.Canvas), error) {
	x0, x1 := timeRange(c)
	top := plot.New()
	top.Title.Text = title
	top.X.Min, top.X.Max = x0, x1
	names := make([]string, len(c.Lanes))
	var labels []string
	for i, l := range c.Lanes {
		names[i] = l.Name
		for _, s := range l.Spans {
			labels = append(labels, s.Label)
		}
	}
	slices.Sort(labels)
	for _, l := range slices.Compact(labels) {
		if col, first := colors.of(l); first {
			*legend = append(*legend, legendEntry{l, swatch{col}})
		}
	}
	top.NominalY(names...)
	top.Y.Tick.Label.Font.Size = vg.Points(7)
	top.Add(spans{c.Lanes, colors, x0, x1}, marks{c.Marks})
	top.Y.Min, top.Y.Max = -0.5, float64(len(c.Lanes))-0.5
	if len(c.Series) == 0 {
		top.X.Label.Text = c.X.Text()
		return top.Draw, nil
	}
	line := &doc.Chart{Kind: doc.Line, X: c.X, Y: c.Y, Series: c.Series, Marks: c.Marks}
	bot, err := newPlot(line, line, colors, legend)
	if err != nil {
		return nil, err
	}
	bot.X.Min, bot.X.Max = x0, x1
	return func(dc draw.Canvas) {
		h := dc.Max.Y - dc.Min.Y
		topH := h * 0.4
		topC, botC := draw.Crop(dc, 0, 0, h-topH, 0), draw.Crop(dc, 0, 0, 0, -topH)
		dt, db := top.DataCanvas(topC), bot.DataCanvas(botC)
		lt, lb := dt.Min.X-topC.Min.X, db.Min.X-botC.Min.X
		rt, rb := topC.Max.X-dt.Max.X, botC.Max.X-db.Max.X
		left, right := max(lt, lb), max(rt, rb)
		top.Draw(draw.Crop(topC, left-lt, -(right - rt), 0, 0))
		bot.Draw(draw.Crop(botC, left-lb, -(right - rb), 0, 0))
	}, nil
}

// timeRange spans every span and every series point.
func timeRange(c *doc.Chart) (x0, x1 float64) {
	x0, x1 = math.Inf(1), math.Inf(-1)
	for _, l := range c.Lanes {
		for _, s := range l.Spans {
			x0, x1 = min(x0, s.From), max(x1, s.To)
		}
	}
	for _, s := range c.Series {
		for _, x := range s.X {
			x0, x1 = min(x0, x), max(x1, x)
		}
	}
	if math.IsInf(x0, 0) || x1 <= x0 {
		return 0, 1
	}
	return x0, x1
}
