package stuck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kpar/kpar/internal/render"
	"github.com/kpar/kpar/internal/results"
)

// The window's views are window.md plus each chart as SVG and PNG, all
// drawn from the Result alone.
func TestViewsWriteTheMarkdownAndEveryChartAsSVGAndPNG(t *testing.T) {
	var r Result
	r.MaxHoldS, r.StuckOffset, r.Order = 60, 100, "key"
	for _, lib := range Libraries {
		var l Library
		l.Name = lib
		for i := 0; i < 5; i++ {
			l.Through.Samples = append(l.Through.Samples, Sample{T: float64(i), HeldPast: 100 * i, Metadata: 40 * i})
		}
		r.Libraries = append(r.Libraries, l)
	}
	dir := t.TempDir()
	if _, err := results.Write(dir, "window.json", r, render.Views(Doc(r))...); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"window.json", "window.md", "window-held.svg", "window-held.png", "window-metadata.svg", "window-metadata.png"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Size() == 0 {
			t.Errorf("%s: %v (size %v)", f, err, st)
		}
	}
}

// Each library's verdict opens the document, computed from its figures.
func TestDocStatesEachLibrarysVerdict(t *testing.T) {
	r := Result{Partitions: 2, MetadataLimit: 4096, MaxHoldS: 60}
	kp := Library{Name: "kpar"}
	kp.Through.HeldPastTotal, kp.Through.ExactlyOnce, kp.Through.DrainedS, kp.Through.ReleasedS = 30, true, 12, 10
	pc := Library{Name: "pc"}
	pc.Through.Stopped, pc.Through.HeldPastMax, pc.Through.HeldPastTotal = []int{1}, 5, 8
	pc.Restart.Failed = "no broker"
	r.Libraries = []Library{kp, pc}
	d := Doc(r)
	if len(d.Answer) != 2 ||
		!strings.HasPrefix(d.Answer[0].Text, "**kpar** never stopped taking records") || !strings.Contains(d.Answer[0].Text, "every record processed exactly once") ||
		!strings.HasPrefix(d.Answer[1].Text, "**Confluent Parallel Consumer** stopped taking records in 1 of 2 partitions") ||
		!strings.Contains(d.Answer[1].Text, "Its restart did not complete (no broker).") {
		t.Errorf("answer %+v", d.Answer)
	}
}

// A PC restart that missed records says how PC's commit at the kill counted
// them, one count per claim, or that it could not be decoded.
func TestRestartVerdictAttributesMissingRecordsToPCsCommit(t *testing.T) {
	for _, tc := range []struct {
		by   map[string]int
		want string
	}{
		{map[string]int{"offset": 1, "map": 4}, "counted 1 of them done by its committed offset and 4 by its offset map; 0 it did not count done"},
		{map[string]int{"none": 5}, "counted 0 of them done by its committed offset and 0 by its offset map; 5 it did not count done"},
		{map[string]int{"undecoded": 5}, "could not be decoded"},
	} {
		var b strings.Builder
		restartVerdict(&b, Result{}, Restart{Missing: 5, MissingByCommit: tc.by})
		if !strings.Contains(b.String(), "5 records were processed by neither process") || !strings.Contains(b.String(), tc.want) {
			t.Errorf("%v: %q lacks %q", tc.by, b.String(), tc.want)
		}
	}
}
