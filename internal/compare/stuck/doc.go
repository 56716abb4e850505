package stuck

import (
	"fmt"
	"github.com/kpar/kpar/internal/pcmap"
	"slices"
	"strings"

	"github.com/kpar/kpar/internal/doc"
)

// Chart file stems, as Views names them and the Markdown links them.
const (
	HeldChart     = "window-held"
	MetadataChart = "window-metadata"
)

// Doc is the window's document, from r alone: each library's verdict, the
// run-through charts and the table of both runs. The comparison's document
// includes it.
func Doc(r Result) doc.Doc {
	d := doc.Doc{Name: "window", Title: "The out-of-order window"}
	for _, l := range r.Libraries {
		d.Answer = append(d.Answer, doc.Say("%s", verdict(r, l)))
	}
	throughs := slices.ContainsFunc(r.Libraries, func(l Library) bool { return l.Through.Failed == "" })
	if throughs {
		d.Body = append(d.Body, doc.Block{Title: "Held past the stuck records", Chart: r.chart(HeldChart, doc.Axis{Label: "completions held past the stuck records", Unit: "records"},
			func(s Sample) float64 { return float64(s.HeldPast) })})
	}
	d.Body = append(d.Body, doc.Block{Table: table(r)})
	d.Details = append(d.Details, doc.Block{Title: "Window setup", Text: []string{setup(r)}})
	if f := r.Failures(); len(f) > 0 {
		b := doc.Block{Title: "Window parts that did not complete (their figures are not shown)"}
		for _, s := range f {
			b.List = append(b.List, oneLine(s))
		}
		d.Details = append(d.Details, b)
	}
	if throughs {
		d.Details = append(d.Details, doc.Block{Title: "Commit metadata", Chart: r.chart(MetadataChart, doc.Axis{Label: "largest commit metadata", Unit: "bytes"},
			func(s Sample) float64 { return float64(s.Metadata) })})
	}
	return d
}

// chart is the run-through runs over time, one line per library.
func (r Result) chart(stem string, y doc.Axis, f func(Sample) float64) *doc.Chart {
	c := &doc.Chart{Name: stem, Title: fmt.Sprintf("One record per partition stuck at offset %d until the plateau, then released (%s order)", r.StuckOffset, r.Order),
		X: doc.Axis{Label: "time since the consumer process started", Unit: "s"}, Y: y}
	for _, l := range r.Libraries {
		if l.Through.Failed != "" || len(l.Through.Samples) == 0 {
			continue
		}
		s := doc.Series{Name: name(l.Name)}
		for _, x := range l.Through.Samples {
			s.X, s.Y = append(s.X, x.T), append(s.Y, f(x))
		}
		c.Series = append(c.Series, s)
	}
	return c
}

func name(lib string) string {
	return map[string]string{"kpar": "kpar", "pc": "Confluent Parallel Consumer"}[lib]
}

// setup says what the window measured and how, from r.
func setup(r Result) string {
	heap := "the JVM's default heap"
	if len(r.PCJVMFlags) > 0 {
		heap = "JVM flags " + strings.Join(r.PCJVMFlags, " ")
	}
	session := "each client's default session timeout"
	if r.SessionTimeoutS > 0 {
		session = fmt.Sprintf("a %.0f s session timeout (so the group notices the killed process sooner; nothing measured depends on it)", r.SessionTimeoutS)
	}
	return fmt.Sprintf("Topic %s: %d partitions of %s records, keys cycling within each partition (%s per partition), %s order. "+
		"In every partition the handler of the record at offset %d waits for a release line on its process's stdin, sent once the "+
		"plateau has been measured (or after %.0f s without one); every other handler returns at once. Concurrency %d for both; "+
		"PC %s with %s; %s. Each library runs twice, each time as a separate process with a fresh group: once through (the stuck "+
		"records released at the plateau), once killed (SIGKILL) at the plateau with the stuck records still held and finished by a "+
		"fresh process of the same group without the stuck record. Counts come from the processed logs the consumers append to before "+
		"a handler returns and from the group's committed offsets and metadata (kadm, every poll); the broker's metadata limit is %s bytes.",
		r.Topic, r.Partitions, doc.Int(r.RecordsPerPartition), keysPhrase(r.KeysPerPartition), r.Order, r.StuckOffset, r.MaxHoldS,
		r.Concurrency, r.PCVersion, heap, session, doc.Int(r.MetadataLimit))
}

// table is both runs of every library, a row per figure; a part that
// failed shows "failed" in its rows.
func table(r Result) *doc.Table {
	t := &doc.Table{Head: []string{"figure"}}
	for _, l := range r.Libraries {
		t.Head = append(t.Head, name(l.Name))
	}
	row := func(restart bool, label string, f func(l Library) string) {
		cells := []string{label}
		for _, l := range r.Libraries {
			failed := l.Through.Failed
			if restart {
				failed = l.Restart.Failed
			}
			if failed != "" {
				cells = append(cells, "failed")
			} else {
				cells = append(cells, f(l))
			}
		}
		t.Rows = append(t.Rows, cells)
	}
	throughRows(r, func(label string, f func(l Library) string) { row(false, label, f) })
	restartRows(r, func(label string, f func(l Library) string) { row(true, label, f) })
	return t
}

func throughRows(r Result, th func(string, func(l Library) string)) {
	th("completions held past the stuck records (total; most in one partition, of the records its order lets run)", func(l Library) string {
		w := l.Through.Window
		return fmt.Sprintf("%s; %s of %s", doc.Int(w.HeldPastTotal), doc.Int(w.HeldPastMax), doc.Int(maxOf(w.Room)))
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
		return fmt.Sprintf("%s bytes (%.0f%% of %s)", doc.Int(l.Through.MaxMetadataBytes), 100*float64(l.Through.MaxMetadataBytes)/float64(r.MetadataLimit), doc.Int(r.MetadataLimit))
	})
	th("partitions holding completions whose commit had no map", func(l Library) string { return doc.Int(len(l.Through.NoMap)) })
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
}

func restartRows(r Result, rs func(string, func(l Library) string)) {
	rs("restart: killed (stuck records still held)", func(l Library) string {
		if !l.Restart.Plateaued {
			return fmt.Sprintf("after %.1f s, no plateau within %.0f s", l.Restart.KilledS, r.MaxHoldS)
		}
		return fmt.Sprintf("at the plateau, after %.1f s", l.Restart.KilledS)
	})
	rs("restart: held past the stuck records at the kill", func(l Library) string { return doc.Int(l.Restart.HeldPastTotal) })
	rs("restart: records replayed by the fresh process", func(l Library) string {
		return fmt.Sprintf("**%s** (most in one partition %s)", doc.Int(l.Restart.ReplaysTotal), doc.Int(maxOf(l.Restart.Replays)))
	})
	rs("restart: skipped thanks to the map", func(l Library) string { return doc.Int(l.Restart.SkippedByMap) })
	rs("restart: committed records replayed / records lost", func(l Library) string {
		return fmt.Sprintf("%s / %s", doc.Int(l.Restart.ReplaysBelowCommitted), doc.Int(l.Restart.Missing))
	})
	rs("restart: fresh process to everything committed", func(l Library) string {
		if len(l.Restart.Stalled) > 0 {
			return fmt.Sprintf("**stalled**: partitions %v", l.Restart.Stalled)
		}
		return fmt.Sprintf("%.1f s", l.Restart.SecondDrainedS)
	})
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
	if by := rs.MissingByCommit; by != nil {
		if n := by["undecoded"]; n > 0 {
			b.WriteString("PC's commit at the kill could not be decoded, so how it counted them is unknown. ")
		} else {
			fmt.Fprintf(b, "PC's commit at the kill, read with PC's own decoder, counted %d of them done by its committed offset and %d by its offset map; %d it did not count done, yet the fresh process did not process them. ",
				by[pcmap.ByOffset], by[pcmap.ByMap], by["none"])
		}
	}
}

func keysPhrase(k []int) string {
	if len(k) == 0 {
		return "?"
	}
	lo, hi := slices.Min(k), slices.Max(k)
	if lo == hi {
		return fmt.Sprintf("%d", lo)
	}
	return fmt.Sprintf("%d-%d", lo, hi)
}

func yesNo(b bool) string { return map[bool]string{true: "yes", false: "no"}[b] }
