package cli

import (
	"bytes"
	"testing"

	"github.com/kpar/kpar/internal/progress"
)

// Off a terminal the display draws no bar: notes go to stderr as
// "kpar: ...", lines and finished items' lines to the lines writer, and
// a Begin or a Records count prints nothing.
func TestDisplayShowsEachEventKindOneWay(t *testing.T) {
	var stderr, lines bytes.Buffer
	d := newDisplay(&stderr, &lines, "cells")
	var s progress.Sink = d.show
	s.Note("preparing %d records", 10)
	s.Begin(1, 2, "a/b")
	s.Print("a step")
	s.End(1, 2, "[1/2] a/b done")
	s.End(2, 2, "")
	s.Emit(progress.Event{Kind: progress.Records, Done: 5, Total: 10})
	d.stop()
	if got, want := stderr.String(), "kpar: preparing 10 records\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
	if got, want := lines.String(), "a step\n[1/2] a/b done\n"; got != want {
		t.Errorf("lines %q, want %q", got, want)
	}
	var none progress.Sink
	none.Note("dropped") // a nil sink drops events
}
