package producer

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/kpar/kpar/internal/results"
)

// Views are lab-producer.md and the charts of lost and duplicated
// records, SVG and PNG, all from the Result alone.
func Views(r Result) ([]results.View, error) {
	var md bytes.Buffer
	if err := Markdown(&md, r); err != nil {
		return nil, err
	}
	views := []results.View{{Name: "lab-producer.md", Bytes: md.Bytes()}}
	for _, m := range []string{"lost", "duplicated"} {
		for _, ext := range []string{".svg", ".png"} {
			views = append(views, results.View{Name: "lab-producer-" + m + ext, Save: func(path string) error { return Chart(path, r, m) }})
		}
	}
	return views, nil
}

// cellText keeps a table cell on one row.
func cellText(s string) string { return strings.ReplaceAll(s, "|", "/") }

// star marks a count the cell calls timing-dependent.
func star(c Cell, name string, n int) string {
	if slices.Contains(c.TimingDependent, name) {
		return fmt.Sprintf("%d*", n)
	}
	return fmt.Sprint(n)
}

// Markdown writes the cell table, the lessons, the targets, each cell's
// fault timeline and the commands that re-run a cell.
func Markdown(w io.Writer, r Result) error {
	var b strings.Builder
	where := "the given cluster"
	if r.OwnCluster {
		where = "the lab's own 3-node cluster"
	}
	p := r.Params
	fmt.Fprintf(&b, "# kpar lab producer\n\nStarted %s on %s (%s), seed %d. %d producers, %d keys each, %d partitions (RF 3, min ISR 2), %d records/s, %d-byte values; faults after %.0f s plus a seeded fraction, freeze %.0f s, delivery timeout %.0f s.\n\n",
		r.Started.Format("2006-01-02 15:04:05 MST"), where, strings.Join(r.Brokers, ","), r.Seed,
		p.Producers, p.Keys, p.Partitions, p.Rate, p.ValueBytes, p.WarmupSeconds, p.FreezeSeconds, p.DeliveryTimeoutSeconds)
	b.WriteString("Lost = acknowledged by the producer, then seen by no reader: not by franz-go or kcat, both reading the healed topic to the same high watermarks, taken once they held still for a second and every replica held the same bytes, nor by the kpar parallel consumer that read during the fault. Readers disagreed = records one reader saw and another did not (the reads are repeated once when they disagree); they are not lost. Under acks=0 no record is acknowledged: its records are sent, and the ones no reader saw are unseen. A count marked * is timing-dependent: a re-run of the cell with the same seed repeats the records, the victim and the trigger, not the count (see below).\n\n")
	b.WriteString("| setting | fault | sent | acked | failed | unanswered | lost | readers disagreed | duplicated | reordered | failed but written | kcat | consumer missed | producer errors | s |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---|---:|---|---:|\n")
	for _, c := range r.Cells {
		k := c.Counts
		var errs []string
		for e, n := range k.Errors {
			errs = append(errs, fmt.Sprintf("%d %s", n, e))
		}
		slices.Sort(errs)
		missed := fmt.Sprint(c.Consumer.Missed)
		if !c.Consumer.CaughtUp {
			missed += " (never caught up)"
		}
		st := func(name string, n int) string { return star(c, name, n) }
		disagreed := st("disagreed", k.Disagreed)
		if k.Disagreed > 0 {
			disagreed += ": " + ReadersText(c)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s | %.0f |\n",
			c.Setting.Label(), c.Fault, st("sent", k.Sent), AckedText(c), k.Failed, k.Unreported,
			LostText(c, st), disagreed, st("duplicated", k.Duplicated), st("reordered", k.Reordered),
			st("failed_present", k.FailedPresent), cellText(KcatText(c)), missed,
			cellText(strings.Join(errs, "; ")), c.Seconds)
	}
	lessons, targets := Judge(r.Cells)
	b.WriteString("\n## Lessons\n\n")
	for _, l := range lessons {
		fmt.Fprintf(&b, "- %s\n", l.Sentence)
	}
	b.WriteString("\n## Targets\n\n")
	for _, t := range targets {
		fmt.Fprintf(&b, "- %s: %s (%s). Expected since %s.\n", t.Claim, t.Verdict, t.Detail, t.Reason)
	}
	var whys []string
	for _, c := range r.Cells {
		if !slices.Contains(whys, c.Why) {
			whys = append(whys, c.Why)
		}
	}
	b.WriteString("\n## What repeats from the seed\n\n")
	if len(r.Cells) > 0 {
		fmt.Fprintf(&b, "Exact from the seed: %s. Timing-dependent (starred): %s. What moves them between re-runs:\n\n",
			strings.Join(r.Cells[0].Exact, ", "), strings.Join(r.Cells[0].TimingDependent, ", "))
	}
	for _, w := range whys {
		fmt.Fprintf(&b, "- %s\n", w)
	}
	if s := SafeRepeats(targets); s != "" {
		b.WriteString("\n" + s + "\n")
	}
	var notes []string
	for _, c := range r.Cells {
		for _, n := range ReadNotes(c) {
			notes = append(notes, fmt.Sprintf("- **%s**: %s\n", c.Name, n))
		}
	}
	if len(notes) > 0 {
		b.WriteString("\n## Reads\n\n" + strings.Join(notes, ""))
	}
	b.WriteString("\n## Fault timelines\n\n")
	for _, c := range r.Cells {
		fmt.Fprintf(&b, "- **%s** (victim node %d, topic `%s`):", c.Name, c.Victim, c.Topic)
		for _, e := range c.Events {
			fmt.Fprintf(&b, " %.1fs %s;", e.At, e.What)
		}
		b.WriteString("\n")
	}
	b.WriteString("\n## Re-run one cell\n\n```\n")
	for _, c := range r.Cells {
		fmt.Fprintf(&b, "kpar lab producer --seed %d --cell %s\n", r.Seed, c.Name)
	}
	b.WriteString("```\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// Chart writes a grouped bar chart of metric (lost or duplicated): one
// group per setting, one bar per fault. The format follows path's
// extension. acks=0 settings are not in the lost chart: nothing is
// acknowledged there, so nothing can be lost (their unseen records are in
// the table).
func Chart(path string, r Result, metric string) error {
	var value func(Counts) int
	var ylabel string
	switch metric {
	case "lost":
		value, ylabel = func(c Counts) int { return c.Lost }, "acknowledged records no reader saw"
	case "duplicated":
		value, ylabel = func(c Counts) int { return c.Duplicated }, "duplicated records"
	default:
		return fmt.Errorf("unknown metric %q (lost, duplicated)", metric)
	}
	var settings, faults []string
	for _, c := range r.Cells {
		if metric == "lost" && c.Setting.Acks == "0" {
			continue
		}
		if !slices.Contains(settings, c.Setting.Name) {
			settings = append(settings, c.Setting.Name)
		}
		if !slices.Contains(faults, c.Fault) {
			faults = append(faults, c.Fault)
		}
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("kpar lab producer: %s (seed %d)", metric, r.Seed)
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	w := vg.Points(14)
	palette := []color.Color{
		color.RGBA{0x1f, 0x77, 0xb4, 0xff}, color.RGBA{0xff, 0x7f, 0x0e, 0xff},
		color.RGBA{0x2c, 0xa0, 0x2c, 0xff}, color.RGBA{0xd6, 0x27, 0x28, 0xff},
	}
	for i, f := range faults {
		vals := make(plotter.Values, len(settings))
		for j, s := range settings {
			for _, c := range r.Cells {
				if c.Setting.Name == s && c.Fault == f {
					vals[j] = float64(value(c.Counts))
				}
			}
		}
		bars, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return err
		}
		bars.LineStyle.Width = 0
		bars.Color = palette[i%len(palette)]
		bars.Offset = w * vg.Length(float64(i)-float64(len(faults)-1)/2)
		p.Add(bars)
		p.Legend.Add(f, bars)
		// The count on each bar: a loss of 150 next to one of 29,000 has no
		// visible bar, and a 0 must read as measured, not missing.
		xys := make(plotter.XYs, len(vals))
		texts := make([]string, len(vals))
		for j, v := range vals {
			xys[j] = plotter.XY{X: float64(j), Y: v}
			texts[j] = fmt.Sprint(int(v))
		}
		labels, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: texts})
		if err != nil {
			return err
		}
		for k := range labels.TextStyle {
			labels.TextStyle[k].XAlign = draw.XCenter
			labels.TextStyle[k].Font.Size = vg.Points(8)
		}
		labels.Offset = vg.Point{X: bars.Offset, Y: vg.Points(2)}
		p.Add(labels)
	}
	p.NominalX(settings...)
	p.Y.Min, p.Y.Max = 0, p.Y.Max*1.3+1
	width := vg.Length(len(settings)*(len(faults)+2))*w + 2*vg.Inch
	return p.Save(max(width, 6*vg.Inch), 4*vg.Inch, path)
}
