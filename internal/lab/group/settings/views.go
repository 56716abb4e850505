package settings

import (
	"fmt"
	"image/color"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/kpar/kpar/internal/results"
)

// Views are the files computed from r: the Markdown summary and, when the
// isolation experiment ran, the delay chart as SVG and PNG.
func Views(r Result) []results.View {
	v := []results.View{{Name: "lab-group-settings.md", Bytes: []byte(Markdown(r))}}
	if r.Isolation != nil && len(r.Isolation.LSO.Samples) > 0 {
		for _, ext := range []string{"svg", "png"} {
			v = append(v, results.View{Name: "lso-delay." + ext, Save: func(p string) error { return LSOChart(p, r) }})
		}
	}
	return v
}

func exactNote(rp Repeat) string {
	s := "Exact from the seed: " + strings.Join(rp.Exact, ", ") + "."
	if rp.Why != "" {
		s += " The rest moves between reruns: " + rp.Why
	}
	return s + "\nRerun: `" + rp.Rerun + "`\n"
}

func esc(s string) string { return strings.ReplaceAll(s, "|", "/") }

// Markdown is the summary: per experiment a table, its lessons, what repeats
// exactly and the rerun command.
func Markdown(r Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# kpar lab group-settings\n\nStarted %s against %s, seed %d, %d records per input topic, %d partitions.\n",
		r.Started.Format("2006-01-02 15:04:05 MST"), strings.Join(r.Brokers, ","), r.Seed, r.Records, r.Partitions)
	if len(r.Reset) > 0 {
		b.WriteString("\n## auto.offset.reset\n\n")
		b.WriteString("| case | policy | existing | committed | deleted past the commit | unread | read | skipped | new read | error | note |\n")
		b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|\n")
		for _, c := range r.Reset {
			fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d | %d | %d | %d | %s | %s |\n", c.Case, c.Policy, c.Existing,
				c.Committed, c.DeletedUnread, c.Unread, c.SeenOld, c.Skipped, c.NewSeen, esc(c.Error), esc(c.Failure))
		}
		b.WriteString("\n")
		for _, s := range ResetSentences(r) {
			fmt.Fprintf(&b, "- %s\n", s)
		}
		b.WriteString("\n" + exactNote(r.Reset[0].Repeat))
	}
	if len(r.AutoCommit) > 0 {
		b.WriteString("\n## enable.auto.commit with a SIGKILL mid-stream\n\n")
		b.WriteString("| mode | SIGKILL at | lost | duplicated | records processed twice | auto-commit interval | note |\n")
		b.WriteString("|---|---:|---:|---:|---:|---:|---|\n")
		for _, c := range r.AutoCommit {
			iv := "-"
			if c.AutoCommitIntervalSeconds > 0 {
				iv = fmt.Sprintf("%.1f s", c.AutoCommitIntervalSeconds)
			}
			fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %s | %s |\n", c.Mode, c.CrashAt, c.Check.Lost, c.Check.Duplicated,
				c.Check.DuplicatedRecords, iv, esc(c.Failure))
		}
		b.WriteString("\n")
		for _, s := range AutoCommitSentences(r) {
			fmt.Fprintf(&b, "- %s\n", s)
		}
		b.WriteString("\nA record is processed once its processed-log entry is acknowledged (acks=all); the member SIGKILLs\n" +
			"itself the instant its entry number `SIGKILL at` is, and a restarted member (same static instance id)\n" +
			"resumes from the group's commits until the group committed the whole input.\n\n" + exactNote(r.AutoCommit[0].Repeat))
	}
	if i := r.Isolation; i != nil {
		b.WriteString("\n## isolation.level\n\n")
		b.WriteString("| level | received | aborted received | committed received | max delay, txn open (s) | median delay (s) | max records behind | held until the txn ended |\n")
		b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, l := range i.Levels {
			var d LSOLevel
			for _, x := range i.LSO.Levels {
				if x.Level == l.Level {
					d = x
				}
			}
			fmt.Fprintf(&b, "| %s | %d | %d | %d | %.2f | %.2f | %d | %d |\n", l.Level, l.Seen, l.AbortedSeen, l.CommittedSeen,
				d.MaxDelaySeconds, d.MedianDelaySeconds, d.MaxLagRecords, d.Held)
		}
		b.WriteString("\n")
		for _, s := range IsolationSentences(r) {
			fmt.Fprintf(&b, "- %s\n", s)
		}
		if i.Failure != "" {
			fmt.Fprintf(&b, "- Did not finish: %s\n", i.Failure)
		}
		b.WriteString("\nDelay is the consumer's poll time minus the other producer's acknowledgement; read_committed reads\n" +
			"only up to the last stable offset, which an open transaction holds at its first record.\n")
		if len(i.LSO.Samples) > 0 {
			b.WriteString("\n![delay per record while a transaction is open](lso-delay.png)\n")
		}
		b.WriteString("\n" + exactNote(i.Repeat))
	}
	if len(r.PollInterval) > 0 {
		b.WriteString("\n## max.poll.interval.ms (kgo's RebalanceTimeout)\n\n")
		b.WriteString("| variant | rebalance timeout (s) | stall (s) | stall after | slow batch | removed | removed after (s) | slow commit | redone from the batch | duplicated | lost | note |\n")
		b.WriteString("|---|---:|---:|---:|---:|---|---:|---|---:|---:|---:|---|\n")
		for _, c := range r.PollInterval {
			commit := "landed"
			if c.SlowCommitError != "" {
				commit = "failed: " + c.SlowCommitError
			}
			removedAfter := "-"
			if c.Removed {
				removedAfter = fmt.Sprintf("%.1f", c.RemovedAfterSeconds)
			}
			fmt.Fprintf(&b, "| %s | %.1f | %.1f | %d | %d | %t | %s | %s | %d | %d | %d | %s |\n", c.Variant, c.RebalanceTimeoutSeconds,
				c.StallSeconds, c.StallAfter, c.SlowBatch, c.Removed, removedAfter, esc(commit), c.SlowBatchRedone, c.Duplicated, c.Lost, esc(c.Failure))
		}
		b.WriteString("\n")
		for _, s := range PollIntervalSentences(r) {
			fmt.Fprintf(&b, "- %s\n", s)
		}
		b.WriteString("\nThe classic protocol applies the rebalance timeout only once a rebalance starts (here: a third member\n" +
			"joins as the slow batch stalls); kgo sends it where Java sends max.poll.interval.ms.\n\n" + exactNote(r.PollInterval[0].Repeat))
	}
	return b.String()
}

// LSOChart plots each level's delay per record against when it was
// acknowledged, with the open transaction's span: read_committed's delays
// fall along a slope that ends when the transaction does.
func LSOChart(path string, r Result) error {
	i := r.Isolation
	p := plot.New()
	p.Title.Text = fmt.Sprintf("kpar lab group-settings: delivery delay while a transaction is open (seed %d)", r.Seed)
	p.X.Label.Text = "acknowledged at (s after the transaction began)"
	p.Y.Label.Text = "delivered after (s)"
	p.Legend.Top = true
	colors := map[string]color.Color{readCommitted: color.RGBA{0xd6, 0x27, 0x28, 0xff}, readUncommitted: color.RGBA{0x1f, 0x77, 0xb4, 0xff}}
	for _, lvl := range levels {
		var xy plotter.XYs
		for _, s := range i.LSO.Samples {
			if s.Level == lvl {
				xy = append(xy, plotter.XY{X: s.AckedSeconds, Y: s.DelaySeconds})
			}
		}
		if len(xy) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(xy)
		if err != nil {
			return err
		}
		sc.GlyphStyle.Color = colors[lvl]
		sc.GlyphStyle.Radius = vg.Points(2)
		sc.GlyphStyle.Shape = draw.CircleGlyph{}
		p.Add(sc)
		p.Legend.Add(lvl, sc)
	}
	end, err := plotter.NewLine(plotter.XYs{{X: i.LSO.HoldSeconds, Y: 0}, {X: i.LSO.HoldSeconds, Y: i.LSO.HoldSeconds}})
	if err != nil {
		return err
	}
	end.LineStyle.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(end)
	p.Legend.Add("transaction ends", end)
	p.Y.Min = 0
	return p.Save(8*vg.Inch, 4*vg.Inch, path)
}
