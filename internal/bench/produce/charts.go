package produce

import (
	"fmt"
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

func brokerCores(_ Sweep, s Step) (float64, bool) {
	if s.BrokerCPUSeconds == nil || s.ElapsedSeconds <= 0 {
		return 0, false
	}
	return *s.BrokerCPUSeconds / s.ElapsedSeconds, true
}

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
	bench := func(_ Sweep, s Step) (float64, bool) {
		return s.BenchCPUSeconds / s.ElapsedSeconds, s.ElapsedSeconds > 0
	}
	return sweepChart(r, "cores", "Cores busy vs producers", doc.Axis{Label: "cores busy", Unit: "CPU-s/s"}, metric{"broker", brokerCores}, metric{"bench", bench})
}

// sweepChart draws each metric against the producer count, a series per
// sweep; more than maxSeries sweeps, or two metrics, make small multiples
// (a panel per metric and group of sweeps, a sweep's color the same in each).
func sweepChart(r Result, name, title string, y doc.Axis, metrics ...metric) *doc.Chart {
	c := &doc.Chart{Name: name, Title: title, Kind: doc.Line, X: countAxis("producers", r.Sweeps, func(sw Sweep) []int {
		var n []int
		for _, s := range sw.Steps {
			n = append(n, s.Producers)
		}
		return n
	}), Y: y}
	var panels []doc.Chart
	// Metric-major: with up to three groups, a row of panels per metric.
	groups := groupSweeps(r.Sweeps)
	for _, m := range metrics {
		for _, g := range groups {
			p := doc.Chart{Title: strings.Join(nonEmpty(g.title, m.name), ": ")}
			for k, i := range g.idx {
				sw := r.Sweeps[i]
				s := doc.Series{Name: g.names[k]}
				for _, st := range sortedSteps(sw.Steps) {
					if v, ok := m.val(sw, st); ok {
						s.X, s.Y = append(s.X, float64(st.Producers)), append(s.Y, v)
					}
				}
				p.Series = append(p.Series, s)
			}
			c.X.Log = c.X.Log && drawn(p)
			panels = append(panels, p)
		}
	}
	if len(panels) == 1 {
		c.Series = panels[0].Series
	} else {
		c.Panels = panels
	}
	return c
}

// drawn says whether a panel has a point: a log axis cannot draw an empty one.
func drawn(p doc.Chart) bool {
	for _, s := range p.Series {
		if len(s.X) > 0 {
			return true
		}
	}
	return false
}

// countAxis is a count axis (producers, partitions), logarithmic when two
// or more counts ran: they span decades (1..48).
func countAxis(label string, sweeps []Sweep, counts func(Sweep) []int) doc.Axis {
	seen := map[int]bool{}
	for _, sw := range sweeps {
		for _, n := range counts(sw) {
			seen[n] = true
		}
	}
	return doc.Axis{Label: label, Log: len(seen) > 1}
}

// ceilingChart is the partition sweep: the best records/s over the
// producer counts at each partition count, a series per settings and
// record size.
func ceilingChart(r Result) *doc.Chart {
	c := &doc.Chart{Name: "ceiling", Title: "Ceiling (best records/s over the producer counts) vs partitions", Kind: doc.Line,
		X: countAxis("partitions", r.Sweeps, func(sw Sweep) []int { return []int{sw.Partitions} }), Y: doc.Axis{Label: "best throughput", Unit: "records/s"}}
	names := ceilingNames(r)
	var series []doc.Series
	for i, cl := range r.Ceilings {
		s := doc.Series{Name: names[i]}
		for _, p := range cl.Points {
			s.X, s.Y = append(s.X, float64(p.Partitions)), append(s.Y, p.RecordsPerSec)
		}
		series = append(series, s)
	}
	if len(series) <= maxSeries {
		c.Series = series
		return c
	}
	for i := 0; i < len(series); i += maxSeries {
		c.Panels = append(c.Panels, doc.Chart{Series: series[i:min(i+maxSeries, len(series))]})
	}
	return c
}

// ceilingNames names each ceiling by what differs between them.
func ceilingNames(r Result) []string {
	reps := make([]Sweep, len(r.Ceilings))
	for i, c := range r.Ceilings {
		for _, sw := range r.Sweeps {
			s := sw.Settings
			s.Topics = nil
			if sw.Mode == c.Mode && s.Label()+sizeLabel(sw.RecordSize) == c.Label {
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

// groupSweeps splits the sweeps into panels of at most maxSeries: a series
// per value of the last dimension that varies (the partition count when it
// does), a panel per combination of the others.
func groupSweeps(sweeps []Sweep) []group {
	if len(sweeps) <= maxSeries {
		g := group{names: legendNames(sweeps, true)}
		for i := range sweeps {
			g.idx = append(g.idx, i)
		}
		return []group{g}
	}
	vary := varying(sweeps, sweepDims)
	var series func(Sweep) string
	if len(vary) > 0 {
		series, vary = vary[len(vary)-1], vary[:len(vary)-1]
	} else {
		series = func(sw Sweep) string { return sw.Mode }
	}
	var order []string
	by := map[string]*group{}
	for i, sw := range sweeps {
		k := join(sw, vary)
		if by[k] == nil {
			by[k] = &group{title: k}
			order = append(order, k)
		}
		by[k].idx, by[k].names = append(by[k].idx, i), append(by[k].names, series(sw))
	}
	var out []group
	for _, k := range order {
		g := by[k]
		for i := 0; i < len(g.idx); i += maxSeries {
			j := min(i+maxSeries, len(g.idx))
			out = append(out, group{title: g.title, idx: g.idx[i:j], names: g.names[i:j]})
		}
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

func nonEmpty(s ...string) []string {
	var out []string
	for _, v := range s {
		if v != "" {
			out = append(out, v)
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
		if names[i] = join(sw, vary); names[i] == "" {
			names[i] = sw.Mode
		}
	}
	return names
}
