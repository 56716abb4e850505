package group

import (
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
)

var palette = []color.Color{
	color.RGBA{0x1f, 0x77, 0xb4, 0xff}, color.RGBA{0xff, 0x7f, 0x0e, 0xff}, color.RGBA{0x2c, 0xa0, 0x2c, 0xff},
	color.RGBA{0xd6, 0x27, 0x28, 0xff}, color.RGBA{0x94, 0x67, 0xbd, 0xff}, color.RGBA{0x8c, 0x56, 0x4b, 0xff},
}

// ownershipBars draws one row per partition, a bar per owning interval in
// its member's color.
type ownershipBars struct {
	tl     Timeline
	colors map[string]color.Color
	x0, x1 float64
}

func (b ownershipBars) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	for _, iv := range b.tl.Ownership {
		from, to := max(iv.From, b.x0), min(iv.To, b.x1)
		if to <= from {
			continue
		}
		y := float64(iv.Partition)
		rect := vg.Rectangle{Min: vg.Point{X: tx(from), Y: ty(y - 0.4)}, Max: vg.Point{X: tx(to), Y: ty(y + 0.4)}}
		c.SetColor(b.colors[iv.Member])
		c.Fill(rect.Path())
	}
}

func (b ownershipBars) DataRange() (xmin, xmax, ymin, ymax float64) {
	return b.x0, b.x1, -0.5, float64(len(b.tl.Partitions)) - 0.5
}

// swatch is a legend entry: a filled square in a member's color.
type swatch struct{ c color.Color }

func (s swatch) Thumbnail(c *draw.Canvas) {
	c.SetColor(s.c)
	c.Fill(c.Rectangle.Path())
}

// vlines marks moments (the event, exits) across a plot, labelled when
// label is set.
type vlines struct {
	marks []Mark
	label bool
	style draw.TextStyle
}

func (v vlines) Plot(c draw.Canvas, p *plot.Plot) {
	tx, _ := p.Transforms(&c)
	ls := draw.LineStyle{Color: color.Gray{Y: 0x40}, Width: vg.Points(0.7), Dashes: []vg.Length{vg.Points(3), vg.Points(2)}}
	for _, m := range v.marks {
		x := tx(m.At)
		if x < c.Min.X || x > c.Max.X {
			continue
		}
		c.StrokeLine2(ls, x, c.Min.Y, x, c.Max.Y)
		if v.label {
			c.FillText(v.style, vg.Point{X: x - vg.Points(2), Y: c.Max.Y - vg.Points(2)}, m.Label)
		}
	}
}

// TimelineChart writes one cell's timeline: partition ownership per member
// over time (blank: nobody owns the partition) and, under it, the group's
// processing rate; dashed lines mark the stream, the event and exits. The
// format follows path's extension (.svg, .png).
func TimelineChart(path string, c Cell) error {
	tl := c.Timeline
	x0 := tl.StartSec
	x1 := x0 + float64(len(tl.Rate))*tl.RateBucketSec
	if x1 <= x0 {
		x1 = x0 + 1
	}
	colors := map[string]color.Color{}
	for i, m := range tl.Members {
		colors[m] = palette[i%len(palette)]
	}

	top := plot.New()
	top.Title.Text = fmt.Sprintf("%s (seed %d): partition ownership per member", c.Name(), c.Seed)
	top.Y.Label.Text = "partition"
	top.X.Min, top.X.Max = x0, x1
	labels := make([]string, len(tl.Partitions))
	for i, p := range tl.Partitions {
		labels[i] = shortPartition(p)
	}
	top.NominalY(labels...)
	top.Y.Tick.Label.Font.Size = vg.Points(7)
	top.Add(ownershipBars{tl: tl, colors: colors, x0: x0, x1: x1})
	style := top.X.Label.TextStyle
	style.Font.Size = vg.Points(7)
	style.Rotation = math.Pi / 2
	style.XAlign, style.YAlign = draw.XRight, draw.YBottom
	top.Add(vlines{marks: tl.Marks, label: true, style: style})
	// The legend sits right of the data, in room kept free below.
	const legendRoom = 0.75 * vg.Inch
	top.Legend.Top, top.Legend.Left = true, false
	top.Legend.XOffs = legendRoom
	for _, m := range tl.Members {
		top.Legend.Add(m, swatch{colors[m]})
	}
	top.Y.Min, top.Y.Max = -0.5, float64(len(tl.Partitions))-0.5

	bot := plot.New()
	bot.X.Label.Text = "seconds since the cell started"
	bot.Y.Label.Text = "records/s (group)"
	bot.X.Min, bot.X.Max = x0, x1
	pts := make(plotter.XYs, len(tl.Rate))
	for i, r := range tl.Rate {
		pts[i] = plotter.XY{X: x0 + (float64(i)+0.5)*tl.RateBucketSec, Y: r}
	}
	line, err := plotter.NewLine(pts)
	if err != nil {
		return err
	}
	line.Color = color.Black
	bot.Add(plotter.NewGrid(), line, vlines{marks: tl.Marks})
	bot.Y.Min = 0

	const w, h = 10 * vg.Inch, 7 * vg.Inch
	cw, err := draw.NewFormattedCanvas(w, h, strings.TrimPrefix(filepath.Ext(path), "."))
	if err != nil {
		return err
	}
	dc := draw.New(cw)
	topC := draw.Crop(dc, 0, 0, h*0.3, 0)
	botC := draw.Crop(dc, 0, 0, 0, -h*0.7)
	// Line the two data areas up on the time axis.
	dt, db := top.DataCanvas(topC), bot.DataCanvas(botC)
	lt, lb := dt.Min.X-topC.Min.X, db.Min.X-botC.Min.X
	rt, rb := topC.Max.X-dt.Max.X, botC.Max.X-db.Max.X
	left, right := max(lt, lb), max(rt, rb)+legendRoom
	top.Draw(draw.Crop(topC, left-lt, -(right - rt), 0, 0))
	bot.Draw(draw.Crop(botC, left-lb, -(right - rb), 0, 0))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := cw.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// shortPartition turns "kpar-group-...-orders-3" into "orders-3".
func shortPartition(p string) string {
	for _, t := range []string{"orders", "payments"} {
		if i := strings.LastIndex(p, "-"+t+"-"); i >= 0 {
			return p[i+1:]
		}
	}
	return p
}
