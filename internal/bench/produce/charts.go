package produce

import (
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

const (
	chartW = 7 * vg.Inch
	chartH = 4.5 * vg.Inch
)

type chart struct {
	name string
	plot *plot.Plot
}

func charts(r Result) []chart {
	cs := []chart{
		{"throughput", lineChart(r, "Throughput vs producers", "records/s", func(s Step) (float64, bool) {
			return s.RecordsPerSec, true
		})},
		{"broker_cpu", brokerChart(r)},
		{"latency", latencyChart(r)},
	}
	ticks := producerTicks(r)
	for _, c := range cs {
		c.plot.X.Tick.Marker = ticks
		entries := len(r.Sweeps)
		if c.name == "latency" {
			entries *= 2
		}
		// Leave headroom so the legend at the top does not cover the lines.
		if max := c.plot.Y.Max; max > 0 {
			c.plot.Y.Max = max * (1.1 + 0.09*float64(entries))
		}
	}
	return cs
}

// producerTicks marks exactly the producer counts measured.
func producerTicks(r Result) plot.ConstantTicks {
	seen := map[int]bool{}
	var t plot.ConstantTicks
	for _, sw := range r.Sweeps {
		for _, s := range sw.Steps {
			if !seen[s.Producers] {
				seen[s.Producers] = true
				t = append(t, plot.Tick{Value: float64(s.Producers), Label: fmt.Sprint(s.Producers)})
			}
		}
	}
	return t
}

func newPlot(title, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "producers"
	p.Y.Label.Text = y
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	p.Legend.Left = true
	return p
}

func addLine(p *plot.Plot, i int, name string, pts plotter.XYs, dashes []vg.Length) {
	if len(pts) == 0 {
		return
	}
	l, s, err := plotter.NewLinePoints(pts)
	if err != nil {
		return
	}
	c := plotutil.Color(i)
	l.Color, s.Color = c, c
	l.Dashes = dashes
	s.Shape = draw.CircleGlyph{}
	p.Add(l, s)
	p.Legend.Add(name, l, s)
}

func lineChart(r Result, title, y string, val func(Step) (float64, bool)) *plot.Plot {
	p := newPlot(title, y)
	for i, sw := range r.Sweeps {
		var pts plotter.XYs
		for _, s := range sortSteps(sw.Steps) {
			if v, ok := val(s); ok {
				pts = append(pts, plotter.XY{X: float64(s.Producers), Y: v})
			}
		}
		addLine(p, i, sw.Mode+" "+sw.Label, pts, nil)
	}
	return p
}

func brokerChart(r Result) *plot.Plot {
	p := lineChart(r, "Broker CPU vs producers", "broker cores busy (CPU-s / s)", func(s Step) (float64, bool) {
		if s.BrokerCPUSeconds == nil || s.ElapsedSeconds <= 0 {
			return 0, false
		}
		return *s.BrokerCPUSeconds / s.ElapsedSeconds, true
	})
	if r.Broker.CPU != "proc" {
		p.Title.Text = "Broker CPU unknown: not a broker kpar started on this machine"
	} else if r.Host.Cores > 0 {
		p.Title.Text = fmt.Sprintf("Broker CPU vs producers (machine has %d cores)", r.Host.Cores)
	}
	return p
}

func latencyChart(r Result) *plot.Plot {
	p := newPlot("Produce latency vs producers (solid p50, dashed p99)", "ms")
	for i, sw := range r.Sweeps {
		var p50, p99 plotter.XYs
		for _, s := range sortSteps(sw.Steps) {
			if s.Acked == 0 || s.NoReport > 0 {
				continue
			}
			p50 = append(p50, plotter.XY{X: float64(s.Producers), Y: s.LatencyP50Ms})
			p99 = append(p99, plotter.XY{X: float64(s.Producers), Y: s.LatencyP99Ms})
		}
		addLine(p, i, "p50 "+sw.Mode+" "+sw.Label, p50, nil)
		addLine(p, i, "p99", p99, []vg.Length{vg.Points(4), vg.Points(3)})
	}
	return p
}
