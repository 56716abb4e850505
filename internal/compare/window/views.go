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
	p.Title.Text = fmt.Sprintf("one record per partition stuck at offset %d until the plateau, then released (%s order)", r.StuckOffset, r.Order)
	p.X.Label.Text = "seconds since the consumer process started"
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	palette := []color.Color{color.RGBA{0x1f, 0x77, 0xb4, 0xff}, color.RGBA{0xd6, 0x27, 0x28, 0xff}}
	for i, l := range r.Libraries {
		if l.Through.Failed != "" {
			continue
		}
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
		"In every partition the handler of the record at offset %d waits for a release line on its process's stdin, sent once the "+
		"plateau has been measured (or after %.0f s without one); every other handler returns at once. Concurrency %d for both; "+
		"PC %s with %s; %s. Each library runs twice, each time as a separate process with a fresh group: once through (the stuck "+
		"records released at the plateau), once killed (SIGKILL) at the plateau with the stuck records still held and finished by a "+
		"fresh process of the same group without the stuck record. Counts come from the processed logs the consumers append to before "+
		"a handler returns and from the group's committed offsets and metadata (kadm, every poll); the broker's metadata limit is %d bytes.\n\n",
		r.Topic, r.Partitions, r.RecordsPerPartition, keysPhrase(r.KeysPerPartition), r.Order, r.StuckOffset, r.MaxHoldS,
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
	// th and rs are rows of one part: "failed" where that part failed.
	th := func(label string, f func(l Library) string) {
		row(label, func(l Library) string {
			if l.Through.Failed != "" {
				return "failed"
			}
			return f(l)
		})
	}
	rs := func(label string, f func(l Library) string) {
		row(label, func(l Library) string {
			if l.Restart.Failed != "" {
				return "failed"
			}
			return f(l)
		})
	}
	fmt.Fprintf(&b, "| | %s |\n|---|%s\n", strings.Join(cols, " | "), strings.Repeat("---|", len(cols)))
	th("completions held past the stuck records (total; most in one partition, of the records its order lets run)", func(l Library) string {
		w := l.Through.Window
		return fmt.Sprintf("%d; %d of %d", w.HeldPastTotal, w.HeldPastMax, maxOf(w.Room))
	})
	th("partitions that stopped taking records (of them, with no record processed)", func(l Library) string {
		return fmt.Sprintf("%d of %d (%d)", len(l.Through.Stopped), r.Partitions, len(l.Through.Untouched))
	})
	th("plateau (held and commits unchanged)", func(l Library) string {
		if !l.Through.Plateaued {
			return fmt.Sprintf("none within %.0f s", r.MaxHoldS)
		}
		return fmt.Sprintf("after %.1f s", l.Through.PlateauS)
	})
	th("largest commit metadata while stuck", func(l Library) string {
		return fmt.Sprintf("%d bytes (%.0f%% of %d)", l.Through.MaxMetadataBytes, 100*float64(l.Through.MaxMetadataBytes)/float64(r.MetadataLimit), r.MetadataLimit)
	})
	th("partitions holding completions whose commit had no map", func(l Library) string {
		return fmt.Sprintf("%d", len(l.Through.NoMap))
	})
	th("after the release", func(l Library) string {
		t := l.Through
		if len(t.Stalled) > 0 {
			return fmt.Sprintf("**stalled**: partitions %v not committed to the end", t.Stalled)
		}
		return fmt.Sprintf("stuck records done %.1f s after it, all committed %.1f s after it", t.StuckDoneS-t.ReleasedS, t.DrainedS-t.ReleasedS)
	})
	th("processed exactly once (run through)", func(l Library) string {
		t := l.Through
		return fmt.Sprintf("%s (%d duplicates, %d missing)", yesNo(t.ExactlyOnce), t.Duplicates, t.Missing)
	})
	rs("restart: killed (stuck records still held)", func(l Library) string {
		if !l.Restart.Plateaued {
			return fmt.Sprintf("after %.1f s, no plateau within %.0f s", l.Restart.KilledS, r.MaxHoldS)
		}
		return fmt.Sprintf("at the plateau, after %.1f s", l.Restart.KilledS)
	})
	rs("restart: held past the stuck records at the kill", func(l Library) string { return fmt.Sprintf("%d", l.Restart.HeldPastTotal) })
	rs("restart: records replayed by the fresh process", func(l Library) string {
		return fmt.Sprintf("**%d** (most in one partition %d)", l.Restart.ReplaysTotal, maxOf(l.Restart.Replays))
	})
	rs("restart: skipped thanks to the map", func(l Library) string { return fmt.Sprintf("%d", l.Restart.SkippedByMap) })
	rs("restart: committed records replayed / records lost", func(l Library) string {
		return fmt.Sprintf("%d / %d", l.Restart.ReplaysBelowCommitted, l.Restart.Missing)
	})
	rs("restart: fresh process to everything committed", func(l Library) string {
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
	if f := r.Failures(); len(f) > 0 {
		b.WriteString("Parts that did not complete (their figures are not shown):\n\n")
		for _, s := range f {
			fmt.Fprintf(&b, "- %s\n", oneLine(s))
		}
		b.WriteString("\n")
	}
	if r.throughs() > 0 {
		fmt.Fprintf(&b, "![held past the stuck records](%s)\n![commit metadata](%s)\n", HeldChart, MetadataChart)
	}
	return b.String()
}

// throughs counts the libraries whose run through completed.
func (r Result) throughs() int {
	n := 0
	for _, l := range r.Libraries {
		if l.Through.Failed == "" {
			n++
		}
	}
	return n
}

// oneLine is a failure's reason on one line: its lines joined with "; ",
// at most 400 bytes.
func oneLine(s string) string {
	var parts []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	s = strings.Join(parts, "; ")
	if len(s) > 400 {
		s = s[:400] + "..."
	}
	return s
}

// verdict says what one library's figures mean, from the figures.
func verdict(r Result, l Library) string {
	t, rs, n := l.Through, l.Restart, name(l.Name)
	var b strings.Builder
	if t.Failed != "" {
		fmt.Fprintf(&b, "**%s**'s run through did not complete (%s). ", n, oneLine(t.Failed))
	} else {
		throughVerdict(&b, r, t, n)
	}
	if rs.Failed != "" {
		fmt.Fprintf(&b, "Its restart did not complete (%s).", oneLine(rs.Failed))
		return strings.TrimSpace(b.String())
	}
	restartVerdict(&b, r, rs)
	return strings.TrimSpace(b.String())
}

func throughVerdict(b *strings.Builder, r Result, t Through, n string) {
	switch {
	case len(t.Stopped) == 0:
		fmt.Fprintf(b, "**%s** never stopped taking records: it finished every record above the stuck ones (%d in all) while they were stuck, ", n, t.HeldPastTotal)
	default:
		fmt.Fprintf(b, "**%s** stopped taking records in %d of %d partitions after holding up to %d completions past a stuck record (%d in all)",
			n, len(t.Stopped), r.Partitions, t.HeldPastMax, t.HeldPastTotal)
		if len(t.Untouched) > 0 {
			fmt.Fprintf(b, "; in %d of them it had processed no record at all", len(t.Untouched))
		}
		b.WriteString(", ")
	}
	fmt.Fprintf(b, "with commit metadata of at most %d bytes against the %d-byte limit. ", t.MaxMetadataBytes, r.MetadataLimit)
	if len(t.NoMap) > 0 {
		fmt.Fprintf(b, "In %d partitions its commits carried no completion map although it held completions: that map was dropped. ", len(t.NoMap))
	}
	if len(t.Stalled) > 0 {
		fmt.Fprintf(b, "Once the stuck records were released, partitions %v were still not committed to the end within the drain bound: it stalled. ", t.Stalled)
	} else {
		fmt.Fprintf(b, "Once they were released it resumed and had everything committed %.1f s later", t.DrainedS-t.ReleasedS)
		if t.ExactlyOnce {
			b.WriteString(", every record processed exactly once. ")
		} else {
			fmt.Fprintf(b, ", with %d duplicates and %d records missing. ", t.Duplicates, t.Missing)
		}
	}
}

func restartVerdict(b *strings.Builder, r Result, rs Restart) {
	at := "at the plateau"
	if !rs.Plateaued {
		at = fmt.Sprintf("after %.0f s without a plateau", r.MaxHoldS)
	}
	fmt.Fprintf(b, "Killed %s with %d completions past the committed offsets, the fresh process replayed %d of them", at, rs.HeldPastTotal, rs.ReplaysTotal-rs.ReplaysBelowCommitted)
	switch {
	case rs.HeldPastTotal == 0:
		b.WriteString(". ")
	case rs.SkippedByMap >= rs.HeldPastTotal:
		b.WriteString(": the committed map let it skip every one. ")
	case rs.SkippedByMap <= 0:
		b.WriteString(": nothing was skipped, so the map, if written, was not used. ")
	default:
		fmt.Fprintf(b, " and skipped %d through the committed map. ", rs.SkippedByMap)
	}
	if rs.ReplaysBelowCommitted > 0 {
		fmt.Fprintf(b, "**%d committed records were processed again.** ", rs.ReplaysBelowCommitted)
	}
	if rs.Missing > 0 {
		fmt.Fprintf(b, "**%d records were processed by neither process.** ", rs.Missing)
	}
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
