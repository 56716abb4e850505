package report

import (
	"fmt"
	"io"
	"strings"
)

// Markdown writes the strategy x scenario table.
func Markdown(w io.Writer, r Results) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# kpar lab consumer\n\nStarted %s against %s, seed %d. Counts come from the checker\n",
		r.Started.Format("2006-01-02 15:04:05 MST"), strings.Join(r.Brokers, ","), r.Seed)
	b.WriteString("(input topic vs processed-log); records/s is noisy on a shared machine.\n\n")
	b.WriteString("| strategy | scenario | lost | duplicated | reordered | dead-lettered | records/s | crashes | seed | note |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, c := range r.Cells {
		note := ""
		switch {
		case c.Error != "":
			note = "error: " + c.Error
		case c.Stalled:
			note = "stalled: never caught up"
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d | %.0f | %d/%d | %d | %s |\n",
			c.Strategy, c.Scenario, c.Check.Lost, c.Check.Duplicated, c.Check.Reordered, c.Check.DeadLettered,
			c.Check.RecordsPerSec, c.Crashes, len(c.CrashPoints), c.Seed, strings.ReplaceAll(note, "|", "/"))
	}
	if len(r.Cells) > 0 {
		c := r.Cells[0]
		fmt.Fprintf(&b, "\n%d records, %d partitions, %d keys, %d workers per process, max %d records per poll.\n",
			c.Records, c.Partitions, c.Keys, c.Workers, c.MaxPoll)
		b.WriteString("\nRe-run a cell:\n\n")
		for _, c := range r.Cells {
			fmt.Fprintf(&b, "- `%s`\n", c.Rerun)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
