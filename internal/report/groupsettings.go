package report

import (
	"fmt"
	"strings"

	"github.com/kpar/kpar/internal/lab/group/settings"
	"github.com/kpar/kpar/internal/results"
)

var groupSettingsKind = kind{schema: settings.Schema, version: 1, current: settings.SchemaVersion, section: "settings", load: loadGroupSettings}

func loadGroupSettings(path string) (Part, error) {
	var r settings.Result
	if err := results.Read(path, settings.Schema, settings.SchemaVersion, &r); err != nil {
		return Part{}, err
	}
	return groupSettingsPart(r), nil
}

// groupSettingsAnswer: the package's own lessons, the first of each of the
// first two experiments run, losses first.
func groupSettingsAnswer(r settings.Result) []string {
	var out []string
	for _, f := range []func(settings.Result) []string{settings.AutoCommitSentences, settings.PollIntervalSentences, settings.IsolationSentences, settings.ResetSentences} {
		if l := f(r); len(l) > 0 && len(out) < 2 {
			out = append(out, l[0])
		}
	}
	if len(out) == 0 {
		out = append(out, "This run holds no experiment.")
	}
	return out
}

func repeatText(rp settings.Repeat) []string {
	s := "Exact from the seed: " + strings.Join(rp.Exact, ", ") + "."
	if rp.Why != "" {
		s += " The rest moves between re-runs: " + rp.Why
	}
	return []string{s, "Re-run: `" + rp.Rerun + "`"}
}

func groupSettingsPart(r settings.Result) Part {
	p := Part{Answer: groupSettingsAnswer(r)}
	p.Facts.Seed = fmt.Sprint(r.Seed)
	p.Blocks = append(p.Blocks, Block{Text: []string{fmt.Sprintf("%s records per input topic, %d partitions; experiments: %s.", inum(r.Records), r.Partitions, strings.Join(r.Experiments, ", "))}})
	if len(r.AutoCommit) > 0 {
		t := &Table{Head: []string{"mode", "SIGKILL at", "lost", "duplicated", "records processed twice", "auto-commit interval", "note"}, Num: []bool{false, true, true, true, true, true, false}}
		for _, c := range r.AutoCommit {
			iv := "-"
			if c.AutoCommitIntervalSeconds > 0 {
				iv = fmt.Sprintf("%.1f s", c.AutoCommitIntervalSeconds)
			}
			t.Rows = append(t.Rows, []string{c.Mode, inum(c.CrashAt), inum(c.Check.Lost), inum(c.Check.Duplicated), inum(c.Check.DuplicatedRecords), iv, c.Failure})
		}
		var modes []string
		var lost, dup []float64
		for _, c := range r.AutoCommit {
			modes = append(modes, c.Mode)
			lost, dup = append(lost, float64(c.Check.Lost)), append(dup, float64(c.Check.Duplicated))
		}
		p.Blocks = append(p.Blocks, Block{Title: "enable.auto.commit with a SIGKILL mid-stream", Table: t},
			plotBlock("Lost and duplicated after a SIGKILL, per commit mode", groupedBars(fmt.Sprintf("SIGKILL at %d processed records (seed %d)", r.AutoCommit[0].CrashAt, r.Seed), "records",
				modes, series{"lost", lost}, series{"duplicated", dup})),
			Block{List: true, Text: settings.AutoCommitSentences(r)}, Block{Text: repeatText(r.AutoCommit[0].Repeat)})
	}
	if len(r.PollInterval) > 0 {
		t := &Table{Head: []string{"variant", "rebalance timeout s", "stall s", "removed", "slow commit", "redone from the batch", "duplicated", "lost", "note"},
			Num: []bool{false, true, true, false, false, true, true, true, false}}
		for _, c := range r.PollInterval {
			commit := "landed"
			if c.SlowCommitError != "" {
				commit = "failed: " + c.SlowCommitError
			}
			t.Rows = append(t.Rows, []string{c.Variant, f1(c.RebalanceTimeoutSeconds), f1(c.StallSeconds), fmt.Sprint(c.Removed), commit,
				inum(c.SlowBatchRedone), inum(c.Duplicated), inum(c.Lost), c.Failure})
		}
		p.Blocks = append(p.Blocks, Block{Title: "max.poll.interval.ms (kgo's RebalanceTimeout)", Table: t},
			Block{List: true, Text: settings.PollIntervalSentences(r)}, Block{Text: repeatText(r.PollInterval[0].Repeat)})
	}
	if i := r.Isolation; i != nil {
		t := &Table{Head: []string{"level", "received", "aborted received", "committed received", "max delay, txn open s", "median delay s", "held until the txn ended"},
			Num: []bool{false, true, true, true, true, true, true}}
		for _, l := range i.Levels {
			var d settings.LSOLevel
			for _, x := range i.LSO.Levels {
				if x.Level == l.Level {
					d = x
				}
			}
			t.Rows = append(t.Rows, []string{l.Level, inum(l.Seen), inum(l.AbortedSeen), inum(l.CommittedSeen), f2(d.MaxDelaySeconds), f2(d.MedianDelaySeconds), inum(d.Held)})
		}
		p.Blocks = append(p.Blocks, Block{Title: "isolation.level", Table: t}, Block{List: true, Text: settings.IsolationSentences(r)})
		if i.Failure != "" {
			p.Blocks = append(p.Blocks, Block{Text: []string{"Did not finish: " + i.Failure}})
		}
		if len(i.LSO.Samples) > 0 {
			p.Blocks = append(p.Blocks, chartBlock("Delivery delay while a transaction is open", func(path string) error { return settings.LSOChart(path, r) }))
		}
		p.Blocks = append(p.Blocks, Block{Text: repeatText(i.Repeat)})
	}
	if len(r.Reset) > 0 {
		t := &Table{Head: []string{"case", "policy", "existing", "committed", "deleted past the commit", "unread", "read", "skipped", "new read", "error"},
			Num: []bool{false, false, true, true, true, true, true, true, true, false}}
		for _, c := range r.Reset {
			t.Rows = append(t.Rows, []string{c.Case, c.Policy, inum(c.Existing), inum(c.Committed), inum(c.DeletedUnread), inum(c.Unread), inum(c.SeenOld), inum(c.Skipped), inum(c.NewSeen), c.Error})
		}
		var labels []string
		var read, skipped []float64
		for _, c := range r.Reset {
			// Short labels: six of them share the chart's width.
			labels = append(labels, strings.SplitN(c.Case, "-", 2)[0]+" "+c.Policy)
			read, skipped = append(read, float64(c.SeenOld)), append(skipped, float64(c.Skipped))
		}
		p.Blocks = append(p.Blocks, Block{Title: "auto.offset.reset", Table: t},
			plotBlock("Unread records read and skipped, per case and policy", groupedBars(fmt.Sprintf("auto.offset.reset (seed %d)", r.Seed), "records", labels,
				series{"read", read}, series{"skipped", skipped})),
			Block{List: true, Text: settings.ResetSentences(r)}, Block{Text: repeatText(r.Reset[0].Repeat)})
	}
	return p
}
