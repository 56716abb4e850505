// Package checker counts what a consumer did wrong, from data alone: the
// input records and the processed-log. A record is processed when its
// processed-log entry is durable; nothing a consumer claims counts otherwise.
package checker

import (
	"slices"
	"time"

	"github.com/kpar/kpar/internal/lab/workload"
)

// Processed is one processed-log entry with the time it was written.
type Processed struct {
	workload.Entry
	At time.Time
}

// Result is the checker's verdict on one run.
type Result struct {
	Input     int `json:"input"`     // records in the input topic
	Entries   int `json:"entries"`   // processed-log entries, duplicates included
	Processed int `json:"processed"` // distinct input records with at least one entry

	// Lost: input records with no entry at all once every consumer stopped.
	Lost int `json:"lost"`
	// Duplicated: entries beyond the first for the same record.
	Duplicated int `json:"duplicated"`
	// DuplicatedRecords: distinct records processed more than once.
	DuplicatedRecords int `json:"duplicated_records"`
	// DuplicatedSameProcess: duplicate entries written by a process (slot
	// and incarnation) that had already written one for the record. A crash
	// explains replays by the next incarnation, not these.
	DuplicatedSameProcess int `json:"duplicated_same_process"`
	// ReplaySeconds: over the duplicate entries, the longest time from the
	// record's previous entry to the last entry the process that wrote that
	// one ever wrote. After a SIGKILL that process's last entry is the kill,
	// so this is how long before a kill the work that had to be redone was
	// done: the strategy's commit lag at the kill.
	ReplaySeconds float64 `json:"replay_seconds"`
	// Reordered: first processings of a record that came after the first
	// processing of a later record of the same key. Replays after a crash
	// are duplicates, not reorders, so they are not counted here.
	Reordered int `json:"reordered"`
	// DeadLettered: distinct records whose entry says dead-letter topic.
	DeadLettered int `json:"dead_lettered"`
	// Unknown: entries naming a record that is not in the input (a bug in
	// the lab itself if ever non-zero).
	Unknown int `json:"unknown"`

	// Seconds from start to the last first-processing; RecordsPerSec is
	// Processed over it.
	Seconds       float64 `json:"seconds"`
	RecordsPerSec float64 `json:"records_per_sec"`

	LostSample []int64 `json:"lost_sample,omitempty"` // first few lost sequence numbers
}

// OK reports whether the run lost, duplicated and reordered nothing.
func (r Result) OK() bool {
	return r.Lost == 0 && r.Duplicated == 0 && r.Reordered == 0 && r.Unknown == 0
}

// Check compares input with log. log must hold each key's entries in the
// order they were written (the processed-log is keyed, so one partition per
// key, read in offset order); dead-lettered records may follow in any order. start is when the consumers started.
func Check(input []workload.Record, log []Processed, start time.Time) Result {
	res := Result{Input: len(input), Entries: len(log)}
	known := make(map[int64]bool, len(input))
	for _, r := range input {
		known[r.Seq] = true
	}
	seen := make(map[int64]int, len(input))
	maxKeySeq := map[string]int64{}
	dlq := map[int64]bool{}
	var last time.Time
	rp := newReplays(log)
	for _, p := range log {
		if !known[p.Seq] {
			res.Unknown++
			continue
		}
		seen[p.Seq]++
		if p.Outcome == workload.DeadLettered {
			dlq[p.Seq] = true
		}
		rp.add(p, seen[p.Seq] > 1, &res)
		if seen[p.Seq] > 1 {
			res.Duplicated++
			if seen[p.Seq] == 2 {
				res.DuplicatedRecords++
			}
			continue
		}
		if p.At.After(last) {
			last = p.At
		}
		if p.Outcome == workload.DeadLettered {
			continue // the dead-letter topic has its own order; it takes no part in key order
		}
		if m, ok := maxKeySeq[p.Key]; ok && p.KeySeq < m {
			res.Reordered++
		} else {
			maxKeySeq[p.Key] = p.KeySeq
		}
	}
	res.Processed = len(seen)
	res.DeadLettered = len(dlq)
	for _, r := range input {
		if seen[r.Seq] == 0 {
			res.Lost++
			if len(res.LostSample) < 10 {
				res.LostSample = append(res.LostSample, r.Seq)
			}
		}
	}
	slices.Sort(res.LostSample)
	if !start.IsZero() && last.After(start) {
		res.Seconds = last.Sub(start).Seconds()
		res.RecordsPerSec = float64(res.Processed) / res.Seconds
	}
	return res
}

// process is one worker process: a slot's incarnation.
type process struct {
	worker string
	inc    int
}

// replays follows which process wrote which record's entries, to count the
// duplicates a process wrote itself and how far back redone work reached.
type replays struct {
	lastOf map[process]time.Time // each process's last entry
	prev   map[int64]Processed   // each record's latest entry so far
	wrote  map[procSeq]bool      // which process wrote an entry for which record
}

type procSeq struct {
	process
	seq int64
}

func newReplays(log []Processed) *replays {
	rp := &replays{lastOf: map[process]time.Time{}, prev: map[int64]Processed{}, wrote: map[procSeq]bool{}}
	for _, p := range log {
		if p.Worker == "" { // dead-letter records name no process
			continue
		}
		pr := process{p.Worker, p.Incarnation}
		if p.At.After(rp.lastOf[pr]) {
			rp.lastOf[pr] = p.At
		}
	}
	return rp
}

// add takes entry p of a known record; dup says the record had an entry
// before.
func (rp *replays) add(p Processed, dup bool, res *Result) {
	if p.Worker != "" {
		ps := procSeq{process{p.Worker, p.Incarnation}, p.Seq}
		if rp.wrote[ps] {
			res.DuplicatedSameProcess++
		}
		rp.wrote[ps] = true
	}
	if f := rp.prev[p.Seq]; dup && f.Worker != "" {
		back := rp.lastOf[process{f.Worker, f.Incarnation}].Sub(f.At).Seconds()
		res.ReplaySeconds = max(res.ReplaySeconds, back)
	}
	rp.prev[p.Seq] = p
}
