package soak

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/kpar/kpar/internal/results"
)

// Views are soak.md (findings, faults with recovery) and timeline.csv
// (faults against each strategy's throughput), from the Result alone.
func Views(r Result) []results.View {
	return []results.View{{Name: "soak.md", Bytes: Markdown(r)}, {Name: "timeline.csv", Bytes: TimelineCSV(r)}}
}

// Markdown is the soak's report.
func Markdown(r Result) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Chaos soak\n\n`%s`\n\n%s.\n\n", strings.Join(r.Command, " "), r.Wiring)
	for _, s := range r.Skipped {
		fmt.Fprintf(&b, "- not run: %s\n", s)
	}
	b.WriteString("\n## Findings\n\n")
	for _, f := range Findings(r) {
		v := ""
		if f.Target != "" {
			v = " (target " + f.Target + ": " + map[bool]string{true: "met", false: "missed"}[f.Met] + ")"
		}
		fmt.Fprintf(&b, "- %s%s\n", f.Sentence, v)
	}
	b.WriteString("\n## Faults\n\n| start s | fault | what | " + strings.Join(r.Strategies, " recovery s | ") + " recovery s |\n|---|---|---|" + strings.Repeat("---|", len(r.Strategies)) + "\n")
	for _, f := range r.Faults {
		what := f.Note
		if f.Error != "" {
			what += " ERROR " + f.Error
		}
		fmt.Fprintf(&b, "| %.1f | %s | %s |", f.StartSec, f.Kind, what)
		for _, e := range f.Effects {
			if e.RecoverySec < 0 {
				b.WriteString(" not before the next fault |")
			} else {
				fmt.Fprintf(&b, " %.1f |", e.RecoverySec)
			}
		}
		b.WriteString("\n")
	}
	return b.Bytes()
}

// TimelineCSV: one row per second: input and each strategy's entries/s,
// and the fault that started in that second.
func TimelineCSV(r Result) []byte {
	var b bytes.Buffer
	b.WriteString("sec,input_per_sec")
	for _, s := range r.Strategies {
		b.WriteString("," + s + "_per_sec")
	}
	b.WriteString(",fault\n")
	for i := 1; i < len(r.Timeline); i++ {
		a, c := r.Timeline[i-1], r.Timeline[i]
		dt := c.Sec - a.Sec
		fmt.Fprintf(&b, "%.1f,%.0f", c.Sec, float64(c.Input-a.Input)/dt)
		for _, s := range r.Strategies {
			fmt.Fprintf(&b, ",%.0f", float64(c.Entries[s]-a.Entries[s])/dt)
		}
		var fs []string
		for _, f := range r.Faults {
			if f.StartSec > a.Sec && f.StartSec <= c.Sec {
				fs = append(fs, f.Kind)
			}
		}
		fmt.Fprintf(&b, ",%s\n", strings.Join(fs, " "))
	}
	return b.Bytes()
}
