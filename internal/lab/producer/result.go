package producer

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kpar/kpar/internal/results"
)

// Schema and SchemaVersion name the data file, lab-producer.json.
const (
	Schema        = "kpar.lab.producer"
	SchemaVersion = 1
)

// Result is one `kpar lab producer` run: plain data, every view reads only this.
type Result struct {
	results.Header
	Seed       int64    `json:"seed"`
	Brokers    []string `json:"brokers"`
	OwnCluster bool     `json:"own_cluster"`
	Params     Params   `json:"params"`
	Cells      []Cell   `json:"cells"`
	// Lessons are computed once from the cells (judge); views print them.
	Lessons []Lesson `json:"lessons"`
	Targets Targets  `json:"targets"`
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

func paramsOf(c Config) Params {
	return Params{Producers: c.Producers, Keys: c.Keys, Partitions: c.Partitions, Rate: c.Rate, ValueBytes: c.ValueBytes,
		WarmupSeconds: c.Warmup.Seconds(), TailSeconds: c.Tail.Seconds(), FreezeSeconds: c.Freeze.Seconds(),
		DeliveryTimeoutSeconds: c.DeliveryTimeout.Seconds()}
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
	Kcat     KcatCheck     `json:"kcat"`
	Consumer ConsumerCheck `json:"consumer"`
	Seconds  float64       `json:"seconds"`
	// Exact lists what repeats from the seed; TimingDependent the counts
	// that move between re-runs of the cell, for the reason in Why.
	Exact           []string `json:"exact"`
	TimingDependent []string `json:"timing_dependent"`
	Why             string   `json:"why"`
}

// KcatCheck is the same topic read by kcat (librdkafka).
type KcatCheck struct {
	Ran        bool   `json:"ran"`
	Records    int    `json:"records"`
	AckedLost  int    `json:"acked_lost"`
	Duplicated int    `json:"duplicated"`
	Agrees     bool   `json:"agrees"`
	Note       string `json:"note,omitempty"`
}

// ConsumerCheck is the kpar parallel consumer that read during the fault.
type ConsumerCheck struct {
	// Processed: distinct records handled; Calls: handler calls (replays
	// after a coordinator move included).
	Processed int `json:"processed"`
	Calls     int `json:"calls"`
	// Missed: in the topic, never handled. NotInTopic: handled, yet not in
	// the topic at the end (a record read before an unclean election
	// truncated it away).
	Missed     int  `json:"missed"`
	NotInTopic int  `json:"not_in_topic"`
	CaughtUp   bool `json:"caught_up"`
}

// Lesson is one sentence computed from the cells.
type Lesson struct {
	Setting  string `json:"setting,omitempty"` // empty: a comparison across settings
	Sentence string `json:"sentence"`
}

// Targets are the two claims, judged from this run's cells.
type Targets struct {
	// SafeCells counts acks=all+idempotence cells under a fault; SafeClean
	// is true when every one lost and duplicated nothing.
	SafeCells int  `json:"safe_cells"`
	SafeClean bool `json:"safe_clean"`
	// WeakerLoss names the cells of weaker settings that lost acked records.
	WeakerLoss []string `json:"weaker_loss"`
	// ConsumerMissed sums what the parallel consumer missed over all cells.
	ConsumerMissed int `json:"consumer_missed"`
}

// judge computes the lessons and targets from the cells, once.
func (r *Result) judge() {
	r.Lessons = lessons(r.Cells)
	t := Targets{SafeClean: true, WeakerLoss: []string{}}
	for _, c := range r.Cells {
		t.ConsumerMissed += c.Consumer.Missed
		if c.Fault == FaultNone {
			continue
		}
		if c.Setting.Safe() {
			t.SafeCells++
			if c.Counts.AckedLost > 0 || c.Counts.Duplicated > 0 {
				t.SafeClean = false
			}
		} else if c.Counts.AckedLost > 0 {
			t.WeakerLoss = append(t.WeakerLoss, c.Name)
		}
	}
	if t.SafeCells == 0 {
		t.SafeClean = false
	}
	r.Targets = t
}

// lessons: one sentence per setting, then the comparisons the matrix
// answers (acks, idempotence, unclean election), each only when the run has
// both sides.
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
	sum := func(pred func(Setting) bool, val func(Counts) int) (n, cellsN int) {
		for _, c := range cells {
			if c.Fault != FaultNone && pred(c.Setting) {
				n += val(c.Counts)
				cellsN++
			}
		}
		return n, cellsN
	}
	lost := func(c Counts) int { return c.AckedLost }
	dup := func(c Counts) int { return c.Duplicated }
	if l1, n1 := sum(func(s Setting) bool { return s.Acks == "1" }, lost); n1 > 0 {
		if la, na := sum(func(s Setting) bool { return s.Acks == "all" }, lost); na > 0 {
			out = append(out, Lesson{Sentence: fmt.Sprintf("acks: under faults acks=1 lost %d acknowledged records over %s, acks=all %d over %s.",
				l1, plural(n1, "cell"), la, plural(na, "cell"))})
		}
	}
	if d0, n0 := sum(func(s Setting) bool { return s.Acks == "all" && !s.Idempotent }, dup); n0 > 0 {
		if d1, n1 := sum(func(s Setting) bool { return s.Safe() }, dup); n1 > 0 {
			var sentence string
			switch {
			case d1 > 0:
				sentence = fmt.Sprintf("idempotence: acks=all with it still duplicated %d records over %s (without it %d over %s).",
					d1, plural(n1, "cell"), d0, plural(n0, "cell"))
			case d0 > 0:
				sentence = fmt.Sprintf("idempotence: acks=all without it duplicated %d records over %s (retries of requests that had landed); with it none over %s.",
					d0, plural(n0, "cell"), plural(n1, "cell"))
			default:
				sentence = fmt.Sprintf("idempotence: acks=all duplicated nothing in this run, without it (%s) or with it (%s): a duplicate needs a retried request that had landed, which is timing.",
					plural(n0, "cell"), plural(n1, "cell"))
			}
			out = append(out, Lesson{Sentence: sentence})
		}
	}
	if lu, nu := sum(func(s Setting) bool { return s.Unclean }, lost); nu > 0 {
		if lc, nc := sum(func(s Setting) bool { return !s.Unclean }, lost); nc > 0 {
			s := fmt.Sprintf("unclean leader election: settings with it on lost %d acknowledged records over %s, with it off %d over %s.",
				lu, plural(nu, "cell"), lc, plural(nc, "cell"))
			if notIn := sumConsumer(cells, true); notIn > 0 {
				s += fmt.Sprintf(" With it on the consumer handled %d records that were later truncated away.", notIn)
			} else {
				s += " Every fault here keeps two replicas in sync, so no election had to pick an out-of-sync one: a difference between the two is timing, not the setting."
			}
			out = append(out, Lesson{Sentence: s})
		}
	}
	if m := sumConsumer(cells, false); len(cells) > 0 {
		if m == 0 {
			out = append(out, Lesson{Sentence: fmt.Sprintf("consumer: the kpar parallel consumer reading during the faults handled every record the topic holds in all %s.", plural(len(cells), "cell"))})
		} else {
			out = append(out, Lesson{Sentence: fmt.Sprintf("consumer: the kpar parallel consumer reading during the faults missed %d records the topic holds.", m)})
		}
	}
	return out
}

func sumConsumer(cells []Cell, notInTopic bool) int {
	n := 0
	for _, c := range cells {
		if notInTopic {
			n += c.Consumer.NotInTopic
		} else {
			n += c.Consumer.Missed
		}
	}
	return n
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
	for _, c := range cells {
		k := c.Counts
		before := len(bad)
		if k.AckedLost > 0 {
			bad = append(bad, fmt.Sprintf("lost %s on %s", plural(k.AckedLost, "acknowledged record"), c.Fault))
		}
		add(k.Duplicated, "duplicated", c.Fault)
		add(k.Reordered, "reordered", c.Fault)
		add(k.FailedPresent, "wrote", c.Fault+" that were reported failed")
		if len(bad) == before {
			clean = append(clean, c.Fault)
		}
	}
	var b strings.Builder
	b.WriteString(s.Label())
	if len(bad) > 0 {
		b.WriteString(" " + strings.Join(bad, "; "))
		if len(clean) > 0 {
			fmt.Fprintf(&b, "; nothing wrong on %s", strings.Join(clean, ", "))
		}
	} else {
		fmt.Fprintf(&b, " lost, duplicated and reordered nothing on %s", strings.Join(clean, ", "))
	}
	b.WriteString(".")
	if s.Acks == "0" {
		b.WriteString(" Under acks=0 nothing is acknowledged: a record counts as acked once the client wrote it to the socket.")
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
	var keys []string
	for k := range tot {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if tot[a] != tot[b] {
			return tot[b] - tot[a]
		}
		return strings.Compare(a, b)
	})
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
