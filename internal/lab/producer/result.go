package producer

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/kpar/kpar/internal/lab/labrun"
	"github.com/kpar/kpar/internal/results"
)

// Kind is this result's schema, the version this kpar writes and its data
// file. Version 2: a record counts as lost only when no reader saw it
// (franz-go, kcat, the parallel consumer), acked_lost became lost, readers'
// disagreements are counted apart (disagreed, reads), acks=0 answers are
// written (never acked), and targets are a list that gives each its reason.
var Kind = results.Kind{Schema: "kpar.lab.producer", Version: 2, File: "lab-producer.json"}

// Result is one `kpar lab producer` run: plain data, every view reads only this.
type Result struct {
	labrun.Run
	OwnCluster bool   `json:"own_cluster"`
	Params     Params `json:"params"`
	Cells      []Cell `json:"cells"`
	// Lessons and Targets are Judge(Cells), stored for readers of the
	// JSON; Doc judges the cells again rather than trust them.
	Lessons []Lesson `json:"lessons"`
	Targets []Target `json:"targets"`
}

// Params are the workload knobs every cell shares.
type Params struct {
	Producers              int     `json:"producers"`
	Keys                   int     `json:"keys"`
	Partitions             int     `json:"partitions"`
	Rate                   int     `json:"rate"`
	ValueBytes             int     `json:"value_bytes"`
	WarmupSeconds          float64 `json:"warmup_seconds"`
	TailSeconds            float64 `json:"tail_seconds"`
	FreezeSeconds          float64 `json:"freeze_seconds"`
	DeliveryTimeoutSeconds float64 `json:"delivery_timeout_seconds"`
}

// Cell is one setting under one fault.
type Cell struct {
	Name    string  `json:"name"`
	Setting Setting `json:"setting"`
	Fault   string  `json:"fault"`
	// Seed is the cell's own seed (CellSeed of the run's seed and Name).
	Seed      int64   `json:"seed"`
	Topic     string  `json:"topic"`
	Victim    int     `json:"victim_node"`
	Order     []int   `json:"rolling_order,omitempty"`
	TriggerAt int     `json:"trigger_record"`
	Events    []Event `json:"events"`
	// Flushed: every record was answered before the flush deadline.
	Flushed  bool          `json:"flushed"`
	Counts   Counts        `json:"counts"`
	Reads    Reads         `json:"reads"`
	Kcat     KcatCheck     `json:"kcat"`
	Consumer ConsumerCheck `json:"consumer"`
	Seconds  float64       `json:"seconds"`
	labrun.Repeats
}

// KcatCheck is the settled topic read by kcat (librdkafka), to the same
// high watermarks as the franz-go read.
type KcatCheck struct {
	Ran        bool   `json:"ran"`
	Records    int    `json:"records"`
	Distinct   int    `json:"distinct"`
	Duplicated int    `json:"duplicated"`
	Note       string `json:"note,omitempty"`
}

// ConsumerCheck is the kpar parallel consumer that read during the fault.
type ConsumerCheck struct {
	// Processed: distinct records handled; Calls: handler calls (replays
	// after a coordinator move included).
	Processed int `json:"processed"`
	Calls     int `json:"calls"`
	// Missed: seen by a settled read (franz-go or kcat), never handled.
	// NotInTopic: handled, yet seen by neither settled read.
	Missed     int  `json:"missed"`
	NotInTopic int  `json:"not_in_topic"`
	CaughtUp   bool `json:"caught_up"`
}

// Lesson is one sentence computed from the cells.
type Lesson struct {
	Setting  string `json:"setting,omitempty"` // empty: a comparison across settings
	Sentence string `json:"sentence"`
}

// Verdicts a target can get.
const (
	Met      = "met"
	Missed   = "MISSED"
	Shown    = "shown"
	NotShown = "not shown"
	NotRun   = "not run"
)

// Target is one claim the run checks, with the reason it is expected, the
// verdict and the figures it rests on.
type Target struct {
	Claim   string `json:"claim"`
	Reason  string `json:"reason"`
	Verdict string `json:"verdict"`
	Detail  string `json:"detail"`
}

// judge stores Judge's lessons and targets on the Result.
func (r *Result) judge() { r.Lessons, r.Targets = Judge(r.Cells) }

// Judge computes the lessons and targets from the cells alone. Doc calls
// it rather than reading a stored verdict, so a sentence can never stand
// beside a figure that contradicts it.
func Judge(cells []Cell) ([]Lesson, []Target) {
	return lessons(cells), targets(cells)
}

// Target claims, in the order Judge returns them.
const (
	ClaimSafe   = "acks=all with idempotence loses no acknowledged record and duplicates none under a fault"
	ClaimWeaker = "a weaker setting loses acknowledged records under a fault"
)

func targets(cells []Cell) []Target {
	safe := Target{Claim: ClaimSafe,
		Reason: "an acknowledgement under acks=all waits for min.insync.replicas (2) replicas, so one node's fault cannot take an acknowledged record; an idempotent producer's retried batch carries its producer id and sequence, so the broker drops a copy it already has"}
	weak := Target{Claim: ClaimWeaker,
		Reason: "acks=1 acknowledges once the leader alone has a record, so a leader that fails before its followers fetched takes it along; seeing that loss shows the faults reach what acks=all protects"}
	var safeN, weakN int
	var bad, lossy []string
	for _, c := range cells {
		switch k := c.Counts; {
		case c.Fault == FaultNone:
		case c.Setting.Safe():
			safeN++
			if k.Lost > 0 || k.Duplicated > 0 {
				bad = append(bad, fmt.Sprintf("%s: %d lost, %d duplicated", c.Name, k.Lost, k.Duplicated))
			}
		default:
			if c.Setting.Acks != "0" {
				weakN++
			}
			if k.Lost > 0 {
				lossy = append(lossy, fmt.Sprintf("%s (%d)", c.Name, k.Lost))
			}
		}
	}
	switch {
	case safeN == 0:
		safe.Verdict, safe.Detail = NotRun, "no fault cell with acks=all and idempotence in this run"
	case len(bad) == 0:
		safe.Verdict, safe.Detail = Met, fmt.Sprintf("0 lost and 0 duplicated in %s", plural(safeN, "fault cell"))
	default:
		safe.Verdict, safe.Detail = Missed, fmt.Sprintf("%s of %s: %s", plural(len(bad), "cell"), plural(safeN, "fault cell"), strings.Join(bad, "; "))
	}
	switch {
	case weakN == 0:
		weak.Verdict, weak.Detail = NotRun, "no fault cell with acks=1, or acks=all without idempotence, in this run"
	case len(lossy) > 0:
		weak.Verdict, weak.Detail = Shown, "lost in "+strings.Join(lossy, ", ")
	default:
		weak.Verdict, weak.Detail = NotShown, fmt.Sprintf("none of %s lost an acknowledged record", plural(weakN, "weaker fault cell"))
	}
	return []Target{safe, weak}
}

// faultSum adds val over the fault cells whose setting passes pred, and
// counts those cells.
func faultSum(cells []Cell, pred func(Setting) bool, val func(Cell) int) (n, cellsN int) {
	for _, c := range cells {
		if c.Fault != FaultNone && pred(c.Setting) {
			n += val(c)
			cellsN++
		}
	}
	return n, cellsN
}

// consumerMissed is what the parallel consumer missed over every cell: the
// records and the cells they were in.
func consumerMissed(cells []Cell) (records, cellsN int) {
	for _, c := range cells {
		if c.Consumer.Missed > 0 {
			records += c.Consumer.Missed
			cellsN++
		}
	}
	return records, cellsN
}

// lessons: one sentence per setting, then the comparisons the matrix
// answers (acks, idempotence, unclean election), each only when the run has
// both sides and saying only what the counts show.
func lessons(cells []Cell) []Lesson {
	var out []Lesson
	var order []string
	by := map[string][]Cell{}
	for _, c := range cells {
		if _, ok := by[c.Setting.Name]; !ok {
			order = append(order, c.Setting.Name)
		}
		by[c.Setting.Name] = append(by[c.Setting.Name], c)
	}
	for _, name := range order {
		out = append(out, Lesson{Setting: name, Sentence: settingSentence(by[name])})
	}
	say := func(format string, args ...any) { out = append(out, Lesson{Sentence: fmt.Sprintf(format, args...)}) }
	lost := func(c Cell) int { return c.Counts.Lost }
	dup := func(c Cell) int { return c.Counts.Duplicated }
	l1, n1 := faultSum(cells, func(s Setting) bool { return s.Acks == "1" }, lost)
	la, na := faultSum(cells, func(s Setting) bool { return s.Acks == "all" }, lost)
	if n1 > 0 && na > 0 {
		say("acks: under faults acks=1 lost %s over %s, acks=all %d over %s.", plural(l1, "acknowledged record"), plural(n1, "cell"), la, plural(na, "cell"))
	}
	d0, n0 := faultSum(cells, func(s Setting) bool { return s.Acks == "all" && !s.Idempotent }, dup)
	d1, n1 := faultSum(cells, Setting.Safe, dup)
	switch {
	case n0 == 0 || n1 == 0:
	case d1 > 0:
		say("idempotence: acks=all with it still duplicated %s over %s (without it %d over %s).", plural(d1, "record"), plural(n1, "cell"), d0, plural(n0, "cell"))
	case d0 > 0:
		say("idempotence: acks=all without it duplicated %s over %s; with it none over %s.", plural(d0, "record"), plural(n0, "cell"), plural(n1, "cell"))
	default:
		say("idempotence: acks=all duplicated nothing in this run, without it (%s) or with it (%s): on duplicates this run cannot tell the two apart.", plural(n0, "cell"), plural(n1, "cell"))
	}
	// Unclean election: records the consumer read during the fault (below
	// the high watermark, so every replica in the ISR had them) that neither
	// settled read found afterwards. Only an election of a replica outside
	// the ISR can remove such a record. Nothing truncated, or no cell with
	// unclean election on: no sentence, the run shows nothing about it.
	truncated := func(c Cell) int { return c.Consumer.NotInTopic }
	on, onN := faultSum(cells, func(s Setting) bool { return s.Unclean }, truncated)
	off, offN := faultSum(cells, func(s Setting) bool { return !s.Unclean }, truncated)
	if onN > 0 && on+off > 0 {
		l := fmt.Sprintf("unclean leader election: %s the consumer had read during a fault (committed then) were gone from the topic afterwards over %s with it on",
			plural(on, "record"), plural(onN, "cell"))
		if offN > 0 {
			l += fmt.Sprintf(", %d over %s with it off", off, plural(offN, "cell"))
		}
		say("%s.", l)
	}
	if m, mc := consumerMissed(cells); len(cells) > 0 && m == 0 {
		say("consumer: the kpar parallel consumer reading during the faults handled every record the settled reads saw in all %s.", plural(len(cells), "cell"))
	} else if len(cells) > 0 {
		say("consumer: the kpar parallel consumer reading during the faults missed %s the settled reads saw, in %s of %d.", plural(m, "record"), plural(mc, "cell"), len(cells))
	}
	return out
}

// settingSentence states what one setting did under each fault.
func settingSentence(cells []Cell) string {
	s := cells[0].Setting
	var bad []string
	var clean []string
	add := func(n int, what, fault string) {
		if n > 0 {
			bad = append(bad, fmt.Sprintf("%s %s on %s", what, plural(n, "record"), fault))
		}
	}
	written := 0
	for _, c := range cells {
		k := c.Counts
		written += k.Written
		before := len(bad)
		if k.Lost > 0 {
			bad = append(bad, fmt.Sprintf("lost %s on %s", plural(k.Lost, "acknowledged record"), c.Fault))
		}
		if k.Unseen > 0 {
			bad = append(bad, fmt.Sprintf("%s sent on %s reached no reader", plural(k.Unseen, "record"), c.Fault))
		}
		add(k.Duplicated, "duplicated", c.Fault)
		add(k.Reordered, "reordered", c.Fault)
		add(k.FailedPresent, "wrote", c.Fault+" that were reported failed")
		if len(bad) == before {
			clean = append(clean, c.Fault)
		}
		if k.Disagreed > 0 {
			bad = append(bad, fmt.Sprintf("the readers disagreed on %s on %s (%s)", plural(k.Disagreed, "record"), c.Fault, ReadersText(c)))
		}
	}
	var b strings.Builder
	b.WriteString(s.Label())
	nothing := " lost, duplicated and reordered nothing on "
	if s.Acks == "0" {
		nothing = " had every sent record reach a reader and duplicated and reordered nothing on "
	}
	switch {
	case len(bad) > 0:
		b.WriteString(" " + strings.Join(bad, "; "))
		if len(clean) > 0 {
			fmt.Fprintf(&b, "; nothing wrong on %s", strings.Join(clean, ", "))
		}
	default:
		b.WriteString(nothing + strings.Join(clean, ", "))
	}
	b.WriteString(".")
	if s.Acks == "0" {
		fmt.Fprintf(&b, " Under acks=0 no record is acknowledged: %s handed to the socket count as sent, and none can count as lost.", plural(written, "record"))
	}
	if failed := errSummary(cells); failed != "" {
		b.WriteString(" Producer errors: " + failed + ".")
	}
	return b.String()
}

// errSummary names the errors the setting's records failed with, most first.
func errSummary(cells []Cell) string {
	tot := map[string]int{}
	for _, c := range cells {
		for e, n := range c.Counts.Errors {
			tot[e] += n
		}
	}
	keys := slices.SortedFunc(maps.Keys(tot), func(a, b string) int { return cmp.Or(tot[b]-tot[a], strings.Compare(a, b)) })
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", tot[k], k))
	}
	return strings.Join(parts, ", ")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
