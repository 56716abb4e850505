package consumer

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kpar/kpar/internal/doc"
	"github.com/kpar/kpar/internal/lab/checker"
	"github.com/kpar/kpar/internal/lab/strategy"
	"github.com/kpar/kpar/internal/lab/worker"
	"github.com/kpar/kpar/parallel/sharegroup"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Share is what a cell of a share-group strategy counts beyond the checker.
type Share struct {
	// The group's settings as the broker described them after set-up.
	LockDurationMs   int `json:"lock_duration_ms"`
	DeliveryLimit    int `json:"delivery_limit"`
	SessionTimeoutMs int `json:"session_timeout_ms"`

	// FailedDeliveries: handler attempts that failed on a delivered record
	// (worker.EventFailed), through the cell's stop.
	FailedDeliveries int `json:"failed_deliveries"`
	// Archived: records without entry or dead letter that a strategy
	// without a dead-letter topic left to the broker (rejected, or failing
	// the last allowed delivery). Part of check.lost, not of the
	// document's lost column.
	Archived         int `json:"archived"`
	ArchivedRejected int `json:"archived_rejected"`
	ArchivedAtLimit  int `json:"archived_at_limit"`
	// Redelivered: distinct records with a processed-log entry written on a
	// delivery after the first (a release, a dead member, a lock timeout).
	Redelivered int `json:"redelivered"`
	// AfterKills: per SIGKILL, in order, what came back after it.
	AfterKills []KillRedelivery `json:"after_kills,omitempty"`
	// StallTimeoutSeconds is the stall timeout the cell ran with (shareStall).
	StallTimeoutSeconds float64 `json:"stall_timeout_seconds"`
}

// KillRedelivery is what came back after one SIGKILL: distinct records with
// an entry on a delivery after the first, written after the kill and before
// the next; the first and the last of them, in seconds after the kill (as
// the lab's 50 ms poll saw the process gone, so short by up to that).
type KillRedelivery struct {
	Records      int     `json:"records"`
	FirstSeconds float64 `json:"first_seconds"`
	LastSeconds  float64 `json:"last_seconds"`
}

// setUpShareGroup sets the group up (worker.SetUpShareGroup) and records
// the settings the broker reports.
func setUpShareGroup(ctx context.Context, cl *kgo.Client, group string) (Share, error) {
	cs, err := worker.SetUpShareGroup(ctx, cl, group)
	if err != nil {
		return Share{}, err
	}
	num := func(name string, def int) int {
		if n, err := strconv.Atoi(cs[name]); err == nil && n > 0 {
			return n
		}
		return def
	}
	// Defaults as the broker's, for a broker that does not describe them.
	return Share{
		LockDurationMs:   num(sharegroup.RecordLockDuration, 30000),
		DeliveryLimit:    num(sharegroup.DeliveryCountLimit, 5),
		SessionTimeoutMs: num(sharegroup.SessionTimeout, 45000),
	}, nil
}

// shareStall is the stall timeout of a share cell: a SIGKILLed member keeps
// its partitions until its session times out and its records until their
// lock expires, and nothing moves until then.
func shareStall(s Share, stall time.Duration, kills bool) time.Duration {
	if !kills {
		return stall
	}
	wait := time.Duration(s.SessionTimeoutMs+s.LockDurationMs)*time.Millisecond + 15*time.Second
	return max(stall, wait)
}

// failedDelivery is one worker.EventFailed line.
type failedDelivery struct {
	delivery  int
	permanent bool
}

// countShare fills s from the log and the workers' failure lines.
func countShare(s *Share, archives bool, log []checker.Processed, failures map[int64][]failedDelivery, kills []time.Time) {
	handled, redelivered := map[int64]bool{}, map[int64]bool{}
	for _, p := range log {
		handled[p.Seq] = true // processed or dead-lettered
		if p.Delivery > 1 {
			redelivered[p.Seq] = true
		}
	}
	s.Redelivered = len(redelivered)
	s.FailedDeliveries, s.ArchivedRejected, s.ArchivedAtLimit = 0, 0, 0
	for seq, fs := range failures {
		s.FailedDeliveries += len(fs)
		if !archives || handled[seq] {
			continue
		}
		switch {
		case slices.ContainsFunc(fs, func(f failedDelivery) bool { return f.permanent }):
			s.ArchivedRejected++
		case slices.ContainsFunc(fs, func(f failedDelivery) bool { return f.delivery >= s.DeliveryLimit }):
			s.ArchivedAtLimit++
		}
	}
	s.Archived = s.ArchivedRejected + s.ArchivedAtLimit
	s.AfterKills = nil
	for i, k := range kills {
		next := time.Time{}
		if i+1 < len(kills) {
			next = kills[i+1]
		}
		kr := KillRedelivery{}
		seen := map[int64]bool{}
		for _, p := range log {
			if p.Delivery <= 1 || !p.At.After(k) || (!next.IsZero() && p.At.After(next)) || seen[p.Seq] {
				continue
			}
			seen[p.Seq] = true
			d := p.At.Sub(k).Seconds()
			if kr.Records == 0 || d < kr.FirstSeconds {
				kr.FirstSeconds = d
			}
			kr.LastSeconds = max(kr.LastSeconds, d)
			kr.Records++
		}
		s.AfterKills = append(s.AfterKills, kr)
	}
}

// LostNotArchived is check.lost without what the broker archived on
// purpose: the lost column of the document.
func (c Cell) LostNotArchived() int {
	if c.Share == nil {
		return c.Check.Lost
	}
	return c.Check.Lost - c.Share.Archived
}

func secondsList(ks []KillRedelivery) string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = "none"
		if k.Records > 0 {
			out[i] = fmt.Sprintf("%d in %.1f-%.1fs", k.Records, k.FirstSeconds, k.LastSeconds)
		}
	}
	return strings.Join(out, ", ")
}

// shareBlocks are the document's share-group section: the share counts per
// cell and the findings shareFindings computes from them.
func shareBlocks(r Result) []doc.Block {
	t := &doc.Table{Head: []string{"strategy", "scenario", "archived (rejected / at limit)", "failed deliveries", "redelivered",
		"after each kill", "lock", "delivery limit", "session timeout"}, Num: []bool{false, false, true, true, true, false, true, true, true}}
	for _, c := range r.Cells {
		s := c.Share
		if s == nil {
			continue
		}
		kills := "-"
		if len(s.AfterKills) > 0 {
			kills = secondsList(s.AfterKills)
		}
		t.Rows = append(t.Rows, []string{c.Strategy, c.Scenario, fmt.Sprintf("%s (%d / %d)", c.Count("archived", s.Archived), s.ArchivedRejected, s.ArchivedAtLimit),
			doc.Int(s.FailedDeliveries), c.Count("redelivered", s.Redelivered), kills, fmt.Sprintf("%gs", float64(s.LockDurationMs)/1000),
			doc.Int(s.DeliveryLimit), fmt.Sprintf("%gs", float64(s.SessionTimeoutMs)/1000)})
	}
	if len(t.Rows) == 0 {
		return nil
	}
	out := []doc.Block{{Title: "Share groups (KIP-932)", Text: []string{"A share group has no dead-letter topic: a record rejected after a permanent " +
		"failure, or failing its last allowed delivery, is archived by the broker and is in no topic. Archived counts " +
		"those (the strategy `share` rejects permanent failures and releases the rest); kpar-share dead-letters them. " +
		"Redelivered: records processed on a delivery after the first. After each kill: the records processed on a " +
		"redelivery after it and before the next kill, and the first and last of them, in seconds after it. A dead " +
		"member's records wait for its session to time out, so with kills closer together than that, an earlier " +
		"kill's records come back after a later one and are counted there."}, Table: t}}
	if f := shareFindings(r); len(f) > 0 {
		out = append(out, doc.Block{Findings: f})
	}
	return out
}

// shareFindings states the share-group lessons of r: records that fail for
// good with and without a dead-letter topic, what a kill cost against the
// group's lock and session, and key order against the key-ordered library.
func shareFindings(r Result) []doc.Finding {
	var out []doc.Finding
	_, scens := axes(r)
	for _, sc := range scens {
		var parts []string // key order, where the key-ordered library ran beside
		for _, c := range r.Cells {
			s := c.Share
			if s == nil || c.Error != "" || c.Scenario != sc {
				continue
			}
			parts = append(parts, fmt.Sprintf("%s %d", c.Strategy, c.Check.Reordered))
			if c.PermanentRecords > 0 {
				if s.Archived > 0 || strategy.Archives(c.Strategy) {
					out = append(out, doc.Say("%s/%s: of the %d records whose handler always fails, the broker archived %d "+
						"(%d rejected, %d at the delivery limit of %d) and %d were dead-lettered: with no dead-letter topic, a "+
						"share group keeps nothing of a record that fails for good.",
						c.Strategy, sc, c.PermanentRecords, s.Archived, s.ArchivedRejected, s.ArchivedAtLimit, s.DeliveryLimit, c.Check.DeadLettered))
				} else {
					out = append(out, doc.Say("%s/%s: of the %d records whose handler always fails, %d were dead-lettered and %d "+
						"lost; nothing was left to the broker to archive.", c.Strategy, sc, c.PermanentRecords, c.Check.DeadLettered, c.LostNotArchived()))
				}
			}
			if len(s.AfterKills) > 0 {
				n, last := s.Redelivered, 0.0
				for _, k := range s.AfterKills {
					last = max(last, k.LastSeconds)
				}
				line := fmt.Sprintf("%s/%s: %d kills lost %d records and duplicated %d; %d records came back redelivered, the last %.1fs "+
					"after the kill before it", c.Strategy, sc, len(s.AfterKills), c.LostNotArchived(), c.Check.Duplicated, n, last)
				lock, session := float64(s.LockDurationMs)/1000, float64(s.SessionTimeoutMs)/1000
				switch {
				case n == 0:
				case last >= 0.9*session:
					line += fmt.Sprintf(", past the %gs lock and about the %gs session timeout: the dead member kept its "+
						"partitions until its session expired", lock, session)
				case last > lock:
					line += fmt.Sprintf(", past the %gs lock (session timeout %gs)", lock, session)
				default:
					line += fmt.Sprintf(", within the %gs lock", lock)
				}
				out = append(out, doc.Finding{Text: line + "."})
			}
		}
		if lib, ok := cellAt(r, SpeedBaseline, sc); ok && lib.Error == "" && len(parts) > 0 {
			out = append(out, doc.Say("%s: records processed out of key order: %s, %s %d (share groups have no key order).",
				sc, strings.Join(parts, ", "), lib.Strategy, lib.Check.Reordered))
		}
	}
	return out
}
