package settings

import (
	"fmt"
	"strings"
)

// Every sentence here is computed from a Result's numbers: change the data
// and the sentence changes with it.

// Line is the cell's one-line summary in the text output.
func (c ResetCell) Line() string {
	s := fmt.Sprintf("reset %s/%s: %s", c.Case, c.Policy, resetPhrase(c))
	if c.NewSeen > 0 {
		s += fmt.Sprintf("; then read %d written after it started", c.NewSeen)
	}
	return s
}

func resetPhrase(c ResetCell) string {
	var s string
	switch {
	case c.Error != "" && c.SeenOld == 0:
		s = fmt.Sprintf("read none of the %d unread records: polling failed with %q", c.Unread, c.Error)
	default:
		s = fmt.Sprintf("read %d and skipped %d of the %d unread records", c.SeenOld, c.Skipped, c.Unread)
		if c.DeletedUnread > 0 && c.Skipped == c.DeletedUnread {
			s += " (only the deleted ones)"
		}
		if c.Error != "" {
			s += fmt.Sprintf("; polling failed with %q", c.Error)
		}
	}
	if c.Failure != "" {
		s += "; did not finish: " + c.Failure
	}
	return s
}

// ResetSentences are the reset experiment's lessons, one per case.
func ResetSentences(r Result) []string {
	var out []string
	for _, cs := range []string{CaseNewGroup, CaseRetention} {
		var parts []string
		var head string
		for _, c := range r.Reset {
			if c.Case != cs {
				continue
			}
			if head == "" {
				head = fmt.Sprintf("A new group on a topic with %d records", c.Existing)
				if cs == CaseRetention {
					head = fmt.Sprintf("A group that had read %d of %d records, whose committed offsets then fell below the log start (%d of its %d unread records deleted past them)",
						c.Committed, c.Existing, c.DeletedUnread, c.Unread)
				}
			}
			parts = append(parts, c.Policy+" "+resetPhrase(c))
		}
		if len(parts) > 0 {
			out = append(out, head+": "+strings.Join(parts, "; ")+".")
		}
	}
	return out
}

// Line is the cell's one-line summary in the text output.
func (c AutoCommitCell) Line() string {
	s := fmt.Sprintf("autocommit %s: SIGKILL at %d processed, lost %d, duplicated %d", c.Mode, c.CrashAt, c.Check.Lost, c.Check.Duplicated)
	if c.Failure != "" {
		s += "; FAILED: " + c.Failure
	}
	return s
}

var modeWords = map[string]string{
	ModeAutoSync: "auto-commit with records processed in the poll loop",
	ModeAutoPool: "auto-commit with records handed to a worker pool",
	ModeManual:   "auto-commit off, committing each poll after processing it",
}

// AutoCommitSentences are the autocommit experiment's lessons.
func AutoCommitSentences(r Result) []string {
	if len(r.AutoCommit) == 0 {
		return nil
	}
	var parts []string
	lost := map[string]int{}
	for _, c := range r.AutoCommit {
		p := fmt.Sprintf("%s lost %d and processed %d twice", modeWords[c.Mode], c.Check.Lost, c.Check.Duplicated)
		if c.Failure != "" {
			p += " (did not finish: " + c.Failure + ")"
		}
		parts = append(parts, p)
		lost[c.Mode] = c.Check.Lost
	}
	out := []string{fmt.Sprintf("After a SIGKILL at %d processed records and a restart: %s.", r.AutoCommit[0].CrashAt, strings.Join(parts, "; "))}
	sync, okSync := lost[ModeAutoSync]
	pool, okPool := lost[ModeAutoPool]
	if okSync && okPool && sync == 0 && pool > 0 {
		out = append(out, fmt.Sprintf("Processing in the poll loop lost nothing and handing records to a pool lost %d: kgo's auto-commit commits "+
			"what polls before the most recent one returned (its OnPartitionsRevoked documentation), which a poll loop has finished "+
			"and a pool, whose loop polls ahead of processing, may not have.", pool))
	}
	return out
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
	if r.Failure != "" {
		s += "; FAILED: " + r.Failure
	}
	return s
}

// IsolationSentences are the isolation experiment's lessons.
func IsolationSentences(r Result) []string {
	i := r.Isolation
	if i == nil {
		return nil
	}
	var out []string
	if len(i.Levels) > 0 {
		var parts []string
		allCommitted := true
		for _, l := range i.Levels {
			parts = append(parts, fmt.Sprintf("%s received %d of the %d aborted records", l.Level, l.AbortedSeen, i.AbortedRecords))
			allCommitted = allCommitted && l.CommittedSeen == i.CommittedRecords
		}
		s := fmt.Sprintf("Of %d transactions of %d records, %d aborted: %s", i.Transactions, i.RecordsPerTransaction, i.Aborted, strings.Join(parts, ", "))
		if allCommitted {
			s += fmt.Sprintf("; both received all %d committed records.", i.CommittedRecords)
		} else {
			for _, l := range i.Levels {
				s += fmt.Sprintf("; %s received %d of the %d committed records", l.Level, l.CommittedSeen, i.CommittedRecords)
			}
			s += "."
		}
		out = append(out, s)
	}
	if len(i.LSO.Levels) > 0 {
		var parts []string
		for _, l := range i.LSO.Levels {
			p := fmt.Sprintf("%s delivered them up to %s late (median %s; at most %d acknowledged records not yet delivered; %d held until the transaction ended)",
				l.Level, seconds(l.MaxDelaySeconds), seconds(l.MedianDelaySeconds), l.MaxLagRecords, l.Held)
			if l.Missing > 0 {
				p += fmt.Sprintf(", %d never", l.Missing)
			}
			parts = append(parts, p)
		}
		out = append(out, fmt.Sprintf("While one transaction stayed open %.1f s, another producer wrote %d committed records to the same partitions: %s.",
			i.LSO.HoldSeconds, i.LSO.Records, strings.Join(parts, "; ")))
	}
	return out
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
	s += fmt.Sprintf("; the others redid %d of the batch's %d records (%d processed twice in all, %d lost)",
		c.SlowBatchRedone, c.SlowBatch, c.Duplicated, c.Lost)
	if c.Failure != "" {
		s += "; did not finish: " + c.Failure
	}
	return s
}

var variantWords = map[string]string{
	VariantBlock:   "Holding the rebalance while it processes (BlockRebalanceOnPoll, as a Java poll loop does)",
	VariantDefault: "With kgo's default (it rejoins from its own goroutine while the handler runs)",
}

// PollIntervalSentences are the pollinterval experiment's lessons.
func PollIntervalSentences(r Result) []string {
	var out []string
	for _, c := range r.PollInterval {
		out = append(out, fmt.Sprintf("%s, a member whose batch took %.1f s against a %.1f s rebalance timeout: %s.",
			variantWords[c.Variant], c.StallSeconds, c.RebalanceTimeoutSeconds, pollPhrase(c)))
	}
	return out
}

// Sentences are every lesson of r, experiment by experiment.
func Sentences(r Result) []string {
	var out []string
	for _, f := range []func(Result) []string{ResetSentences, AutoCommitSentences, IsolationSentences, PollIntervalSentences} {
		out = append(out, f(r)...)
	}
	return out
}

// seconds renders a delay: milliseconds below a second, where the
// interesting ones are not.
func seconds(v float64) string {
	if v < 1 {
		return fmt.Sprintf("%.0f ms", v*1000)
	}
	return fmt.Sprintf("%.2f s", v)
}
