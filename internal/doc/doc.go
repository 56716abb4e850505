// Package doc is what one result says, computed once from its data: its
// findings (a sentence, the figures it cites, a verdict where there is a
// target), its tables and its chart specifications. A document is
// presentation-neutral: internal/render turns it into terminal text,
// Markdown, the report's HTML and SVG/PNG charts, so a finding reads the same
// wherever it is shown. Each experiment package has one function that builds
// its document from its Result; nothing else writes a sentence about it.
package doc

import "fmt"

// Doc is one result's document.
type Doc struct {
	// Name is the file stem of its Markdown (Name.md beside the data).
	Name  string
	Title string
	// Command reproduces the run (the result header's), shown under the title.
	Command []string
	// Answer opens the document: the findings a reader needs first.
	Answer []Finding
	// Body follows the answer and is always shown.
	Body []Block
	// Details are folded in the report (<details>), follow the body in
	// Markdown and are left out of the terminal summary: every sweep, every
	// cell, the raw figures behind the answer.
	Details []Block
}

// Finding is one statement about the data. Text is inline Markdown (**bold**,
// `code`); renderers add the target and verdict in one fixed wording.
type Finding struct {
	Text    string
	Figures []Figure `json:",omitempty"`
	// Target names the bar a figure had to pass ("90% of the ideal"), empty
	// when the finding has none; Verdict is then "met", "missed" or
	// "mixed (k of N)" as clock.Judge says.
	Target  string `json:",omitempty"`
	Verdict string `json:",omitempty"`
}

// Figure is a number a finding cites, for readers that are programs.
type Figure struct {
	Name  string
	Value float64
	Unit  string `json:",omitempty"`
}

// Block is one piece of a document's body, in order. Set one of Text, List,
// Findings, Table, Chart or Error (a Title may head any of them, or stand alone).
type Block struct {
	Title    string
	Text     []string // paragraphs, inline Markdown
	List     []string // bullets, inline Markdown
	Findings []Finding
	Table    *Table
	Chart    *Chart
	Error    string // what could not be shown, and why
}

// Table is a plain table of cells already formatted; Num marks right-aligned
// (numeric) columns.
type Table struct {
	Head []string
	Num  []bool
	Rows [][]string
}

// Kind is what a chart draws.
type Kind int

const (
	// Line draws each series as points joined by lines over a numeric X.
	Line Kind = iota
	// Bars draws one group per X category, a bar per series (Y[i] for
	// category i).
	Bars
	// Timeline draws lanes of labelled spans over time (who owned what when)
	// above the series, with Marks across both.
	Timeline
)

// Chart is a chart's specification; internal/render draws it, one palette,
// legend outside the data. A chart with Panels is drawn as small multiples
// (one panel each, the same axes) instead of its own series: keep a panel to
// about six series.
type Chart struct {
	Name   string // file stem: Name.svg and Name.png
	Title  string
	Kind   Kind
	X, Y   Axis
	Series []Series
	Marks  []Mark
	Lanes  []Lane  // Timeline only
	Panels []Chart // small multiples
}

// Axis labels an axis; Unit is shown in brackets after Label. Categories are
// a Bars chart's X groups. Log draws a log scale (base 2 ticks at the data's
// X values for Line charts). Zero is the default minimum of Y.
type Axis struct {
	Label      string
	Unit       string
	Log        bool
	Categories []string
}

// Series is one named line or bar series. For Bars, X is ignored and Y has
// one value per category.
type Series struct {
	Name   string
	X, Y   []float64
	Dashed bool
}

// Mark is a moment drawn across the chart (a fault, an event).
type Mark struct {
	X     float64
	Label string
}

// Lane is one row of a Timeline (a partition, a member).
type Lane struct {
	Name  string
	Spans []Span
}

// Span is an interval on a lane; spans with the same Label share a color.
type Span struct {
	From, To float64
	Label    string
}

// Text is an axis's label with its unit.
func (a Axis) Text() string {
	if a.Unit == "" {
		return a.Label
	}
	return fmt.Sprintf("%s (%s)", a.Label, a.Unit)
}

// Charts lists every chart of the document, body first, panels as their parent.
func (d Doc) Charts() []*Chart {
	var out []*Chart
	for _, bs := range [][]Block{d.Body, d.Details} {
		for i := range bs {
			if bs[i].Chart != nil {
				out = append(out, bs[i].Chart)
			}
		}
	}
	return out
}

// Findings lists every finding of the document in order: the answer, then
// the body's and the details' finding blocks.
func (d Doc) Findings() []Finding {
	out := append([]Finding(nil), d.Answer...)
	for _, bs := range [][]Block{d.Body, d.Details} {
		for _, b := range bs {
			out = append(out, b.Findings...)
		}
	}
	return out
}

// Suffix is a finding's fixed suffix: " (target T: V)", or "" without a target.
func (f Finding) Suffix() string {
	if f.Target == "" {
		return ""
	}
	return fmt.Sprintf(" (target %s: %s)", f.Target, f.Verdict)
}

// Say is a finding without a target.
func Say(format string, args ...any) Finding { return Finding{Text: fmt.Sprintf(format, args...)} }

// Judged is a finding with its target and verdict.
func Judged(target, verdict, format string, args ...any) Finding {
	return Finding{Text: fmt.Sprintf(format, args...), Target: target, Verdict: verdict}
}
