package downstream

import (
	"fmt"
	"image/color"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/kpar/kpar/internal/clock"
	"github.com/kpar/kpar/internal/results"
)

// Views are the files computed from r alone: downstream.md and the
// timeline charts of the first repeat.
func Views(r Result) []results.View {
	v := []results.View{{Name: "downstream.md", Bytes: []byte(Markdown(r))}}
	for _, ext := range []string{".svg", ".png"} {
		v = append(v,
			results.View{Name: "downstream-throughput" + ext, Save: func(p string) error { return ThroughputChart(p, r) }},
			results.View{Name: "downstream-limit" + ext, Save: func(p string) error { return LimitChart(p, r) }})
	}
	return v
}

// figure is one contender's phase figure over the repeats.
func (r Result) figure(name, phase string, f func(Phase) float64) clock.Spread {
	var xs []float64
	for _, x := range r.Runs {
		if x.Contender == name {
			xs = append(xs, f(x.Phase(phase)))
		}
	}
	return clock.SpreadOf(xs)
}

func spread(s clock.Spread, format string) string {
	if s.Min == s.Max {
		return fmt.Sprintf(format, s.Median)
	}
	return fmt.Sprintf(format+" ("+format+"-"+format+")", s.Median, s.Min, s.Max)
}

// Winners names, per phase, the contender with the highest median
// records/s and the one with the lowest median p99.
func (r Result) Winners() []string {
	var out []string
	for _, ph := range []string{"steady", "halved", "recovered"} {
		bestT, bestP := "", ""
		var t, p float64
		for _, ct := range r.Contenders {
			ts := r.figure(ct.Name, ph, func(x Phase) float64 { return x.PerS }).Median
			ps := r.figure(ct.Name, ph, func(x Phase) float64 { return x.P99Ms }).Median
			if bestT == "" || ts > t {
				bestT, t = ct.Name, ts
			}
			if bestP == "" || ps < p {
				bestP, p = ct.Name, ps
			}
		}
		out = append(out, fmt.Sprintf("%s: most records/s %s (%.0f/s); lowest p99 %s (%.1f ms)", ph, bestT, t, bestP, p))
	}
	return out
}

// Markdown is downstream.md.
func Markdown(r Result) string {
	var b strings.Builder
	c := r.Config
	fmt.Fprintf(&b, "# Downstream: fixed, adaptive and rate-limited concurrency\n\n")
	fmt.Fprintf(&b, "Simulated downstream: %d calls at once at %.0f ms, FIFO queue beyond, calls not done by %.0f ms fail "+
		"(retried in place by the library, up to %d attempts). Phases: steady %.0f s (capacity %d), halved %.0f s (capacity %d), "+
		"recovered %.0f s (capacity %d). Measured windows skip the first %.0f s of steady and the first %.0f s after each change. "+
		"%d partitions, order %s. %d repeat(s): median (min-max).\n\n",
		c.Capacity, c.BaseLatencyMs, c.TimeoutMs, c.Attempts, c.SteadySec, c.Capacity, c.HalvedSec, c.Capacity/2,
		c.RecoveredSec, c.Capacity, c.WarmupSec, c.SettleSec, c.Partitions, c.Order, c.Repeat)
	for _, w := range r.Winners() {
		fmt.Fprintf(&b, "- %s\n", w)
	}
	for _, ph := range []string{"steady", "halved", "recovered"} {
		fmt.Fprintf(&b, "\n## %s\n\n| contender | records/s | p50 ms | p99 ms | errors | retries |\n|---|---|---|---|---|---|\n", ph)
		for _, ct := range r.Contenders {
			f := func(g func(Phase) float64, format string) string { return spread(r.figure(ct.Name, ph, g), format) }
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", ct.Name,
				f(func(p Phase) float64 { return p.PerS }, "%.0f"), f(func(p Phase) float64 { return p.P50Ms }, "%.1f"),
				f(func(p Phase) float64 { return p.P99Ms }, "%.1f"), f(func(p Phase) float64 { return float64(p.Errors) }, "%.0f"),
				f(func(p Phase) float64 { return float64(p.Retries) }, "%.0f"))
		}
	}
	fmt.Fprintf(&b, "\n## Targets\n\n| target | goal | per repeat | against | verdict |\n|---|---|---|---|---|\n")
	for _, t := range r.Targets {
		vals := make([]string, len(t.Values))
		for i, v := range t.Values {
			vals[i] = fmt.Sprintf("%.2f", v)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", t.Name, t.Goal, strings.Join(vals, ", "),
			strings.Join(t.Against, ", "), t.Verdict)
	}
	b.WriteString("\nCharts (first repeat): downstream-throughput.svg, downstream-limit.svg.\n")
	return b.String()
}

// Text is the terminal summary.
func Text(r Result) string {
	var b strings.Builder
	for _, w := range r.Winners() {
		fmt.Fprintln(&b, w)
	}
	for _, t := range r.Targets {
		fmt.Fprintf(&b, "%s: %s\n", t.Name, t.Verdict)
	}
	return b.String()
}

var palette = []color.Color{
	color.RGBA{0x1f, 0x77, 0xb4, 0xff}, color.RGBA{0xff, 0x7f, 0x0e, 0xff}, color.RGBA{0x2c, 0xa0, 0x2c, 0xff},
	color.RGBA{0xd6, 0x27, 0x28, 0xff}, color.RGBA{0x94, 0x67, 0xbd, 0xff}, color.RGBA{0x8c, 0x56, 0x4b, 0xff},
	color.RGBA{0, 0, 0, 0xff},
}

// ThroughputChart draws records/s per tick of every contender's first repeat.
func ThroughputChart(path string, r Result) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("records/s per %.2f s (capacity %d, halved %.0f-%.0f s)", r.Config.TickSec, r.Config.Capacity,
		r.Config.SteadySec, r.Config.SteadySec+r.Config.HalvedSec)
	p.X.Label.Text, p.Y.Label.Text = "seconds since the first call", "records/s"
	for i, ct := range r.Contenders {
		x, ok := r.run(ct.Name, 0)
		if !ok || len(x.Timeline) < 2 {
			continue
		}
		pts := make(plotter.XYs, 0, len(x.Timeline)-1)
		for j := 1; j < len(x.Timeline); j++ {
			a, b := x.Timeline[j-1], x.Timeline[j]
			if dt := b.Sec - a.Sec; dt > 0 {
				pts = append(pts, plotter.XY{X: b.Sec, Y: float64(b.Completed-a.Completed) / dt})
			}
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		l.Color = palette[i%len(palette)]
		p.Add(l)
		p.Legend.Add(ct.Name, l)
	}
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	p.Y.Min = 0
	return p.Save(10*vg.Inch, 5*vg.Inch, path)
}

// LimitChart draws the adaptive contender's limit and its workers holding
// records (Stats.InFlight: running a handler or waiting for a slot) in its
// first repeat, against the downstream's capacity.
func LimitChart(path string, r Result) error {
	p := plot.New()
	ad := r.adaptive()
	p.Title.Text = ad.Name + ": concurrency limit, workers holding records, downstream capacity"
	p.X.Label.Text, p.Y.Label.Text = "seconds since the first call", "calls"
	x, _ := r.run(ad.Name, 0)
	var lim, fl, capPts plotter.XYs
	c := r.Config
	for _, s := range x.Timeline {
		lim = append(lim, plotter.XY{X: s.Sec, Y: float64(s.Limit)})
		fl = append(fl, plotter.XY{X: s.Sec, Y: float64(s.InFlight)})
		cp := c.Capacity
		if s.Sec >= c.SteadySec && s.Sec < c.SteadySec+c.HalvedSec {
			cp = c.Capacity / 2
		}
		capPts = append(capPts, plotter.XY{X: s.Sec, Y: float64(cp)})
	}
	for i, set := range []struct {
		name string
		pts  plotter.XYs
	}{{"limit", lim}, {"workers holding records (Stats.InFlight)", fl}, {"downstream capacity", capPts}} {
		if len(set.pts) == 0 {
			continue
		}
		l, err := plotter.NewLine(set.pts)
		if err != nil {
			return err
		}
		l.Color = palette[i]
		p.Add(l)
		p.Legend.Add(set.name, l)
	}
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	p.Y.Min = 0
	return p.Save(10*vg.Inch, 5*vg.Inch, path)
}
