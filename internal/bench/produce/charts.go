package produce

import (
	"fmt"
	"sort"
	"strings"

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
		{"broker_cpu_per_million", lineChart(r, "Broker CPU per million records vs producers", "broker CPU-s per million records", Step.BrokerCPUPerMillion)},
		{"latency", latencyChart(r)},
		{"network", networkChart(r)},
		{"cores", coresChart(r)},
	}
	if r.Broker.CPU != "proc" {
		cs[2].plot.Title.Text = "Broker CPU per million records unknown: not a broker kpar started on this machine"
	}
	ticks := producerTicks(r)
	for _, c := range cs {
		c.plot.X.Tick.Marker = ticks
		entries := len(r.Sweeps)
		if c.name == "latency" || c.name == "network" || c.name == "cores" {
			entries *= 2
		}
		// Leave headroom so the legend at the top does not cover the lines.
		if max := c.plot.Y.Max; max > 0 {
			c.plot.Y.Max = max * (1.1 + 0.09*float64(entries))
		}
	}
	return append(cs, chart{"ceiling", ceilingChart(r)})
}

// ceilingChart is the partition sweep: the best records/s over the
// producer counts at each partition count, one line per settings and
// record size.
func ceilingChart(r Result) *plot.Plot {
	p := newPlot("Ceiling (best records/s over producer counts) vs partitions", "records/s")
	p.X.Label.Text = "partitions"
	var order []string
	lines := map[string]plotter.XYs{}
	seen := map[int]bool{}
	var ticks plot.ConstantTicks
	names := legendNames(r.Sweeps, false)
	for i, sw := range r.Sweeps {
		k := names[i]
		if _, ok := lines[k]; !ok {
			order = append(order, k)
		}
		best := 0.0
		for _, st := range sw.Steps {
			best = max(best, st.RecordsPerSec)
		}
		lines[k] = append(lines[k], plotter.XY{X: float64(sw.Partitions), Y: best})
		if !seen[sw.Partitions] {
			seen[sw.Partitions] = true
			ticks = append(ticks, plot.Tick{Value: float64(sw.Partitions), Label: fmt.Sprint(sw.Partitions)})
		}
	}
	for i, k := range order {
		pts := lines[k]
		sort.Slice(pts, func(a, b int) bool { return pts[a].X < pts[b].X })
		addLine(p, i, k, pts, nil)
	}
	if len(ticks) == 1 {
		p.Title.Text = fmt.Sprintf("Ceiling at %d partitions (one partition count measured: run --partitions 1,3,12,48 for the sweep)", int(ticks[0].Value))
	}
	// Partition counts span decades (1..48): a log axis keeps them apart.
	if len(ticks) > 1 && ticks[0].Value > 0 {
		p.X.Scale = plot.LogScale{}
	}
	p.X.Tick.Marker = ticks
	if m := p.Y.Max; m > 0 {
		p.Y.Max = m * (1.1 + 0.09*float64(len(order)))
	}
	return p
}

// networkChart sets the loopback interface's bytes beside the clients' own
// bytes on the wire.
func networkChart(r Result) *plot.Plot {
	p := newPlot("Network vs producers (solid: loopback interface, dashed: clients' wire bytes)", "MB/s")
	names := legendNames(r.Sweeps, true)
	for i, sw := range r.Sweeps {
		var lo, wire plotter.XYs
		for _, s := range sortSteps(sw.Steps) {
			if v, ok := s.LoopbackMBPerSec(); ok {
				lo = append(lo, plotter.XY{X: float64(s.Producers), Y: v})
			}
			wire = append(wire, plotter.XY{X: float64(s.Producers), Y: s.WireMBPerSec()})
		}
		addLine(p, i, "lo "+names[i], lo, nil)
		addLine(p, i, "wire", wire, []vg.Length{vg.Points(4), vg.Points(3)})
	}
	return p
}

// coresChart: pinned, each side's use of its own CPUs (1.0 = full);
// otherwise the cores each side kept busy.
func coresChart(r Result) *plot.Plot {
	title, y := "Cores busy vs producers (solid: broker, dashed: bench)", "cores (CPU-s / s)"
	if r.Pinned != nil {
		title = fmt.Sprintf("Pinned: share of own CPUs vs producers (solid: broker on CPU %s, dashed: bench on CPU %s)", cpuList(r.Pinned.Broker), cpuList(r.Pinned.Bench))
		y = "share of the side's CPUs (1.0 = full)"
	}
	p := newPlot(title, y)
	names := legendNames(r.Sweeps, true)
	for i, sw := range r.Sweeps {
		var br, be plotter.XYs
		if sw.Cores != nil {
			for _, cs := range sw.Cores.Steps {
				br = append(br, plotter.XY{X: float64(cs.Producers), Y: cs.BrokerShare})
				be = append(be, plotter.XY{X: float64(cs.Producers), Y: cs.BenchShare})
			}
		} else {
			for _, s := range sortSteps(sw.Steps) {
				if s.ElapsedSeconds <= 0 {
					continue
				}
				if s.BrokerCPUSeconds != nil {
					br = append(br, plotter.XY{X: float64(s.Producers), Y: *s.BrokerCPUSeconds / s.ElapsedSeconds})
				}
				be = append(be, plotter.XY{X: float64(s.Producers), Y: s.BenchCPUSeconds / s.ElapsedSeconds})
			}
		}
		addLine(p, i, "broker "+names[i], br, nil)
		addLine(p, i, "bench", be, []vg.Length{vg.Points(4), vg.Points(3)})
	}
	return p
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
	names := legendNames(r.Sweeps, true)
	for i, sw := range r.Sweeps {
		var pts plotter.XYs
		for _, s := range sortSteps(sw.Steps) {
			if v, ok := val(s); ok {
				pts = append(pts, plotter.XY{X: float64(s.Producers), Y: v})
			}
		}
		addLine(p, i, names[i], pts, nil)
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
	names := legendNames(r.Sweeps, true)
	for i, sw := range r.Sweeps {
		var p50, p99 plotter.XYs
		for _, s := range sortSteps(sw.Steps) {
			if s.Acked == 0 || s.NoReport > 0 {
				continue
			}
			p50 = append(p50, plotter.XY{X: float64(s.Producers), Y: s.LatencyP50Ms})
			p99 = append(p99, plotter.XY{X: float64(s.Producers), Y: s.LatencyP99Ms})
		}
		addLine(p, i, "p50 "+names[i], p50, nil)
		addLine(p, i, "p99", p99, []vg.Length{vg.Points(4), vg.Points(3)})
	}
	return p
}

// legendNames names each sweep in a legend: by its full label when there
// are a few, else by only what differs between the sweeps (a 24-line
// chart cannot carry full labels; summary.md has them).
func legendNames(sweeps []Sweep, withPartitions bool) []string {
	if len(sweeps) <= 3 {
		names := make([]string, len(sweeps))
		for i, sw := range sweeps {
			names[i] = sw.Mode + " " + sw.Label
			if !withPartitions {
				s := sw.Settings
				s.Topics = nil
				names[i] = sw.Mode + " " + s.Label() + sizeLabel(sw.RecordSize)
			}
		}
		return names
	}
	dims := []func(Sweep) string{
		func(sw Sweep) string { return sw.Mode },
		func(sw Sweep) string { return "acks=" + sw.Settings.Acks },
		func(sw Sweep) string { return map[bool]string{true: "idem", false: "noidem"}[sw.Settings.Idempotence] },
		func(sw Sweep) string { return sw.Settings.Partitioner },
		func(sw Sweep) string { return "linger=" + sw.Settings.Linger.String() },
		func(sw Sweep) string { return fmt.Sprintf("batch=%d", sw.Settings.BatchBytes) },
		func(sw Sweep) string { return sw.Settings.Compression },
		func(sw Sweep) string { return fmt.Sprintf("%d topic(s)", len(sw.Settings.Topics)) },
		func(sw Sweep) string { return map[bool]string{true: "no-flush", false: "flush"}[sw.Settings.NoFlush] },
		func(sw Sweep) string {
			if sw.RecordSize <= 0 {
				return "rows as is"
			}
			return fmt.Sprintf("value=%dB", sw.RecordSize)
		},
	}
	if withPartitions {
		dims = append(dims, func(sw Sweep) string { return plural(sw.Partitions, "partition") })
	}
	names := make([]string, len(sweeps))
	for _, d := range dims {
		vary := false
		for _, sw := range sweeps {
			if d(sw) != d(sweeps[0]) {
				vary = true
			}
		}
		if !vary {
			continue
		}
		for i, sw := range sweeps {
			names[i] = strings.TrimSpace(names[i] + " " + d(sw))
		}
	}
	for i, sw := range sweeps {
		if names[i] == "" {
			names[i] = sw.Mode
		}
	}
	return names
}
