package window

import (
	"fmt"
	"image/color"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/kpar/kpar/internal/results"
)

// Chart file names, as Views names them and Markdown links them.
const (
	HeldChart     = "window-held.svg"
	MetadataChart = "window-metadata.svg"
)

// Views are the files computed from r alone: window.md and the charts.
func Views(r Result) []results.View {
	return append([]results.View{{Name: "window.md", Bytes: []byte("# The out-of-order window\n\n" + r.Markdown())}}, r.Charts()...)
}

// Charts are the run-through runs over time, one line per library: the
// completions held past the stuck records, and the largest commit metadata;
// each as SVG (linked from the Markdown) and PNG, like every other chart.
func (r Result) Charts() []results.View {
	held := func(s Sample) float64 { return float64(s.HeldPast) }
	meta := func(s Sample) float64 { return float64(s.Metadata) }
	var vs []results.View
	for _, c := range []struct {
		name, ylabel string
		y            func(Sample) float64
	}{{HeldChart, "completions held past the stuck records", held}, {MetadataChart, "largest commit metadata (bytes)", meta}} {
		for _, ext := range []string{".svg", ".png"} {
			vs = append(vs, results.View{Name: strings.TrimSuffix(c.name, ".svg") + ext, Save: func(path string) error {
				return r.chart(path, c.ylabel, c.y)
			}})
		}
	}
	return vs
}

func (r Result) chart(path, ylabel string, y func(Sample) float64) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("one record per partition stuck %.0fs at offset %d (%s order)", r.StuckS, r.StuckOffset, r.Order)
	p.X.Label.Text = "seconds since the consumer process started"
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	palette := []color.Color{color.RGBA{0x1f, 0x77, 0xb4, 0xff}, color.RGBA{0xd6, 0x27, 0x28, 0xff}}
	for i, l := range r.Libraries {
		pts := make(plotter.XYs, 0, len(l.Through.Samples))
		for _, s := range l.Through.Samples {
			pts = append(pts, plotter.XY{X: s.T, Y: y(s)})
		}
		if len(pts) == 0 {
			continue
		}
		line, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		line.Color = palette[i%len(palette)]
		line.Width = vg.Points(1.5)
		p.Add(line)
		p.Legend.Add(name(l.Name), line)
	}
	p.Y.Min = 0
	return p.Save(8*vg.Inch, 4*vg.Inch, path)
}

func name(lib string) string {
	if lib == "pc" {
		return "Confluent Parallel Consumer"
	}
	return "kpar"
}

// Markdown is the window section: every figure and every verdict comes
// from r.
func (r Result) Markdown() string {
	var b strings.Builder
	heap := "the JVM's default heap"
	if len(r.PCJVMFlags) > 0 {
		heap = "JVM flags " + strings.Join(r.PCJVMFlags, " ")
	}
	session := "each client's default session timeout"
	if r.SessionTimeoutS > 0 {
		session = fmt.Sprintf("a %.0f s session timeout (so the group notices the killed process sooner; nothing measured depends on it)", r.SessionTimeoutS)
	}
	fmt.Fprintf(&b, "Topic %s: %d partitions of %d records, keys cycling within each partition (%s per partition), %s order. "+
		"In every partition the record at offset %d sleeps %.0f s; every other handler returns at once. Concurrency %d for both; "+
		"PC %s with %s; %s. Each library runs twice, each time as a separate process with a fresh group: once through (the stuck "+
		"records finish), once killed (SIGKILL) at the plateau and finished by a fresh process of the same group without the stuck "+
		"record. Counts come from the processed logs the consumers append to before a handler returns and from the group's committed "+
		"offsets and metadata (kadm, every poll); the broker's metadata limit is %d bytes.\n\n",
		r.Topic, r.Partitions, r.RecordsPerPartition, keysPhrase(r.KeysPerPartition), r.Order, r.StuckOffset, r.StuckS,
		r.Concurrency, r.PCVersion, heap, session, r.MetadataLimit)

	cols := make([]string, len(r.Libraries))
	for i, l := range r.Libraries {
		cols[i] = name(l.Name)
	}
	row := func(label string, f func(l Library) string) {
		fmt.Fprintf(&b, "| %s |", label)
		for _, l := range r.Libraries {
			fmt.Fprintf(&b, " %s |", f(l))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "| | %s |\n|---|%s\n", strings.Join(cols, " | "), strings.Repeat("---|", len(cols)))
	row("completions held past the stuck records (total; most in one partition, of the records its order lets run)", func(l Library) string {
		w := l.Through.Window
		return fmt.Sprintf("%d; %d of %d", w.HeldPastTotal, w.HeldPastMax, maxOf(w.Room))
	})
	row("partitions that stopped taking records", func(l Library) string {
		return fmt.Sprintf("%d of %d", len(l.Through.Stopped), r.Partitions)
	})
	row("plateau (held and commits unchanged)", func(l Library) string {
		if !l.Through.Plateaued {
			return "none before the stuck records finished"
		}
		return fmt.Sprintf("after %.1f s", l.Through.PlateauS)
	})
	row("largest commit metadata while stuck", func(l Library) string {
		return fmt.Sprintf("%d bytes (%.0f%% of %d)", l.Through.MaxMetadataBytes, 100*float64(l.Through.MaxMetadataBytes)/float64(r.MetadataLimit), r.MetadataLimit)
	})
	row("partitions holding completions whose commit had no map", func(l Library) string {
		return fmt.Sprintf("%d", len(l.Through.NoMap))
	})
	row("after the stuck records finished", func(l Library) string {
		t := l.Through
		if len(t.Stalled) > 0 {
			return fmt.Sprintf("**stalled**: partitions %v not committed to the end %.0f s later", t.Stalled, t.DrainedS)
		}
		return fmt.Sprintf("all committed %.1f s after they finished", t.DrainedS-t.ReleasedS)
	})
	row("processed exactly once (run through)", func(l Library) string {
		t := l.Through
		return fmt.Sprintf("%s (%d duplicates, %d missing)", yesNo(t.ExactlyOnce), t.Duplicates, t.Missing)
	})
	row("restart: held past the stuck records at the kill", func(l Library) string { return fmt.Sprintf("%d", l.Restart.HeldPastTotal) })
	row("restart: records replayed by the fresh process", func(l Library) string {
		return fmt.Sprintf("**%d** (most in one partition %d)", l.Restart.ReplaysTotal, maxOf(l.Restart.Replays))
	})
	row("restart: skipped thanks to the map", func(l Library) string { return fmt.Sprintf("%d", l.Restart.SkippedByMap) })
	row("restart: committed records replayed / records lost", func(l Library) string {
		return fmt.Sprintf("%d / %d", l.Restart.ReplaysBelowCommitted, l.Restart.Missing)
	})
	row("restart: fresh process to everything committed", func(l Library) string {
		if len(l.Restart.Stalled) > 0 {
			return fmt.Sprintf("**stalled**: partitions %v", l.Restart.Stalled)
		}
		return fmt.Sprintf("%.1f s", l.Restart.SecondDrainedS)
	})
	b.WriteString("\n")
	for _, l := range r.Libraries {
		b.WriteString(verdict(r, l))
		b.WriteString("\n\n")
	}
	if len(r.Libraries) > 0 {
		fmt.Fprintf(&b, "![held past the stuck records](%s)\n![commit metadata](%s)\n", HeldChart, MetadataChart)
	}
	return b.String()
}

// verdict says what one library's figures mean, from the figures.
func verdict(r Result, l Library) string {
	t, rs, n := l.Through, l.Restart, name(l.Name)
	var b strings.Builder
	switch {
	case len(t.Stopped) == 0:
		fmt.Fprintf(&b, "**%s** never stopped taking records: it finished every record above the stuck ones (%d in all) while they were stuck, ", n, t.HeldPastTotal)
	default:
		fmt.Fprintf(&b, "**%s** stopped taking records in %d of %d partitions after holding up to %d completions past a stuck record (%d in all), ",
			n, len(t.Stopped), r.Partitions, t.HeldPastMax, t.HeldPastTotal)
	}
	fmt.Fprintf(&b, "with commit metadata of at most %d bytes against the %d-byte limit. ", t.MaxMetadataBytes, r.MetadataLimit)
	if len(t.NoMap) > 0 {
		fmt.Fprintf(&b, "In %d partitions its commits carried no completion map although it held completions: that map was dropped. ", len(t.NoMap))
	}
	if len(t.Stalled) > 0 {
		fmt.Fprintf(&b, "Once the stuck records finished, partitions %v were still not committed to the end after the %.0f s drain bound: it stalled. ", t.Stalled, t.DrainedS)
	} else {
		fmt.Fprintf(&b, "Once they finished it resumed and had everything committed %.1f s later", t.DrainedS-t.ReleasedS)
		if t.ExactlyOnce {
			b.WriteString(", every record processed exactly once. ")
		} else {
			fmt.Fprintf(&b, ", with %d duplicates and %d records missing. ", t.Duplicates, t.Missing)
		}
	}
	fmt.Fprintf(&b, "Killed at the plateau with %d completions past the committed offsets, the fresh process replayed %d of them", rs.HeldPastTotal, rs.ReplaysTotal-rs.ReplaysBelowCommitted)
	switch {
	case rs.HeldPastTotal == 0:
		b.WriteString(". ")
	case rs.SkippedByMap >= rs.HeldPastTotal:
		b.WriteString(": the committed map let it skip every one. ")
	case rs.SkippedByMap <= 0:
		b.WriteString(": nothing was skipped, so the map, if written, was not used. ")
	default:
		fmt.Fprintf(&b, " and skipped %d through the committed map. ", rs.SkippedByMap)
	}
	if rs.ReplaysBelowCommitted > 0 {
		fmt.Fprintf(&b, "**%d committed records were processed again.** ", rs.ReplaysBelowCommitted)
	}
	if rs.Missing > 0 {
		fmt.Fprintf(&b, "**%d records were processed by neither process.** ", rs.Missing)
	}
	return strings.TrimSpace(b.String())
}

func keysPhrase(k []int) string {
	if len(k) == 0 {
		return "?"
	}
	lo, hi := k[0], k[0]
	for _, v := range k {
		lo, hi = min(lo, v), max(hi, v)
	}
	if lo == hi {
		return fmt.Sprintf("%d", lo)
	}
	return fmt.Sprintf("%d-%d", lo, hi)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
