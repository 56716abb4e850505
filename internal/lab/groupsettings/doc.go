package groupsettings

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kpar/kpar/internal/doc"
)

// Every sentence here is computed from a Result's numbers: change the data
// and the sentence changes with it. The Line methods are the command's
// progress lines; the lessons are the document's findings.

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
		Details: []doc.Block{{Text: []string{r.StartLine()}}}}
	var exps []experiment
	if len(r.AutoCommit) > 0 {
		exps = append(exps, autoCommitDoc(r))
	}
	if len(r.PollInterval) > 0 {
		exps = append(exps, pollDoc(r))
	}
	if r.Isolation != nil {
		exps = append(exps, isolationDoc(r))
	}
	if len(r.Reset) > 0 {
		exps = append(exps, resetDoc(r))
	}
	charts := 0
	for _, e := range exps {
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

// said is line s of a cell with its failure, if any, after word.
func (o Outcome) said(s, word string) string {
	if o.Failure != "" {
		s += "; " + word + ": " + o.Failure
	}
	return s
}

// notes are how an experiment was measured, then what repeats exactly
// from the seed and how to rerun.
func notes(how string, rp Repeat) []string {
	s := "Exact from the seed: " + strings.Join(rp.Exact, ", ") + "."
	if rp.Why != "" {
		s += " The rest moves between reruns: " + rp.Why
	}
	out := []string{s, "Rerun: `" + rp.Rerun + "`"}
	if how != "" {
		out = append([]string{how}, out...)
	}
	return out
}

// Line is the cell's one-line summary in the text output.
func (c ResetCell) Line() string {
	s := fmt.Sprintf("reset %s/%s: %s", c.Case, c.Policy, resetPhrase(c))
	if c.NewSeen > 0 {
		s += fmt.Sprintf("; then read %d written after it started", c.NewSeen)
	}
	return s
}

func resetPhrase(c ResetCell) string {
	s := fmt.Sprintf("read %s and skipped %s of the %s unread records", doc.Int(c.SeenOld), doc.Int(c.Skipped), doc.Int(c.Unread))
	if c.DeletedUnread > 0 && c.Skipped == c.DeletedUnread {
		s += " (only the deleted ones)"
	}
	if c.Error != "" {
		s += fmt.Sprintf("; polling failed with %q", c.Error)
	}
	if c.Error != "" && c.SeenOld == 0 {
		s = fmt.Sprintf("read none of the %s unread records: polling failed with %q", doc.Int(c.Unread), c.Error)
	}
	return c.said(s, "did not finish")
}

func resetDoc(r Result) experiment {
	t := &doc.Table{Head: []string{"case", "policy", "existing", "committed", "deleted past the commit", "unread", "read", "skipped", "new read", "error", "note"},
		Num: []bool{false, false, true, true, true, true, true, true, true, false, false}}
	ch := &doc.Chart{Name: "reset-read", Title: fmt.Sprintf("auto.offset.reset: unread records read and skipped (seed %d)", r.Seed), Kind: doc.Bars,
		X: doc.Axis{Label: "case and policy"}, Y: doc.Axis{Label: "unread records"}}
	read, skipped := doc.Series{Name: "read"}, doc.Series{Name: "skipped"}
	heads, parts := map[string]string{}, map[string][]string{}
	for _, c := range r.Reset {
		t.Rows = append(t.Rows, []string{c.Case, c.Policy, doc.Int(c.Existing), doc.Int(c.Committed), doc.Int(c.DeletedUnread), doc.Int(c.Unread),
			doc.Int(c.SeenOld), doc.Int(c.Skipped), doc.Int(c.NewSeen), c.Error, c.Failure})
		// Short labels: six of them share the chart's width.
		ch.X.Categories = append(ch.X.Categories, strings.SplitN(c.Case, "-", 2)[0]+" "+c.Policy)
		read.Y, skipped.Y = append(read.Y, float64(c.SeenOld)), append(skipped.Y, float64(c.Skipped))
		if _, ok := heads[c.Case]; !ok {
			heads[c.Case] = fmt.Sprintf("A new group on a topic with %s records", doc.Int(c.Existing))
			if c.Case == CaseRetention {
				heads[c.Case] = fmt.Sprintf("A group that had read %s of %s records, whose committed offsets then fell below the log start (%s of its %s unread records deleted past them)", doc.Int(c.Committed), doc.Int(c.Existing), doc.Int(c.DeletedUnread), doc.Int(c.Unread))
			}
		}
		parts[c.Case] = append(parts[c.Case], c.Policy+" "+resetPhrase(c))
	}
	ch.Series = []doc.Series{read, skipped}
	var lessons []string // one per case
	for _, cs := range []string{CaseNewGroup, CaseRetention} {
		if len(parts[cs]) > 0 {
			lessons = append(lessons, heads[cs]+": "+strings.Join(parts[cs], "; ")+".")
		}
	}
	return experiment{title: "auto.offset.reset", table: t, lessons: lessons, notes: notes("", r.Reset[0].Repeat), chart: ch}
}

// Line is the cell's one-line summary in the text output.
func (c AutoCommitCell) Line() string {
	s := fmt.Sprintf("autocommit %s: SIGKILL at %d processed, lost %d, duplicated %d", c.Mode, c.CrashAt, c.Check.Lost, c.Check.Duplicated)
	return c.said(s, "FAILED")
}

var modeWords = map[string]string{
	ModeAutoSync: "auto-commit with records processed in the poll loop",
	ModeAutoPool: "auto-commit with records handed to a worker pool",
	ModeManual:   "auto-commit off, committing each poll after processing it",
}

func autoCommitDoc(r Result) experiment {
	t := &doc.Table{Head: []string{"mode", "SIGKILL at", "lost", "duplicated", "records processed twice", "auto-commit interval", "note"},
		Num: []bool{false, true, true, true, true, true, false}}
	first := r.AutoCommit[0]
	ch := &doc.Chart{Name: "autocommit-loss", Title: fmt.Sprintf("Lost and duplicated after a SIGKILL at %s processed records (seed %d)",
		doc.Int(first.CrashAt), r.Seed), Kind: doc.Bars, X: doc.Axis{Label: "commit mode"}, Y: doc.Axis{Label: "records"}}
	lost, dup := doc.Series{Name: "lost"}, doc.Series{Name: "duplicated"}
	var parts []string
	lostBy := map[string]int{}
	for _, c := range r.AutoCommit {
		iv := "-"
		if c.AutoCommitIntervalSeconds > 0 {
			iv = fmt.Sprintf("%.1f s", c.AutoCommitIntervalSeconds)
		}
		t.Rows = append(t.Rows, []string{c.Mode, doc.Int(c.CrashAt), doc.Int(c.Check.Lost), doc.Int(c.Check.Duplicated),
			doc.Int(c.Check.DuplicatedRecords), iv, c.Failure})
		ch.X.Categories = append(ch.X.Categories, c.Mode)
		lost.Y, dup.Y = append(lost.Y, float64(c.Check.Lost)), append(dup.Y, float64(c.Check.Duplicated))
		p := fmt.Sprintf("%s lost %s and processed %s twice", modeWords[c.Mode], doc.Int(c.Check.Lost), doc.Int(c.Check.Duplicated))
		if c.Failure != "" {
			p += " (did not finish: " + c.Failure + ")"
		}
		parts = append(parts, p)
		lostBy[c.Mode] = c.Check.Lost
	}
	ch.Series = []doc.Series{lost, dup}
	lessons := []string{fmt.Sprintf("After a SIGKILL at %s processed records and a restart: %s.", doc.Int(first.CrashAt), strings.Join(parts, "; "))}
	sync, okSync := lostBy[ModeAutoSync]
	if pool, okPool := lostBy[ModeAutoPool]; okSync && okPool && sync == 0 && pool > 0 {
		lessons = append(lessons, fmt.Sprintf("Processing in the poll loop lost nothing and handing records to a pool lost %s: kgo's auto-commit commits "+
			"what polls before the most recent one returned (its OnPartitionsRevoked documentation), which a poll loop has finished "+
			"and a pool, whose loop polls ahead of processing, may not have.", doc.Int(pool)))
	}
	return experiment{title: "enable.auto.commit with a SIGKILL mid-stream", table: t, lessons: lessons, chart: ch,
		notes: notes("A record is processed once its processed-log entry is acknowledged (acks=all); the member SIGKILLs "+
			"itself the instant its entry number `SIGKILL at` is, and a restarted member (same static instance id) resumes from the "+
			"group's commits until the group committed the whole input.", first.Repeat)}
}

// Line is the experiment's one-line summary in the text output.
func (r IsolationResult) Line() string {
	s := fmt.Sprintf("isolation: %d of %d transactions aborted (%d records)", r.Aborted, r.Transactions, r.AbortedRecords)
	for _, l := range r.Levels {
		s += fmt.Sprintf("; %s saw %d aborted", l.Level, l.AbortedSeen)
	}
	for _, l := range r.LSO.Levels {
		s += fmt.Sprintf("; %s max delay %s while a transaction was open", l.Level, seconds(l.MaxDelaySeconds))
	}
	return r.said(s, "FAILED")
}

func isolationDoc(r Result) experiment {
	i := r.Isolation
	t := &doc.Table{Head: []string{"level", "received", "aborted received", "committed received", "max delay, txn open (s)",
		"median delay (s)", "max records behind", "held until the txn ended"}, Num: []bool{false, true, true, true, true, true, true, true}}
	var lessons, aborted, committed []string
	allCommitted := true
	for _, l := range i.Levels {
		var d LSOLevel
		for _, x := range i.LSO.Levels {
			if x.Level == l.Level {
				d = x
			}
		}
		t.Rows = append(t.Rows, []string{l.Level, doc.Int(l.Seen), doc.Int(l.AbortedSeen), doc.Int(l.CommittedSeen),
			doc.F2(d.MaxDelaySeconds), doc.F2(d.MedianDelaySeconds), doc.Int(d.MaxLagRecords), doc.Int(d.Held)})
		aborted = append(aborted, fmt.Sprintf("%s received %s of the %s aborted records", l.Level, doc.Int(l.AbortedSeen), doc.Int(i.AbortedRecords)))
		committed = append(committed, fmt.Sprintf("; %s received %s of the %s committed records", l.Level, doc.Int(l.CommittedSeen), doc.Int(i.CommittedRecords)))
		allCommitted = allCommitted && l.CommittedSeen == i.CommittedRecords
	}
	if len(i.Levels) > 0 {
		s := fmt.Sprintf("Of %s transactions of %s records, %s aborted: %s", doc.Int(i.Transactions), doc.Int(i.RecordsPerTransaction), doc.Int(i.Aborted), strings.Join(aborted, ", "))
		if allCommitted {
			committed = []string{fmt.Sprintf("; both received all %s committed records", doc.Int(i.CommittedRecords))}
		}
		lessons = append(lessons, s+strings.Join(committed, "")+".")
	}
	var delays []string
	for _, l := range i.LSO.Levels {
		p := fmt.Sprintf("%s delivered them up to %s late (median %s; at most %s acknowledged records not yet delivered; %s held until the transaction ended)", l.Level, seconds(l.MaxDelaySeconds), seconds(l.MedianDelaySeconds), doc.Int(l.MaxLagRecords), doc.Int(l.Held))
		if l.Missing > 0 {
			p += fmt.Sprintf(", %s never", doc.Int(l.Missing))
		}
		delays = append(delays, p)
	}
	if len(delays) > 0 {
		lessons = append(lessons, fmt.Sprintf("While one transaction stayed open %.1f s, another producer wrote %s committed records to the same partitions: %s.", i.LSO.HoldSeconds, doc.Int(i.LSO.Records), strings.Join(delays, "; ")))
	}
	if i.Failure != "" {
		lessons = append(lessons, "Did not finish: "+i.Failure)
	}
	return experiment{title: "isolation.level", table: t, lessons: lessons, chart: lsoChart(r),
		notes: notes("Delay is the consumer's poll time minus the other producer's acknowledgement; read_committed reads "+
			"only up to the last stable offset, which an open transaction holds at its first record.", i.Repeat)}
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

// Line is the cell's one-line summary in the text output.
func (c PollCell) Line() string {
	return "pollinterval " + c.Variant + ": " + pollPhrase(c)
}

func pollPhrase(c PollCell) string {
	s := "the slow member stayed in the group"
	if c.Removed {
		s = fmt.Sprintf("the slow member was removed %.1f s after a member joined", c.RemovedAfterSeconds)
	}
	if c.SlowCommitError != "" {
		s += fmt.Sprintf("; its commit after the batch failed with %q", c.SlowCommitError)
	} else {
		s += "; its commit after the batch landed"
	}
	s += fmt.Sprintf("; the others redid %s of the batch's %s records (%s processed twice in all, %s lost)", doc.Int(c.SlowBatchRedone), doc.Int(c.SlowBatch), doc.Int(c.Duplicated), doc.Int(c.Lost))
	return c.said(s, "did not finish")
}

var variantWords = map[string]string{
	VariantBlock:   "Holding the rebalance while it processes (BlockRebalanceOnPoll, as a Java poll loop does)",
	VariantDefault: "With kgo's default (it rejoins from its own goroutine while the handler runs)",
}

func pollDoc(r Result) experiment {
	t := &doc.Table{Head: []string{"variant", "rebalance timeout (s)", "stall (s)", "stall after", "slow batch", "removed", "removed after (s)",
		"slow commit", "redone from the batch", "duplicated", "lost", "note"},
		Num: []bool{false, true, true, true, true, false, true, false, true, true, true, false}}
	var lessons []string
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
		lessons = append(lessons, fmt.Sprintf("%s, a member whose batch took %.1f s against a %.1f s rebalance timeout: %s.", variantWords[c.Variant], c.StallSeconds, c.RebalanceTimeoutSeconds, pollPhrase(c)))
	}
	return experiment{title: "max.poll.interval.ms (kgo's RebalanceTimeout)", table: t, lessons: lessons,
		notes: notes("The classic protocol applies the rebalance timeout only once a rebalance starts (here: a third member "+
			"joins as the slow batch stalls); kgo sends it where Java sends max.poll.interval.ms.", r.PollInterval[0].Repeat)}
}

// seconds renders a delay: milliseconds below a second, where the
// interesting ones are not.
func seconds(v float64) string {
	if v < 1 {
		return fmt.Sprintf("%.0f ms", v*1000)
	}
	return fmt.Sprintf("%.2f s", v)
}
