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
	secs, in := perSecond(r.Timeline, "")
	cols := [][]float64{in}
	for _, s := range r.Strategies {
		b.WriteString("," + s + "_per_sec")
		_, y := perSecond(r.Timeline, s)
		cols = append(cols, y)
	}
	b.WriteString(",fault\n")
	for i, sec := range secs {
		fmt.Fprintf(&b, "%.1f", sec)
		for _, c := range cols {
			fmt.Fprintf(&b, ",%.0f", c[i])
		}
		var fs []string
		for _, f := range r.Faults {
			if f.StartSec > r.Timeline[i].Sec && f.StartSec <= sec {
				fs = append(fs, f.Kind)
			}
		}
		fmt.Fprintf(&b, ",%s\n", strings.Join(fs, " "))
	}
	return b.Bytes()
}
