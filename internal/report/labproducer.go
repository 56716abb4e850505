package report

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/kpar/kpar/internal/lab/producer"
	"github.com/kpar/kpar/internal/results"
)

var labProducerKind = kind{schema: producer.Schema, version: 2, current: producer.SchemaVersion, section: "producer-lab", load: loadLabProducer}

func loadLabProducer(path string) (Part, error) {
	var r producer.Result
	if err := results.Read(path, producer.Schema, producer.SchemaVersion, &r); err != nil {
		return Part{}, err
	}
	return labProducerPart(r), nil
}

// labProducerAnswer judges the cells again (producer.Judge), never the
// verdicts stored in the file: whether the safe setting (acks=all with
// idempotence) kept every acknowledged record once, which weaker settings
// lost acknowledged records, and what the readers disagreed on.
func labProducerAnswer(r producer.Result) []string {
	_, targets := producer.Judge(r.Cells)
	var out []string
	for _, t := range targets {
		v := t.Verdict
		if v == producer.Missed {
			v = "**" + v + "**"
		}
		out = append(out, fmt.Sprintf("%s: %s (%s).", t.Claim, v, t.Detail))
	}
	var dis []string
	missed := 0
	for _, c := range r.Cells {
		if c.Counts.Disagreed > 0 {
			dis = append(dis, fmt.Sprintf("%s %s (%s)", c.Name, inum(c.Counts.Disagreed), producer.ReadersText(c)))
		}
		missed += c.Consumer.Missed
	}
	if len(dis) > 0 {
		out = append(out, fmt.Sprintf("Records the readers disagreed on, counted apart from lost: %s.", strings.Join(dis, "; ")))
	}
	if missed > 0 {
		out = append(out, fmt.Sprintf("The parallel consumer reading during the faults missed %s the settled reads saw.", plural(missed, "record", "records")))
	}
	return out
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
			"Lost = acknowledged by the producer, then seen by no reader (franz-go and kcat reading the healed topic to the same settled high watermarks, the parallel consumer during the fault); records one reader saw and another did not are counted apart. Under acks=0 nothing is acknowledged: its records are sent, and the ones no reader saw are unseen. A count marked * moves between re-runs with this seed.",
		where, strings.Join(r.Brokers, ","), pr.Producers, pr.Keys, pr.Partitions, pr.Rate, pr.ValueBytes, pr.WarmupSeconds, pr.FreezeSeconds, pr.DeliveryTimeoutSeconds)}})
	t := &Table{Head: []string{"setting", "fault", "sent", "acked", "failed", "unanswered", "lost", "readers disagreed", "duplicated", "reordered", "failed but written", "kcat read-back", "consumer missed", "producer errors"},
		Num: []bool{false, false, true, true, true, true, true, false, true, true, true, false, true, false}}
	star := func(c producer.Cell, name string, n int) string {
		if slices.Contains(c.TimingDependent, name) {
			return inum(n) + "*"
		}
		return inum(n)
	}
	for _, c := range r.Cells {
		k := c.Counts
		var errs []string
		for e, n := range k.Errors {
			errs = append(errs, fmt.Sprintf("%d %s", n, e))
		}
		sort.Strings(errs)
		missed := inum(c.Consumer.Missed)
		if !c.Consumer.CaughtUp {
			missed += " (never caught up)"
		}
		st := func(name string, n int) string { return star(c, name, n) }
		disagreed := st("disagreed", k.Disagreed)
		if k.Disagreed > 0 {
			disagreed += ": " + producer.ReadersText(c)
		}
		t.Rows = append(t.Rows, []string{c.Setting.Label(), c.Fault, st("sent", k.Sent), producer.AckedText(c), inum(k.Failed), inum(k.Unreported),
			producer.LostText(c, st), disagreed, st("duplicated", k.Duplicated), st("reordered", k.Reordered),
			st("failed_present", k.FailedPresent), producer.KcatText(c), missed, strings.Join(errs, "; ")})
	}
	p.Blocks = append(p.Blocks, Block{Title: "Per setting and fault", Table: t})
	lessons, _ := producer.Judge(r.Cells)
	var perSetting, across []string
	for _, l := range lessons {
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
	for _, m := range []struct{ metric, title string }{{"lost", "Acknowledged records no reader saw"}, {"duplicated", "Duplicated records"}} {
		p.Blocks = append(p.Blocks, chartBlock(m.title, func(path string) error { return producer.Chart(path, r, m.metric) }))
	}
	var notes []string
	for _, c := range r.Cells {
		for _, n := range producer.ReadNotes(c) {
			notes = append(notes, fmt.Sprintf("**%s**: %s", c.Name, n))
		}
	}
	if len(notes) > 0 {
		p.Blocks = append(p.Blocks, Block{Title: "Reads", List: true, Text: notes})
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
		var whys []string
		for _, c := range r.Cells {
			if !slices.Contains(whys, c.Why) {
				whys = append(whys, c.Why)
			}
		}
		text := []string{fmt.Sprintf("Exact from the seed: %s. Timing-dependent: %s. What moves them between re-runs: %s",
			strings.Join(r.Cells[0].Exact, ", "), strings.Join(r.Cells[0].TimingDependent, ", "), strings.Join(whys, " "))}
		_, targets := producer.Judge(r.Cells)
		if s := producer.SafeRepeats(targets); s != "" {
			text = append(text, s)
		}
		p.Blocks = append(p.Blocks, Block{Text: text})
	}
	p.Blocks = append(p.Blocks, Block{Title: "Fault timelines", List: true, Text: timelines}, Block{Title: "Re-run one cell", List: true, Text: reruns})
	return p
}
