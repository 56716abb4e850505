// Package progress is how a running experiment says what it is doing: one
// stream of events, sent to one Sink, which the command displays (lines on
// stderr or with the text, a bar where it counts). Events are news, never
// data: nothing in a Result is read from them.
package progress

import "fmt"

// Kind says what an Event reports.
type Kind int

const (
	Note    Kind = iota // what is being prepared or measured now: a "kpar: " line on stderr
	Line                // a line of the run's own output (a finished step, a cell's counts)
	Begin               // item I of N begins; Line names it
	End                 // item I of N finished; Line, when set, is its result line
	Records             // Done of Total records delivered so far (Total 0: unchanged)
)

// Event is one piece of progress.
type Event struct {
	Kind        Kind
	Line        string
	I, N        int   // Begin and End: the item, counted from 1, of N
	Done, Total int64 // Records
}

// Sink receives events; it may be called from several goroutines at once.
// A nil Sink drops them.
type Sink func(Event)

// Emit sends e to s, when s is set.
func (s Sink) Emit(e Event) {
	if s != nil {
		s(e)
	}
}

// Note sends a Note event.
func (s Sink) Note(format string, args ...any) {
	s.Emit(Event{Kind: Note, Line: fmt.Sprintf(format, args...)})
}

// Print sends a Line event.
func (s Sink) Print(line string) { s.Emit(Event{Kind: Line, Line: line}) }

// Begin says item i of n, named name, begins.
func (s Sink) Begin(i, n int, name string) { s.Emit(Event{Kind: Begin, I: i, N: n, Line: name}) }

// End says item i of n finished, with its result line (may be empty).
func (s Sink) End(i, n int, line string) { s.Emit(Event{Kind: End, I: i, N: n, Line: line}) }

// Notes is s as a func(string) sending Notes, for the APIs that take one.
func (s Sink) Notes() func(string) {
	return func(line string) { s.Emit(Event{Kind: Note, Line: line}) }
}
