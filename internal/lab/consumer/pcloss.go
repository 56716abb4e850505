package consumer

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kpar/kpar/internal/doc"
	"github.com/kpar/kpar/internal/kafka"
	"github.com/kpar/kpar/internal/lab/checker"
	"github.com/kpar/kpar/internal/lab/workload"
	"github.com/kpar/kpar/internal/pcmap"
	"github.com/twmb/franz-go/pkg/kgo"
)

// PCCommits is, for a pc-* cell, what Parallel Consumer had committed just
// after each kill (before the restart) and once the cell ended, decoded
// with PC's own decoder; and for every lost record the first of those
// commits that counted it done, by its offset or by its map of incomplete
// offsets leaving the record out.
type PCCommits struct {
	Snapshots []pcmap.Snapshot `json:"snapshots"`
	Lost      []PCLost         `json:"lost,omitempty"`
	Error     string           `json:"error,omitempty"` // a read or decode that failed; the counts are then partial
}

// PCLost is one lost record and the commit that first counted it done.
type PCLost struct {
	Seq       int64  `json:"seq"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	Claimed   string `json:"claimed,omitempty"` // the snapshot's label; "" when none counts it done
	By        string `json:"by,omitempty"`      // pcmap.ByOffset or pcmap.ByMap
}

// snapshotPC reads what PC has committed now, for a pc-* cell; label names
// the moment ("kill 1", "end").
func (o *orchestra) snapshotPC(ctx context.Context, label string) {
	if !strings.HasPrefix(o.cell.Strategy, "pc-") {
		return
	}
	if o.cell.PC == nil {
		o.cell.PC = &PCCommits{}
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	ps, err := pcmap.Fetch(rctx, o.adm, o.params.Group, o.params.Topic)
	if err != nil && o.cell.PC.Error == "" {
		o.cell.PC.Error = fmt.Sprintf("%s: %v", label, err)
	}
	o.cell.PC.Snapshots = append(o.cell.PC.Snapshots, pcmap.Snapshot{Label: label, Partitions: ps})
}

// attributePCLoss finds each lost record's partition and offset (reading the
// input again) and the first snapshot that counted it done.
func (o *orchestra) attributePCLoss(ctx context.Context, r kafka.Reader, input []workload.Record, log []checker.Processed) {
	pc := o.cell.PC
	if pc == nil {
		return
	}
	seen := make(map[int64]bool, len(log))
	for _, p := range log {
		seen[p.Seq] = true
	}
	lost := map[int64]bool{}
	for _, rec := range input {
		if !seen[rec.Seq] {
			lost[rec.Seq] = true
		}
	}
	if len(lost) == 0 {
		return
	}
	_, err := r.Read(context.WithoutCancel(ctx), o.params.Topic, kafka.ToEnd, nil, func(k *kgo.Record) {
		rec, err := workload.DecodeRecord(k.Value)
		if err != nil || !lost[rec.Seq] {
			return
		}
		l := PCLost{Seq: rec.Seq, Partition: k.Partition, Offset: k.Offset}
		if i, by := pcmap.FirstClaim(pc.Snapshots, o.params.Topic, k.Partition, k.Offset); i >= 0 {
			l.Claimed, l.By = pc.Snapshots[i].Label, by
		}
		pc.Lost = append(pc.Lost, l)
	})
	if err != nil && pc.Error == "" {
		pc.Error = fmt.Sprintf("reading the input again: %v", err)
	}
	slices.SortFunc(pc.Lost, func(a, b PCLost) int { return int(a.Seq - b.Seq) })
}

// pcBlocks says which of PC's commits first counted each lost record done,
// with a table of every pc-* cell's commits read after its kills.
func pcBlocks(r Result) []doc.Block {
	var findings []doc.Finding
	var rows [][]string
	kills := 0
	for _, c := range r.Cells {
		pc := c.PC
		if pc == nil {
			continue
		}
		for _, s := range pc.Snapshots {
			var committed, incomplete int64
			mapped, failed := 0, 0
			for _, p := range s.Partitions {
				if p.Committed >= 0 {
					committed += p.Committed
				}
				if p.Highest >= p.Committed && p.Committed >= 0 {
					mapped++
				}
				incomplete += int64(len(p.Incomplete))
				if p.Error != "" {
					failed++
				}
			}
			rows = append(rows, []string{c.Strategy + "/" + c.Scenario, s.Label, doc.I64(committed),
				doc.Int(mapped), doc.I64(incomplete), doc.Int(failed)})
		}
		kills += max(0, len(pc.Snapshots)-1)
		if len(pc.Lost) == 0 {
			continue
		}
		// The lost records by the commit that first counted them done, and how.
		claimed := map[PCLost]int{}
		for _, l := range pc.Lost {
			claimed[PCLost{Claimed: l.Claimed, By: l.By}]++
		}
		var parts []string
		for _, k := range slices.SortedFunc(maps.Keys(claimed), func(a, b PCLost) int {
			return strings.Compare(a.Claimed+" "+a.By, b.Claimed+" "+b.By)
		}) {
			n := doc.Int(claimed[k])
			switch k.By {
			case "":
				parts = append(parts, n+" counted done by none of the commits read after the kills and at the end")
			case pcmap.ByMap:
				parts = append(parts, fmt.Sprintf("%s counted done by the commit read after %s through its offset map (above the committed offset, not listed incomplete)", n, k.Claimed))
			default:
				parts = append(parts, fmt.Sprintf("%s counted done by the commit read after %s through its committed offset", n, k.Claimed))
			}
		}
		text := fmt.Sprintf("%s/%s lost %s that no process ever processed: %s.", c.Strategy, c.Scenario,
			doc.Plural(len(pc.Lost), "record", "records"), strings.Join(parts, "; "))
		if pc.Error != "" {
			text += " Some commits could not be read (" + pc.Error + "), so this is partial."
		}
		findings = append(findings, doc.Finding{Text: text})
	}
	if len(rows) == 0 {
		return nil
	}
	if len(findings) == 0 {
		findings = append(findings, doc.Say("No pc-* cell lost a record in this run; %s read after %s counted no unprocessed record done.",
			doc.Plural(kills, "commit", "commits"), doc.Plural(kills, "kill", "kills")))
	}
	return []doc.Block{{Title: "Parallel Consumer's commits at each kill",
		Text: []string{"After each kill of a pc-* worker (before its restart) and when the cell ended, the lab read the group's " +
			"committed offsets and decoded PC's offset map from the commit metadata with PC's own decoder " +
			"(OffsetMapCodecManager). A record no process ever processed that such a commit counts done was lost by that commit."},
		Findings: findings,
		Table: &doc.Table{Head: []string{"cell", "read after", "committed offsets (sum)", "partitions with a map", "incomplete in the maps", "maps PC could not decode"},
			Num: []bool{false, false, true, true, true, true}, Rows: rows}}}
}
