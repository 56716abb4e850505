package cli

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/kpar/kpar/internal/progress"
)

// display shows a run's progress events, the one way every command does:
// notes on stderr ("kpar: ..."), lines with the text (stdout, or stderr
// under --json), and, when stderr is a terminal, an mpb bar counting the
// items (Begin/End, I of N, named after the bar) or the records (Records,
// with the rate), above which the lines go.
type display struct {
	mu            sync.Mutex
	stderr, lines io.Writer
	unit          string // what Begin/End count
	p             *mpb.Progress
	bar           *mpb.Bar
	name          atomic.Value // the item running now (a string), read by the bar
	done          int64
}

func newDisplay(stderr, lines io.Writer, unit string) *display {
	return &display{stderr: stderr, lines: lines, unit: unit}
}

// show is the run's progress.Sink; producers call it concurrently.
func (d *display) show(e progress.Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch e.Kind {
	case progress.Note:
		d.println(d.stderr, "kpar: "+e.Line)
	case progress.Line:
		d.println(d.lines, e.Line)
	case progress.Begin:
		d.start(d.unit, int64(e.N))
		d.name.Store(e.Line)
		d.set(int64(e.I - 1))
	case progress.End:
		if e.Line != "" {
			d.println(d.lines, e.Line)
		}
		d.start(d.unit, int64(e.N))
		d.set(int64(e.I))
	case progress.Records:
		d.start("records", e.Total)
		d.set(e.Done)
	}
}

// println writes a line, above the bar when one is drawn on that terminal.
func (d *display) println(w io.Writer, s string) {
	if d.p != nil && isTerminal(w) {
		w = d.p
	}
	fmt.Fprintln(w, s)
}

func (d *display) set(n int64) {
	if d.bar != nil && n > d.done {
		d.done = n
		d.bar.SetCurrent(n)
	}
}

// start draws the bar on the first count, when stderr is a terminal.
func (d *display) start(unit string, total int64) {
	if d.p != nil || total <= 0 || unit == "" || !isTerminal(d.stderr) {
		return
	}
	d.p = mpb.New(mpb.WithOutput(d.stderr), mpb.WithWidth(30))
	app := []decor.Decorator{decor.Percentage(), decor.Name(" "), decor.Elapsed(decor.ET_STYLE_MMSS)}
	if unit == "records" {
		app = append(app, decor.Name(" "), decor.AverageSpeed(0, "%.0f rec/s"))
	}
	app = append(app, decor.Any(func(decor.Statistics) string {
		if s, _ := d.name.Load().(string); s != "" {
			return " " + s
		}
		return ""
	}))
	d.bar = d.p.AddBar(total,
		mpb.PrependDecorators(decor.Name(unit+" "), decor.CountersNoUnit("%d / %d")),
		mpb.AppendDecorators(app...))
}

// stop removes the bar; the display goes on with plain lines.
func (d *display) stop() {
	d.mu.Lock()
	p, bar := d.p, d.bar
	d.p, d.bar = nil, nil
	d.mu.Unlock()
	if p != nil {
		bar.Abort(false)
		p.Wait()
	}
}

// isTerminal reports whether w is a terminal: progress bars are drawn only there.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
