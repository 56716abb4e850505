package window

import (
	"os"
	"path/filepath"
	"testing"

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
	if _, err := results.Write(dir, "window.json", r, Views(r)...); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"window.json", "window.md", "window-held.svg", "window-held.png", "window-metadata.svg", "window-metadata.png"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Size() == 0 {
			t.Errorf("%s: %v (size %v)", f, err, st)
		}
	}
}
