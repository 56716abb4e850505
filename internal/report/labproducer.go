package report

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/kpar/kpar/internal/lab/producer"
	"github.com/kpar/kpar/internal/results"
)

var labProducerKind = kind{schema: producer.Schema, version: 1, current: producer.SchemaVersion, section: "producer-lab", load: loadLabProducer}

func loadLabProducer(path string) (Part, error) {
	var r producer.Result
	if err := results.Read(path, producer.Schema, producer.SchemaVersion, &r); err != nil {
		return Part{}, err
	}
	return labProducerPart(r), nil
}

// labProducerAnswer states the package's own targets: whether the safe
// setting (acks=all with idempotence) kept every acknowledged record once,
// and which weaker settings lost acknowledged records.
func labProducerAnswer(r producer.Result) []string {
	t := r.Targets
	var a string
	switch {
	case t.SafeCells == 0:
		a = "This run had no fault cell with acks=all and idempotence, so it cannot say whether the safe setting holds."
	case t.SafeClean:
		a = fmt.Sprintf("acks=all with idempotence lost no acknowledged record and duplicated none in %s.", plural(t.SafeCells, "fault cell", "fault cells"))
	default:
		var bad []string
		for _, c := range r.Cells {
			if c.Setting.Safe() && c.Fault != "none" && (c.Counts.AckedLost > 0 || c.Counts.Duplicated > 0) {
				bad = append(bad, fmt.Sprintf("%s: %d lost, %d duplicated", c.Name, c.Counts.AckedLost, c.Counts.Duplicated))
			}
		}
		a = fmt.Sprintf("**acks=all with idempotence lost or duplicated records** (%s).", strings.Join(bad, "; "))
	}
	var b string
	if len(t.WeakerLoss) > 0 {
		var ls []string
		for _, c := range r.Cells {
			if slices.Contains(t.WeakerLoss, c.Name) {
				ls = append(ls, fmt.Sprintf("%s (%d)", c.Name, c.Counts.AckedLost))
			}
		}
		b = fmt.Sprintf("Weaker settings lost acknowledged records: %s.", strings.Join(ls, ", "))
	} else {
		b = "No weaker setting lost an acknowledged record in this run."
	}
	if t.ConsumerMissed > 0 {
		b += fmt.Sprintf(" The parallel consumer reading during the faults missed %d records the topic holds.", t.ConsumerMissed)
	}
	return []string{a, b}
}

func labProducerPart(r producer.Result) Part {
	p := Part{Answer: labProducerAnswer(r)}
	p.Facts.Seed = fmt.Sprint(r.Seed)
	where := "the given cluster"
	if r.OwnCluster {
		where = "the lab's own 3-node cluster"
	}
	pr := r.Params
	p.Blocks = append(p.Blocks, Block{Text: []string{fmt.Sprintf(
		"On %s (%s): %d producers, %d keys each, %d partitions (RF 3, min ISR 2), %d records/s, %d-byte values; the fault after %.0f s plus a seeded fraction, freeze %.0f s, delivery timeout %.0f s. "+
			"Lost = acknowledged by the producer, absent from the topic once the cluster healed; a count marked * moves between re-runs with this seed.",
		where, strings.Join(r.Brokers, ","), pr.Producers, pr.Keys, pr.Partitions, pr.Rate, pr.ValueBytes, pr.WarmupSeconds, pr.FreezeSeconds, pr.DeliveryTimeoutSeconds)}})
	t := &Table{Head: []string{"setting", "fault", "sent", "acked", "failed", "unanswered", "lost", "duplicated", "reordered", "failed but written", "kcat read-back", "consumer missed", "producer errors"},
		Num: []bool{false, false, true, true, true, true, true, true, true, true, false, true, false}}
	star := func(c producer.Cell, name string, n int) string {
		if slices.Contains(c.TimingDependent, name) {
			return inum(n) + "*"
		}
		return inum(n)
	}
	for _, c := range r.Cells {
		k := c.Counts
		kc := "agrees"
		switch {
		case !c.Kcat.Ran:
			kc = "not run: " + c.Kcat.Note
		case !c.Kcat.Agrees:
			kc = "**differs**: " + c.Kcat.Note
		}
		var errs []string
		for e, n := range k.Errors {
			errs = append(errs, fmt.Sprintf("%d %s", n, e))
		}
		sort.Strings(errs)
		missed := inum(c.Consumer.Missed)
		if !c.Consumer.CaughtUp {
			missed += " (never caught up)"
		}
		t.Rows = append(t.Rows, []string{c.Setting.Label(), c.Fault, star(c, "sent", k.Sent), inum(k.Acked), inum(k.Failed), inum(k.Unreported),
			star(c, "acked_lost", k.AckedLost), star(c, "duplicated", k.Duplicated), star(c, "reordered", k.Reordered),
			star(c, "failed_present", k.FailedPresent), kc, missed, strings.Join(errs, "; ")})
	}
	p.Blocks = append(p.Blocks, Block{Title: "Per setting and fault", Table: t})
	var perSetting, across []string
	for _, l := range r.Lessons {
		if l.Setting != "" {
			perSetting = append(perSetting, l.Sentence)
		} else {
			across = append(across, l.Sentence)
		}
	}
	if len(perSetting) > 0 {
		p.Blocks = append(p.Blocks, Block{Title: "The lesson per setting", List: true, Text: perSetting})
	}
	if len(across) > 0 {
		p.Blocks = append(p.Blocks, Block{Title: "Across settings", List: true, Text: across})
	}
	for _, m := range []struct{ metric, title string }{{"acked_lost", "Acknowledged records lost"}, {"duplicated", "Duplicated records"}} {
		p.Blocks = append(p.Blocks, chartBlock(m.title, func(path string) error { return producer.Chart(path, r, m.metric) }))
	}
	var timelines, reruns []string
	for _, c := range r.Cells {
		var ev []string
		for _, e := range c.Events {
			ev = append(ev, fmt.Sprintf("%.1fs %s", e.At, e.What))
		}
		timelines = append(timelines, fmt.Sprintf("**%s** (victim node %d): %s", c.Name, c.Victim, strings.Join(ev, "; ")))
		reruns = append(reruns, fmt.Sprintf("`kpar lab producer --seed %d --cell %s`", r.Seed, c.Name))
	}
	if len(r.Cells) > 0 {
		p.Blocks = append(p.Blocks, Block{Text: []string{fmt.Sprintf("Exact from the seed: %s. Timing-dependent: %s. Why: %s",
			strings.Join(r.Cells[0].Exact, ", "), strings.Join(r.Cells[0].TimingDependent, ", "), r.Cells[0].Why)}})
	}
	p.Blocks = append(p.Blocks, Block{Title: "Fault timelines", List: true, Text: timelines}, Block{Title: "Re-run one cell", List: true, Text: reruns})
	return p
}
