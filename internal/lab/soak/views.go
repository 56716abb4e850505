package soak

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/kpar/kpar/internal/render"
	"github.com/kpar/kpar/internal/results"
)

// Views are the document's (soak.md, the timeline chart as SVG and PNG)
// and timeline.csv (faults against each strategy's throughput), from the
// Result alone.
func Views(r Result) []results.View {
	return append(render.Views(Doc(r)), results.View{Name: "timeline.csv", Bytes: TimelineCSV(r)})
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
