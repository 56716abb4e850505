package produce

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/kpar/kpar/internal/doc"
)

// maxSeries is the most series one chart (or panel) carries; more sweeps
// than that are drawn as small multiples.
const maxSeries = 6

// metric is one figure per step of a sweep; name heads its panels when a
// chart shows two metrics side by side.
type metric struct {
	name string
	val  func(sw Sweep, s Step) (float64, bool)
}

func throughputChart(r Result) *doc.Chart {
	return sweepChart(r, "throughput", "Throughput vs producers", doc.Axis{Label: "throughput", Unit: "records/s"},
		metric{val: func(_ Sweep, s Step) (float64, bool) { return s.RecordsPerSec, true }})
}

// detailCharts are the charts behind the answer: broker CPU, latency,
// network and the cores each side kept busy.
func detailCharts(r Result) []*doc.Chart {
	broker, perM := "Broker CPU vs producers", "Broker CPU per million records vs producers"
	if r.Broker.CPU != "proc" {
		broker, perM = "Broker CPU unknown: not a broker kpar started on this machine", "Broker CPU per million records unknown: not a broker kpar started on this machine"
	} else if r.Host.Cores > 0 {
		broker = fmt.Sprintf("Broker CPU vs producers (machine has %d cores)", r.Host.Cores)
	}
	latency := func(q string, v func(Step) float64) metric {
		return metric{q, func(_ Sweep, s Step) (float64, bool) { return v(s), s.Acked > 0 && s.NoReport == 0 }}
	}
	return []*doc.Chart{
		sweepChart(r, "broker_cpu", broker, doc.Axis{Label: "broker cores busy", Unit: "CPU-s/s"}, metric{val: brokerCores}),
		sweepChart(r, "broker_cpu_per_million", perM, doc.Axis{Label: "broker CPU", Unit: "CPU-s per million records"},
			metric{val: func(_ Sweep, s Step) (float64, bool) { return s.BrokerCPUPerMillion() }}),
		sweepChart(r, "latency", "Produce latency vs producers", doc.Axis{Label: "latency", Unit: "ms"},
			latency("p50", func(s Step) float64 { return s.LatencyP50Ms }), latency("p99", func(s Step) float64 { return s.LatencyP99Ms })),
		sweepChart(r, "network", "Network vs producers", doc.Axis{Label: "network", Unit: "MB/s"},
			metric{"loopback interface", func(_ Sweep, s Step) (float64, bool) { return s.LoopbackMBPerSec() }},
			metric{"clients' wire bytes", func(_ Sweep, s Step) (float64, bool) { return s.WireMBPerSec(), true }}),
		coresChart(r),
	}
}

func brokerCores(_ Sweep, s Step) (float64, bool) { return s.cores(s.BrokerCPUSeconds) }

// coresChart: pinned, each side's use of its own CPUs (1.0 = full);
// otherwise the cores each side kept busy.
func coresChart(r Result) *doc.Chart {
	if p := r.Pinned; p != nil {
		share := func(broker bool) func(Sweep, Step) (float64, bool) {
			return func(sw Sweep, s Step) (float64, bool) {
				if sw.Cores == nil {
					return 0, false
				}
				for _, cs := range sw.Cores.Steps {
					if cs.Producers == s.Producers {
						return map[bool]float64{true: cs.BrokerShare, false: cs.BenchShare}[broker], true
					}
				}
				return 0, false
			}
		}
		return sweepChart(r, "cores", fmt.Sprintf("Pinned: share of own CPUs vs producers (broker on CPU %s, bench on CPU %s)", cpuList(p.Broker), cpuList(p.Bench)),
			doc.Axis{Label: "share of the side's CPUs", Unit: "1.0 = full"}, metric{"broker", share(true)}, metric{"bench", share(false)})
	}
	bench := func(_ Sweep, s Step) (float64, bool) { return s.perSec(s.BenchCPUSeconds) }
	return sweepChart(r, "cores", "Cores busy vs producers", doc.Axis{Label: "cores busy", Unit: "CPU-s/s"}, metric{"broker", brokerCores}, metric{"bench", bench})
}

// sweepChart draws each metric against the producer count, a series per
// sweep; more than maxSeries sweeps, or two metrics, make small multiples
// (a panel per metric and group of sweeps, a sweep's color the same in each).
func sweepChart(r Result, name, title string, y doc.Axis, metrics ...metric) *doc.Chart {
	var panels []doc.Chart
	// Metric-major: with up to three groups, a row of panels per metric.
	groups := groupSweeps(r.Sweeps)
	for _, m := range metrics {
		for _, g := range groups {
			p := doc.Chart{Title: strings.Join(slices.DeleteFunc([]string{g.title, m.name}, func(s string) bool { return s == "" }), ": ")}
			for k, i := range g.idx {
				s := doc.Series{Name: g.names[k]}
				for _, st := range sortedSteps(r.Sweeps[i].Steps) {
					if v, ok := m.val(r.Sweeps[i], st); ok {
						s.X, s.Y = append(s.X, float64(st.Producers)), append(s.Y, v)
					}
				}
				p.Series = append(p.Series, s)
			}
			panels = append(panels, p)
		}
	}
	return lineChart(name, title, "producers", y, panels)
}

// lineChart is one chart of panels, or of the one panel's series; its
// count axis (producers, partitions: 1..48 spans decades) is logarithmic
// when two or more counts ran and no panel is empty (a log axis cannot
// draw one).
func lineChart(name, title, x string, y doc.Axis, panels []doc.Chart) *doc.Chart {
	c := &doc.Chart{Name: name, Title: title, Kind: doc.Line, X: doc.Axis{Label: x}, Y: y}
	xs, empty := map[float64]bool{}, false
	for _, p := range panels {
		n := 0
		for _, s := range p.Series {
			n += len(s.X)
			for _, v := range s.X {
				xs[v] = true
			}
		}
		empty = empty || n == 0
	}
	c.X.Log = len(xs) > 1 && !empty
	if len(panels) == 1 {
		c.Series = panels[0].Series
	} else {
		c.Panels = panels
	}
	return c
}

// ceilingChart is the partition sweep: the best records/s over the
// producer counts at each partition count, a series per settings and
// record size, at most maxSeries a panel.
func ceilingChart(r Result) *doc.Chart {
	names := ceilingNames(r)
	var panels []doc.Chart
	for i, cl := range r.Ceilings {
		if i%maxSeries == 0 {
			panels = append(panels, doc.Chart{})
		}
		s := doc.Series{Name: names[i]}
		for _, p := range cl.Points {
			s.X, s.Y = append(s.X, float64(p.Partitions)), append(s.Y, p.RecordsPerSec)
		}
		panels[len(panels)-1].Series = append(panels[len(panels)-1].Series, s)
	}
	return lineChart("ceiling", "Ceiling (best records/s over the producer counts) vs partitions", "partitions", doc.Axis{Label: "best throughput", Unit: "records/s"}, panels)
}

// ceilingNames names each ceiling by what differs between them.
func ceilingNames(r Result) []string {
	reps := make([]Sweep, len(r.Ceilings))
	for i, c := range r.Ceilings {
		for _, sw := range r.Sweeps {
			if sw.Mode == c.Mode && ceilingLabel(sw) == c.Label {
				reps[i] = sw
				break
			}
		}
	}
	return legendNames(reps, false)
}

// group is one panel's sweeps (indices into the result's) and their names.
type group struct {
	title string
	idx   []int
	names []string
}

// groupSweeps splits the sweeps into panels of at most maxSeries: with
// more sweeps than that, a series per value of the last dimension that
// varies (the partition count when it does), a panel per combination of
// the others (consecutive, as the run orders its sweeps).
func groupSweeps(sweeps []Sweep) []group {
	series, panel := varying(sweeps, sweepDims), []func(Sweep) string(nil)
	if n := len(series); len(sweeps) > maxSeries && n > 1 {
		series, panel = series[n-1:], series[:n-1]
	}
	var out []group
	for i, sw := range sweeps {
		title := join(sw, panel)
		if len(out) == 0 || out[len(out)-1].title != title || len(out[len(out)-1].idx) == maxSeries {
			out = append(out, group{title: title})
		}
		g := &out[len(out)-1]
		g.idx, g.names = append(g.idx, i), append(g.names, cmp.Or(join(sw, series), sw.Mode))
	}
	return out
}

// sweepDims are what can differ between sweeps, as a legend says them; the
// partition count is last.
var sweepDims = []func(Sweep) string{
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
	func(sw Sweep) string { return plural(sw.Partitions, "partition") },
}

func varying(sweeps []Sweep, dims []func(Sweep) string) []func(Sweep) string {
	var out []func(Sweep) string
	for _, d := range dims {
		for _, sw := range sweeps {
			if d(sw) != d(sweeps[0]) {
				out = append(out, d)
				break
			}
		}
	}
	return out
}

func join(sw Sweep, dims []func(Sweep) string) string {
	var s []string
	for _, d := range dims {
		s = append(s, d(sw))
	}
	return strings.Join(s, " ")
}

// legendNames names each sweep by only what differs between the sweeps
// (the tables have the full labels; a legend beside the chart has room for
// a few words): its mode when nothing does.
func legendNames(sweeps []Sweep, withPartitions bool) []string {
	dims := sweepDims
	if !withPartitions {
		dims = dims[:len(dims)-1]
	}
	vary := varying(sweeps, dims)
	names := make([]string, len(sweeps))
	for i, sw := range sweeps {
		names[i] = cmp.Or(join(sw, vary), sw.Mode)
	}
	return names
}
