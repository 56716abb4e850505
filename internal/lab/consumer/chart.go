package consumer

import (
	"fmt"
	"image/color"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Chart writes a grouped bar chart of metric (lost, duplicated, reordered or
// records_per_sec): one group per strategy, one bar per scenario. The format
// follows path's extension (.svg, .png).
func Chart(path string, r Result, metric string) error {
	value, err := metricOf(metric)
	if err != nil {
		return err
	}
	var strategies, scenarios []string
	for _, c := range r.Cells {
		if !slices.Contains(strategies, c.Strategy) {
			strategies = append(strategies, c.Strategy)
		}
		if !slices.Contains(scenarios, c.Scenario) {
			scenarios = append(scenarios, c.Scenario)
		}
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("kpar lab consumer: %s (seed %d)", metric, r.Seed)
	p.Y.Label.Text = metric
	p.Legend.Top = true
	w := vg.Points(14)
	palette := []color.Color{
		color.RGBA{0x1f, 0x77, 0xb4, 0xff}, color.RGBA{0xff, 0x7f, 0x0e, 0xff}, color.RGBA{0x2c, 0xa0, 0x2c, 0xff},
		color.RGBA{0xd6, 0x27, 0x28, 0xff}, color.RGBA{0x94, 0x67, 0xbd, 0xff}, color.RGBA{0x8c, 0x56, 0x4b, 0xff},
	}
	for i, scen := range scenarios {
		vals := make(plotter.Values, len(strategies))
		for j, st := range strategies {
			for _, c := range r.Cells {
				if c.Strategy == st && c.Scenario == scen {
					vals[j] = value(c)
				}
			}
		}
		bars, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return err
		}
		bars.LineStyle.Width = 0
		bars.Color = palette[i%len(palette)]
		bars.Offset = w * vg.Length(float64(i)-float64(len(scenarios)-1)/2)
		p.Add(bars)
		p.Legend.Add(scen, bars)
	}
	p.NominalX(strategies...)
	p.Y.Min, p.Y.Max = 0, p.Y.Max*1.3+1 // headroom for the legend
	width := vg.Length(len(strategies)*(len(scenarios)+3))*w + 2*vg.Inch
	return p.Save(max(width, 6*vg.Inch), 4*vg.Inch, path)
}

func metricOf(name string) (func(Cell) float64, error) {
	switch name {
	case "lost":
		return func(c Cell) float64 { return float64(c.Check.Lost) }, nil
	case "duplicated":
		return func(c Cell) float64 { return float64(c.Check.Duplicated) }, nil
	case "reordered":
		return func(c Cell) float64 { return float64(c.Check.Reordered) }, nil
	case "records_per_sec":
		return func(c Cell) float64 { return c.Check.RecordsPerSec }, nil
	}
	return nil, fmt.Errorf("unknown metric %q (lost, duplicated, reordered, records_per_sec)", name)
}
