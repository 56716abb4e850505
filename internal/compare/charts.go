package compare

import (
	"fmt"
	"image/color"

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

// ChartNames are the charts Views writes, each as .svg and .png.
var ChartNames = []string{"io_throughput", "cpu_per_million", "peak_rss"}

func charts(r Result) ([]chart, error) {
	io, err := ioChart(r)
	if err != nil {
		return nil, err
	}
	cpu, err := cpuChart(r)
	if err != nil {
		return nil, err
	}
	rss, err := rssChart(r)
	if err != nil {
		return nil, err
	}
	return []chart{{"io_throughput", io}, {"cpu_per_million", cpu}, {"peak_rss", rss}}, nil
}

// ioChart: steady records/s against concurrency (log scale), one line per
// library and the ideal at the configured sleep.
func ioChart(r Result) (*plot.Plot, error) {
	if len(r.IO) == 0 { // the io parts failed or did not run: nothing on a log axis
		return bars("I/O-bound (no data)", "records/s", []string{"-"}, nil)
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("I/O-bound (%.0f ms handler): steady records/s vs concurrency", r.Env.SleepMs)
	p.X.Label.Text = "concurrency (log scale)"
	p.Y.Label.Text = "records/s"
	p.Y.Min = 0
	p.X.Scale = plot.LogScale{}
	var ticks plot.ConstantTicks
	var kpar, pcs, share, kparShare, ideal plotter.XYs
	for _, pt := range r.IO {
		x := float64(pt.Concurrency)
		ticks = append(ticks, plot.Tick{Value: x, Label: fmt.Sprint(pt.Concurrency)})
		kpar = append(kpar, plotter.XY{X: x, Y: pt.Kpar.SteadyPerS})
		pcs = append(pcs, plotter.XY{X: x, Y: pt.PC.SteadyPerS})
		if pt.Share.Contender != "" {
			share = append(share, plotter.XY{X: x, Y: pt.Share.SteadyPerS})
		}
		if pt.KparShare != nil {
			kparShare = append(kparShare, plotter.XY{X: x, Y: pt.KparShare.SteadyPerS})
		}
		ideal = append(ideal, plotter.XY{X: x, Y: pt.IdealPerS})
	}
	p.X.Tick.Marker = ticks
	p.Add(plotter.NewGrid())
	p.Legend.Top, p.Legend.Left = true, true
	for i, l := range []struct {
		name string
		pts  plotter.XYs
	}{{"kpar (key order)", kpar}, {"Confluent PC (key order)", pcs}, {"ideal (concurrency / sleep)", ideal},
		{"share group (bare franz-go, no key order)", share}, {"kpar share mode (no key order)", kparShare}} {
		if len(l.pts) == 0 {
			continue
		}
		line, pts, err := plotter.NewLinePoints(l.pts)
		if err != nil {
			return nil, err
		}
		c := plotutil.Color(i)
		line.Color, pts.Color = c, c
		pts.Shape = draw.CircleGlyph{}
		if i == 2 {
			line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		p.Add(line, pts)
		p.Legend.Add(l.name, line, pts)
	}
	if len(r.IO) == 1 { // a log axis needs a range
		p.X.Min, p.X.Max = float64(r.IO[0].Concurrency)/2, float64(r.IO[0].Concurrency)*2
	}
	return p, nil
}

// bars draws one group of bars per contender over the labelled measurements.
func bars(title, y string, labels []string, groups []struct {
	name string
	vals []float64
}) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = y
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	w := vg.Points(14)
	if len(groups) > 3 { // keep each label's group about as wide
		w = vg.Points(42 / float64(len(groups)))
	}
	for i, g := range groups {
		b, err := plotter.NewBarChart(plotter.Values(g.vals), w)
		if err != nil {
			return nil, err
		}
		b.Color = plotutil.Color(i)
		b.LineStyle.Color = color.Black
		b.Offset = vg.Length(float64(i)-float64(len(groups)-1)/2) * w
		p.Add(b)
		p.Legend.Add(g.name, b)
	}
	p.NominalX(labels...)
	if p.Y.Max > 0 {
		p.Y.Max *= 1.25 // room for the legend
	}
	return p, nil
}

// cpuChart: CPU-s per million records, per contender, per measurement.
func cpuChart(r Result) (*plot.Plot, error) {
	var labels []string
	groups := []struct {
		name string
		vals []float64
	}{{name: "kpar"}, {name: "Confluent PC"}, {name: "plain franz-go loop"}, {name: "share group (bare)"}, {name: "kpar share mode"}}
	cpu := func(s *Side) float64 {
		if s == nil {
			return 0
		}
		return s.CPUPerMillion
	}
	for _, pt := range r.IO {
		labels = append(labels, fmt.Sprintf("io c=%d", pt.Concurrency))
		groups[0].vals = append(groups[0].vals, pt.Kpar.CPUPerMillion)
		groups[1].vals = append(groups[1].vals, pt.PC.CPUPerMillion)
		groups[2].vals = append(groups[2].vals, 0)
		groups[3].vals = append(groups[3].vals, pt.Share.CPUPerMillion)
		groups[4].vals = append(groups[4].vals, cpu(pt.KparShare))
	}
	if n := r.Noop; n != nil {
		labels = append(labels, "no-op")
		groups[0].vals = append(groups[0].vals, n.Kpar.CPUPerMillion)
		groups[1].vals = append(groups[1].vals, n.PC.CPUPerMillion)
		groups[2].vals = append(groups[2].vals, n.Plain.CPUPerMillion)
		groups[3].vals = append(groups[3].vals, n.Share.CPUPerMillion)
		groups[4].vals = append(groups[4].vals, cpu(n.KparShare))
	}
	if !r.Env.KparShare {
		groups = groups[:4]
	}
	if len(labels) == 0 {
		return bars("CPU-s per million records (no data)", "CPU-s", []string{"-"}, nil)
	}
	return bars("CPU-s per million records (whole process, lower is better)", "CPU-s per million records", labels, groups)
}

// rssChart: peak RSS of each process over the backlog.
func rssChart(r Result) (*plot.Plot, error) {
	m := r.RSS
	if m == nil {
		return bars("Peak RSS (no data)", "MiB", []string{"-"}, nil)
	}
	labels := []string{"kpar", "plain loop", "PC, JVM default heap", "PC, -Xmx" + m.CapHeap + ", kpar's fetch sizes"}
	capped := kib2mib(m.PCCapped.PeakRSSKiB)
	if !m.PCCapped.Finished {
		labels[3] += " (did not finish)"
		capped = 0
	}
	vals := []float64{kib2mib(m.Kpar.PeakRSSKiB), kib2mib(m.Plain.PeakRSSKiB), kib2mib(m.PC.PeakRSSKiB), capped}
	if m.HeapSearch == nil || len(m.HeapSearch.Steps) == 0 { // no capped run
		labels, vals = labels[:3], vals[:3]
	}
	if m.Share.Contender != "" {
		labels, vals = append(labels, "share group"), append(vals, kib2mib(m.Share.PeakRSSKiB))
	}
	if m.KparShare != nil {
		labels, vals = append(labels, "kpar share mode"), append(vals, kib2mib(m.KparShare.PeakRSSKiB))
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Peak RSS consuming a %d-record backlog (lower is better)", m.Kpar.Records)
	p.Y.Label.Text = "MiB"
	p.Add(plotter.NewGrid())
	b, err := plotter.NewBarChart(plotter.Values(vals), vg.Points(40))
	if err != nil {
		return nil, err
	}
	b.Color = plotutil.Color(0)
	p.Add(b)
	p.NominalX(labels...)
	return p, nil
}
