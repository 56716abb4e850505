package consumer

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/kpar/kpar/internal/lab/strategy"
	"github.com/kpar/kpar/internal/results"
)

// count renders n, starred when the cell says it is timing-dependent.
func count(c Cell, name string, n int) string {
	if slices.Contains(c.TimingDependent, name) {
		return fmt.Sprintf("%d*", n)
	}
	return fmt.Sprint(n)
}

// Markdown writes the strategy x scenario table, then the speed comparison
// and the commands that re-run each cell.
func Markdown(w io.Writer, r Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# kpar lab consumer\n\nStarted %s against %s, seed %d. Counts come from the checker\n",
		r.Started.Format("2006-01-02 15:04:05 MST"), strings.Join(r.Brokers, ","), r.Seed)
	b.WriteString("(input topic vs processed-log); records/s is noisy on a shared machine. A count marked * is\n")
	b.WriteString("timing-dependent: a re-run with the same seed may move it (see below); unmarked counts repeat exactly.\n\n")
	if slices.ContainsFunc(r.Cells, func(c Cell) bool { return c.Share != nil }) {
		b.WriteString("Lost leaves out what a share group archived on purpose (the archived column, share strategies only).\n\n")
	}
	b.WriteString("| strategy | scenario | lost | duplicated | reordered | dead-lettered | archived | records/s | crashes | joins | commit errors | partitions lost | seed | note |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, c := range r.Cells {
		note := ""
		switch {
		case c.Error != "":
			note = "error: " + c.Error
		case c.Stalled:
			note = "stalled: never caught up"
		}
		archived := "-"
		if c.Share != nil {
			archived = count(c, "archived", c.Share.Archived)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %.0f | %d/%d | %d | %d | %d | %d | %s |\n",
			c.Strategy, c.Scenario, count(c, "lost", c.LostNotArchived()), count(c, "duplicated", c.Check.Duplicated),
			count(c, "reordered", c.Check.Reordered), count(c, "dead_lettered", c.Check.DeadLettered), archived,
			c.Check.RecordsPerSec, c.Crashes, len(c.CrashPoints), c.Joins, c.CommitErrorsLogged, c.PartitionsLostLogged,
			c.Seed, strings.ReplaceAll(note, "|", "/"))
	}
	var whys []string
	for _, c := range r.Cells {
		if c.Why != "" && !slices.Contains(whys, c.Why) {
			whys = append(whys, c.Why)
		}
	}
	if len(whys) > 0 {
		b.WriteString("\nWhy the starred counts move between re-runs of a cell (records/s always does):\n\n")
		for _, w := range whys {
			fmt.Fprintf(&b, "- %s\n", w)
		}
		if slices.ContainsFunc(r.Cells, func(c Cell) bool { return strings.Contains("+"+c.Scenario+"+", "+crash+") }) {
			b.WriteString("\nA crash freezes the consumer after a seeded number of handler invocations and SIGKILLs it once\n" +
				"every admitted invocation wrote its entry and the group's commits stopped moving.\n")
		}
		if slices.ContainsFunc(r.Cells, func(c Cell) bool { return strings.Contains("+"+c.Scenario+"+", "+kill+") }) {
			b.WriteString("\nA kill SIGKILLs the consumer the instant its processed-log count reaches a seeded point, with\n" +
				"handlers, processed-log writes and a commit in flight.\n")
		}
	}
	if lines := PermanentSentences(r); len(lines) > 0 {
		b.WriteString("\nPermanent failures: what each strategy did with the records whose handler always fails, counted\n" +
			"from the workers' reports until the cell ended.\n\n")
		for _, l := range lines {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	writeShare(&b, r)
	if lines := SpeedSentences(r); len(lines) > 0 {
		b.WriteString("\nSpeed, reported and never asserted: each strategy's records/s against " + SpeedBaseline + "'s in the same\n" +
			"scenario of this run. One run per cell on a shared machine, so small differences are noise.\n\n")
		for _, l := range lines {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	if len(r.Cells) > 0 {
		c := r.Cells[0]
		fmt.Fprintf(&b, "\n%d records, %d partitions, %d keys, %d workers per process, max %d records per poll.\n",
			c.Records, c.Partitions, c.Keys, c.Workers, c.MaxPoll)
		if len(r.Command) > 0 {
			fmt.Fprintf(&b, "\nRe-run the whole run: `%s`\n", strings.Join(r.Command, " "))
		}
		b.WriteString("\nRe-run a cell:\n\n")
		for _, c := range r.Cells {
			fmt.Fprintf(&b, "- `%s`\n", c.Rerun)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// SpeedSentences states r.Speed, one sentence per scenario, e.g. "ooo:
// commit-after-batch ran at 0.48x lib-key's 1270 records/s (612), ...".
func SpeedSentences(r Result) []string {
	var scenarios []string
	for _, s := range r.Speed {
		if !slices.Contains(scenarios, s.Scenario) {
			scenarios = append(scenarios, s.Scenario)
		}
	}
	var out []string
	for _, sc := range scenarios {
		var parts []string
		var base float64
		for _, s := range r.Speed {
			if s.Scenario == sc {
				base = s.BaselineRecordsPerSec
				parts = append(parts, fmt.Sprintf("%s %.2fx (%.0f records/s)", s.Strategy, s.Ratio, s.RecordsPerSec))
			}
		}
		out = append(out, fmt.Sprintf("%s: against %s's %.0f records/s, %s.", sc, SpeedBaseline, base, strings.Join(parts, ", ")))
	}
	return out
}

// PermanentSentences states, one sentence per cell that had permanent
// failures, what the strategy did with those records: attempts, dead
// letters, losses, and for a cell that stalled, that it stalled and when.
// For the pc-* strategies it adds that PC has no retry limit and no
// dead-letter topic, the reason such a cell stalls.
func PermanentSentences(r Result) []string {
	var out []string
	for _, c := range r.Cells {
		if c.PermanentRecords == 0 {
			continue
		}
		s := fmt.Sprintf("%s/%s: the %d records whose handler always fails got %d handler attempts (at most %d for one record)",
			c.Strategy, c.Scenario, c.PermanentRecords, c.PermanentAttempts, c.PermanentMaxAttempts)
		if c.Stalled {
			s += fmt.Sprintf(" before the cell stalled (no progress for %gs)", c.StallTimeoutSeconds)
		}
		s += fmt.Sprintf("; %d records were dead-lettered and %d lost", c.Check.DeadLettered, c.Check.Lost)
		// At most PermanentRecords of the lost records are ones that fail
		// for good; the rest never failed that way.
		if more := c.Check.Lost - c.PermanentRecords; more > 0 {
			s += fmt.Sprintf(", at least %d of them records that never fail for good but were never processed", more)
		}
		s += "."
		if strategy.NeedsJVM(c.Strategy) && c.Stalled && c.Check.DeadLettered == 0 && c.PermanentAttempts > c.PermanentRecords {
			s += " Parallel Consumer retries a failed record without limit and has no dead-letter topic: " +
				"here it retried, dead-lettered nothing and stalled."
		}
		out = append(out, s)
	}
	return out
}

// Views are the files computed from r besides the data: lab-consumer.md and
// charts of lost, duplicated and records/s as SVG and PNG.
func Views(r Result) ([]results.View, error) {
	var md bytes.Buffer
	if err := Markdown(&md, r); err != nil {
		return nil, err
	}
	views := []results.View{{Name: "lab-consumer.md", Bytes: md.Bytes()}}
	for _, m := range []string{"lost", "duplicated", "records_per_sec"} {
		for _, ext := range []string{".svg", ".png"} {
			views = append(views, results.View{Name: "lab-consumer-" + m + ext, Save: func(path string) error { return Chart(path, r, m) }})
		}
	}
	return views, nil
}
