package groupsettings

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kpar/kpar/internal/doc"
	"github.com/kpar/kpar/internal/render"
	"github.com/kpar/kpar/internal/results"
)

// Views are lab-group-settings.md and the charts of the experiments run,
// each as SVG and PNG.
func Views(r Result) []results.View { return render.Views(Doc(r)) }

// experiment is what the document says about one experiment that ran.
type experiment struct {
	title   string
	table   *doc.Table
	lessons []string // the first one answers
	notes   []string // how it was measured, what repeats, the rerun
	chart   *doc.Chart
}

// Doc is the run's one document. Answer: each experiment's first lesson,
// losses first (autocommit, pollinterval, then isolation and reset); body:
// the setup and the first two charts; details: per experiment its table,
// the other lessons, how it was measured and what repeats.
func Doc(r Result) doc.Doc {
	setup := fmt.Sprintf("%s records per input topic, %s", doc.Int(r.Records), doc.Plural(r.Partitions, "partition", "partitions"))
	if len(r.Experiments) > 0 {
		setup += "; experiments: " + doc.Listing(r.Experiments)
	}
	d := doc.Doc{Name: "lab-group-settings", Title: "kpar lab group-settings", Command: r.Command, Body: []doc.Block{{Text: []string{setup + "."}}},
		Details: []doc.Block{{Text: []string{fmt.Sprintf("Started %s against %s, seed %d.", r.Started.Format("2006-01-02 15:04:05 MST"),
			strings.Join(r.Brokers, ","), r.Seed)}}}}
	charts := 0
	for _, e := range experiments(r) {
		if len(e.lessons) > 0 {
			d.Answer = append(d.Answer, doc.Finding{Text: e.lessons[0]})
		}
		d.Details = append(d.Details, doc.Block{Title: e.title, Table: e.table})
		if len(e.lessons) > 1 {
			var fs []doc.Finding
			for _, l := range e.lessons[1:] {
				fs = append(fs, doc.Finding{Text: l})
			}
			d.Details = append(d.Details, doc.Block{Findings: fs})
		}
		d.Details = append(d.Details, doc.Block{Text: e.notes})
		switch {
		case e.chart == nil:
		case charts < 2:
			d.Body = append(d.Body, doc.Block{Chart: e.chart})
			charts++
		default:
			d.Details = append(d.Details, doc.Block{Chart: e.chart})
		}
	}
	if len(d.Answer) == 0 {
		d.Answer = []doc.Finding{doc.Say("This run holds no experiment.")}
	}
	return d
}

// experiments are the experiments r holds, losses first.
func experiments(r Result) []experiment {
	var out []experiment
	if len(r.AutoCommit) > 0 {
		out = append(out, autoCommitDoc(r))
	}
	if len(r.PollInterval) > 0 {
		out = append(out, pollDoc(r))
	}
	if r.Isolation != nil {
		out = append(out, isolationDoc(r))
	}
	if len(r.Reset) > 0 {
		out = append(out, resetDoc(r))
	}
	return out
}

// repeatNotes say what repeats exactly from the seed and how to rerun.
func repeatNotes(rp Repeat) []string {
	s := "Exact from the seed: " + strings.Join(rp.Exact, ", ") + "."
	if rp.Why != "" {
		s += " The rest moves between reruns: " + rp.Why
	}
	return []string{s, "Rerun: `" + rp.Rerun + "`"}
}

func resetDoc(r Result) experiment {
	t := &doc.Table{Head: []string{"case", "policy", "existing", "committed", "deleted past the commit", "unread", "read", "skipped", "new read", "error", "note"},
		Num: []bool{false, false, true, true, true, true, true, true, true, false, false}}
	ch := &doc.Chart{Name: "reset-read", Title: fmt.Sprintf("auto.offset.reset: unread records read and skipped (seed %d)", r.Seed), Kind: doc.Bars,
		Y: doc.Axis{Label: "unread records"}}
	read, skipped := doc.Series{Name: "read"}, doc.Series{Name: "skipped"}
	for _, c := range r.Reset {
		t.Rows = append(t.Rows, []string{c.Case, c.Policy, doc.Int(c.Existing), doc.Int(c.Committed), doc.Int(c.DeletedUnread), doc.Int(c.Unread),
			doc.Int(c.SeenOld), doc.Int(c.Skipped), doc.Int(c.NewSeen), c.Error, c.Failure})
		// Short labels: six of them share the chart's width.
		ch.X.Categories = append(ch.X.Categories, strings.SplitN(c.Case, "-", 2)[0]+" "+c.Policy)
		read.Y, skipped.Y = append(read.Y, float64(c.SeenOld)), append(skipped.Y, float64(c.Skipped))
	}
	ch.X.Label, ch.Series = "case and policy", []doc.Series{read, skipped}
	return experiment{title: "auto.offset.reset", table: t, lessons: resetLessons(r), notes: repeatNotes(r.Reset[0].Repeat), chart: ch}
}

func autoCommitDoc(r Result) experiment {
	t := &doc.Table{Head: []string{"mode", "SIGKILL at", "lost", "duplicated", "records processed twice", "auto-commit interval", "note"},
		Num: []bool{false, true, true, true, true, true, false}}
	first := r.AutoCommit[0]
	ch := &doc.Chart{Name: "autocommit-loss", Title: fmt.Sprintf("Lost and duplicated after a SIGKILL at %s processed records (seed %d)",
		doc.Int(first.CrashAt), r.Seed), Kind: doc.Bars, X: doc.Axis{Label: "commit mode"}, Y: doc.Axis{Label: "records"}}
	lost, dup := doc.Series{Name: "lost"}, doc.Series{Name: "duplicated"}
	for _, c := range r.AutoCommit {
		iv := "-"
		if c.AutoCommitIntervalSeconds > 0 {
			iv = fmt.Sprintf("%.1f s", c.AutoCommitIntervalSeconds)
		}
		t.Rows = append(t.Rows, []string{c.Mode, doc.Int(c.CrashAt), doc.Int(c.Check.Lost), doc.Int(c.Check.Duplicated),
			doc.Int(c.Check.DuplicatedRecords), iv, c.Failure})
		ch.X.Categories = append(ch.X.Categories, c.Mode)
		lost.Y, dup.Y = append(lost.Y, float64(c.Check.Lost)), append(dup.Y, float64(c.Check.Duplicated))
	}
	ch.Series = []doc.Series{lost, dup}
	notes := append([]string{"A record is processed once its processed-log entry is acknowledged (acks=all); the member SIGKILLs " +
		"itself the instant its entry number `SIGKILL at` is, and a restarted member (same static instance id) resumes from the " +
		"group's commits until the group committed the whole input."}, repeatNotes(first.Repeat)...)
	return experiment{title: "enable.auto.commit with a SIGKILL mid-stream", table: t, lessons: autoCommitLessons(r), notes: notes, chart: ch}
}

func isolationDoc(r Result) experiment {
	i := r.Isolation
	t := &doc.Table{Head: []string{"level", "received", "aborted received", "committed received", "max delay, txn open (s)",
		"median delay (s)", "max records behind", "held until the txn ended"}, Num: []bool{false, true, true, true, true, true, true, true}}
	for _, l := range i.Levels {
		var d LSOLevel
		for _, x := range i.LSO.Levels {
			if x.Level == l.Level {
				d = x
			}
		}
		t.Rows = append(t.Rows, []string{l.Level, doc.Int(l.Seen), doc.Int(l.AbortedSeen), doc.Int(l.CommittedSeen),
			doc.F2(d.MaxDelaySeconds), doc.F2(d.MedianDelaySeconds), doc.Int(d.MaxLagRecords), doc.Int(d.Held)})
	}
	lessons := isolationLessons(r)
	if i.Failure != "" {
		lessons = append(lessons, "Did not finish: "+i.Failure)
	}
	notes := append([]string{"Delay is the consumer's poll time minus the other producer's acknowledgement; read_committed reads " +
		"only up to the last stable offset, which an open transaction holds at its first record."}, repeatNotes(i.Repeat)...)
	return experiment{title: "isolation.level", table: t, lessons: lessons, notes: notes, chart: lsoChart(r)}
}

// lsoChart is each level's delay per record against when it was
// acknowledged, the transaction's end marked: read_committed's delays fall
// along a slope that ends when the transaction does. Nil without samples.
func lsoChart(r Result) *doc.Chart {
	i := r.Isolation
	if len(i.LSO.Samples) == 0 {
		return nil
	}
	ch := &doc.Chart{Name: "lso-delay", Title: fmt.Sprintf("Delivery delay while a transaction is open (seed %d)", r.Seed),
		X: doc.Axis{Label: "acknowledged after the transaction began", Unit: "s"}, Y: doc.Axis{Label: "delivered after", Unit: "s"},
		Marks: []doc.Mark{{X: i.LSO.HoldSeconds, Label: "transaction ends"}}}
	samples := append([]LSOSample(nil), i.LSO.Samples...)
	sort.SliceStable(samples, func(a, b int) bool { return samples[a].AckedSeconds < samples[b].AckedSeconds })
	for _, lvl := range levels {
		s := doc.Series{Name: lvl}
		for _, x := range samples {
			if x.Level == lvl {
				s.X, s.Y = append(s.X, x.AckedSeconds), append(s.Y, x.DelaySeconds)
			}
		}
		if len(s.X) > 0 {
			ch.Series = append(ch.Series, s)
		}
	}
	return ch
}

func pollDoc(r Result) experiment {
	t := &doc.Table{Head: []string{"variant", "rebalance timeout (s)", "stall (s)", "stall after", "slow batch", "removed", "removed after (s)",
		"slow commit", "redone from the batch", "duplicated", "lost", "note"},
		Num: []bool{false, true, true, true, true, false, true, false, true, true, true, false}}
	for _, c := range r.PollInterval {
		commit, removedAfter := "landed", "-"
		if c.SlowCommitError != "" {
			commit = "failed: " + c.SlowCommitError
		}
		if c.Removed {
			removedAfter = doc.F1(c.RemovedAfterSeconds)
		}
		t.Rows = append(t.Rows, []string{c.Variant, doc.F1(c.RebalanceTimeoutSeconds), doc.F1(c.StallSeconds), doc.Int(c.StallAfter),
			doc.Int(c.SlowBatch), fmt.Sprint(c.Removed), removedAfter, commit, doc.Int(c.SlowBatchRedone), doc.Int(c.Duplicated), doc.Int(c.Lost), c.Failure})
	}
	notes := append([]string{"The classic protocol applies the rebalance timeout only once a rebalance starts (here: a third member " +
		"joins as the slow batch stalls); kgo sends it where Java sends max.poll.interval.ms."}, repeatNotes(r.PollInterval[0].Repeat)...)
	return experiment{title: "max.poll.interval.ms (kgo's RebalanceTimeout)", table: t, lessons: pollLessons(r), notes: notes}
}
