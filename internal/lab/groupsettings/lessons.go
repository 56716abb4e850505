package groupsettings

import (
	"fmt"
	"strings"

	"github.com/kpar/kpar/internal/doc"
)

// Every sentence here is computed from a Result's numbers: change the data
// and the sentence changes with it. The Line methods are the progress lines
// of the command; the lessons are findings of the document (doc.go).

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
		s = fmt.Sprintf("read none of the %s unread records: polling failed with %q", doc.Int(c.Unread), c.Error)
	default:
		s = fmt.Sprintf("read %s and skipped %s of the %s unread records", doc.Int(c.SeenOld), doc.Int(c.Skipped), doc.Int(c.Unread))
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

// resetLessons are the reset experiment's lessons, one per case.
func resetLessons(r Result) []string {
	var out []string
	for _, cs := range []string{CaseNewGroup, CaseRetention} {
		var parts []string
		var head string
		for _, c := range r.Reset {
			if c.Case != cs {
				continue
			}
			if head == "" {
				head = fmt.Sprintf("A new group on a topic with %s records", doc.Int(c.Existing))
				if cs == CaseRetention {
					head = fmt.Sprintf("A group that had read %s of %s records, whose committed offsets then fell below the log start (%s of its %s unread records deleted past them)", doc.Int(c.Committed), doc.Int(c.Existing), doc.Int(c.DeletedUnread), doc.Int(c.Unread))
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

// autoCommitLessons are the autocommit experiment's lessons.
func autoCommitLessons(r Result) []string {
	if len(r.AutoCommit) == 0 {
		return nil
	}
	var parts []string
	lost := map[string]int{}
	for _, c := range r.AutoCommit {
		p := fmt.Sprintf("%s lost %s and processed %s twice", modeWords[c.Mode], doc.Int(c.Check.Lost), doc.Int(c.Check.Duplicated))
		if c.Failure != "" {
			p += " (did not finish: " + c.Failure + ")"
		}
		parts = append(parts, p)
		lost[c.Mode] = c.Check.Lost
	}
	out := []string{fmt.Sprintf("After a SIGKILL at %s processed records and a restart: %s.", doc.Int(r.AutoCommit[0].CrashAt), strings.Join(parts, "; "))}
	sync, okSync := lost[ModeAutoSync]
	pool, okPool := lost[ModeAutoPool]
	if okSync && okPool && sync == 0 && pool > 0 {
		out = append(out, fmt.Sprintf("Processing in the poll loop lost nothing and handing records to a pool lost %s: kgo's auto-commit commits "+
			"what polls before the most recent one returned (its OnPartitionsRevoked documentation), which a poll loop has finished "+
			"and a pool, whose loop polls ahead of processing, may not have.", doc.Int(pool)))
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

// isolationLessons are the isolation experiment's lessons.
func isolationLessons(r Result) []string {
	i := r.Isolation
	if i == nil {
		return nil
	}
	var out []string
	if len(i.Levels) > 0 {
		var parts []string
		allCommitted := true
		for _, l := range i.Levels {
			parts = append(parts, fmt.Sprintf("%s received %s of the %s aborted records", l.Level, doc.Int(l.AbortedSeen), doc.Int(i.AbortedRecords)))
			allCommitted = allCommitted && l.CommittedSeen == i.CommittedRecords
		}
		s := fmt.Sprintf("Of %s transactions of %s records, %s aborted: %s", doc.Int(i.Transactions), doc.Int(i.RecordsPerTransaction), doc.Int(i.Aborted), strings.Join(parts, ", "))
		if allCommitted {
			s += fmt.Sprintf("; both received all %s committed records.", doc.Int(i.CommittedRecords))
		} else {
			for _, l := range i.Levels {
				s += fmt.Sprintf("; %s received %s of the %s committed records", l.Level, doc.Int(l.CommittedSeen), doc.Int(i.CommittedRecords))
			}
			s += "."
		}
		out = append(out, s)
	}
	if len(i.LSO.Levels) > 0 {
		var parts []string
		for _, l := range i.LSO.Levels {
			p := fmt.Sprintf("%s delivered them up to %s late (median %s; at most %s acknowledged records not yet delivered; %s held until the transaction ended)", l.Level, seconds(l.MaxDelaySeconds), seconds(l.MedianDelaySeconds), doc.Int(l.MaxLagRecords), doc.Int(l.Held))
			if l.Missing > 0 {
				p += fmt.Sprintf(", %s never", doc.Int(l.Missing))
			}
			parts = append(parts, p)
		}
		out = append(out, fmt.Sprintf("While one transaction stayed open %.1f s, another producer wrote %s committed records to the same partitions: %s.", i.LSO.HoldSeconds, doc.Int(i.LSO.Records), strings.Join(parts, "; ")))
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
	s += fmt.Sprintf("; the others redid %s of the batch's %s records (%s processed twice in all, %s lost)", doc.Int(c.SlowBatchRedone), doc.Int(c.SlowBatch), doc.Int(c.Duplicated), doc.Int(c.Lost))
	if c.Failure != "" {
		s += "; did not finish: " + c.Failure
	}
	return s
}

var variantWords = map[string]string{
	VariantBlock:   "Holding the rebalance while it processes (BlockRebalanceOnPoll, as a Java poll loop does)",
	VariantDefault: "With kgo's default (it rejoins from its own goroutine while the handler runs)",
}

// pollLessons are the pollinterval experiment's lessons.
func pollLessons(r Result) []string {
	var out []string
	for _, c := range r.PollInterval {
		out = append(out, fmt.Sprintf("%s, a member whose batch took %.1f s against a %.1f s rebalance timeout: %s.", variantWords[c.Variant], c.StallSeconds, c.RebalanceTimeoutSeconds, pollPhrase(c)))
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
