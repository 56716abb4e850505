package compare

import (
	"fmt"

	"github.com/kpar/kpar/internal/doc"
)

// ioChart: steady records/s against concurrency (log scale), a line per
// contender and the ideal at the configured sleep.
func ioChart(r Result) *doc.Chart {
	c := &doc.Chart{Name: ChartIO, Title: fmt.Sprintf("I/O-bound (%.0f ms handler): steady records/s vs concurrency", r.Env.SleepMs),
		X: doc.Axis{Label: "concurrency", Log: true}, Y: doc.Axis{Label: "throughput", Unit: "records/s"}}
	lines := []doc.Series{{Name: "kpar (key order)"}, {Name: "PC (key order)"}, {Name: "ideal", Dashed: true},
		{Name: "share group (no order)"}, {Name: "kpar share (no order)"}}
	add := func(i int, x float64, s *Side, ok bool) {
		if ok && s != nil {
			lines[i].X, lines[i].Y = append(lines[i].X, x), append(lines[i].Y, s.SteadyPerS)
		}
	}
	for _, p := range r.IO {
		x := float64(p.Concurrency)
		add(0, x, &p.Kpar, true)
		add(1, x, &p.PC, true)
		add(2, x, &Side{SteadyPerS: p.IdealPerS}, true)
		add(3, x, &p.Share, p.Share.Contender != "")
		add(4, x, p.KparShare, true)
	}
	for _, l := range lines {
		if len(l.X) > 0 {
			c.Series = append(c.Series, l)
		}
	}
	return c
}

// cpuChart: CPU-s per million records, per contender, per measurement.
func cpuChart(r Result) *doc.Chart {
	c := &doc.Chart{Name: ChartCPU, Title: "CPU-s per million records (whole process, lower is better)", Kind: doc.Bars,
		X: doc.Axis{Label: "measurement"}, Y: doc.Axis{Label: "CPU per million records", Unit: "CPU-s"}}
	groups := []doc.Series{{Name: "kpar"}, {Name: "PC"}, {Name: "plain loop"}, {Name: "share group"}, {Name: "kpar share"}}
	cpu := func(s *Side) float64 {
		if s == nil {
			return 0
		}
		return s.CPUPerMillion
	}
	add := func(label string, sides ...*Side) {
		c.X.Categories = append(c.X.Categories, label)
		for i, s := range sides {
			groups[i].Y = append(groups[i].Y, cpu(s))
		}
	}
	for _, p := range r.IO {
		add(fmt.Sprintf("io c=%d", p.Concurrency), &p.Kpar, &p.PC, nil, &p.Share, p.KparShare)
	}
	if n := r.Noop; n != nil {
		add("no-op", &n.Kpar, &n.PC, &n.Plain, &n.Share, n.KparShare)
	}
	if !r.Env.KparShare {
		groups = groups[:4]
	}
	c.Series = groups
	return c
}

// rssChart: peak RSS of each process over the backlog.
func rssChart(r Result) *doc.Chart {
	m := r.RSS
	labels := []string{"kpar", "plain loop", "PC", "PC -Xmx" + m.CapHeap}
	capped := kib2mib(m.PCCapped.PeakRSSKiB)
	if !m.PCCapped.Finished {
		labels[3] += ": failed"
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
		labels, vals = append(labels, "kpar share"), append(vals, kib2mib(m.KparShare.PeakRSSKiB))
	}
	return &doc.Chart{Name: ChartRSS, Title: fmt.Sprintf("Peak RSS over a %s-record backlog (lower is better)", doc.I64(m.Kpar.Records)),
		Kind: doc.Bars, X: doc.Axis{Label: "process", Categories: labels}, Y: doc.Axis{Label: "peak RSS", Unit: "MiB"},
		Series: []doc.Series{{Name: "peak RSS", Y: vals}}}
}
