package group

import (
	"github.com/kpar/kpar/internal/lab/labrun"
	"github.com/kpar/kpar/internal/results"
)

// Kind is this result's schema, the version this kpar writes and its data
// file.
var Kind = results.Kind{Schema: "kpar.lab.group", Version: 1, File: "lab-group.json"}

// Result is one `kpar lab group` run: plain data, every view reads only
// this.
type Result struct {
	labrun.Run
	// SessionTimeoutMs is the classic members' session.timeout.ms;
	// ConsumerSessionTimeoutMs the broker's group.consumer.session.timeout.ms,
	// which decides when a KIP-848 group drops a dead member (a KIP-848
	// client cannot choose it). -1: could not be read.
	SessionTimeoutMs         float64 `json:"session_timeout_ms"`
	ConsumerSessionTimeoutMs float64 `json:"consumer_session_timeout_ms"`
	Cells                    []Cell  `json:"cells"`
}

// Cell is one membership event under one assignor (or protocol) with one
// member kind.
type Cell struct {
	Event    string `json:"event"`
	Assignor string `json:"assignor"`
	// Protocol is the group protocol asked for: "classic" or "consumer"
	// (KIP-848); GroupType what the broker listed the group as.
	Protocol  string `json:"protocol"`
	GroupType string `json:"group_type,omitempty"`
	Member    string `json:"member"` // plain or parallel
	Seed      int64  `json:"seed"`

	Topics     []TopicSpec `json:"topics"`
	Rate       int         `json:"rate"`     // records/s produced during the stream
	Produced   int         `json:"produced"` // records in the stream (rate x duration)
	WorkMs     float64     `json:"work_ms"`  // handler time per record
	Victim     string      `json:"victim,omitempty"`
	EventAtSec float64     `json:"event_at_sec"` // seconds from StreamStartSec

	// Times in seconds from the cell's start (the first member started).
	StreamStartSec float64 `json:"stream_start_sec"`
	StreamEndSec   float64 `json:"stream_end_sec"` // the last record was produced
	DrainedSec     float64 `json:"drained_sec"`    // every record processed, members about to stop

	Metrics Metrics `json:"metrics"`
	// Timeline is what the chart draws.
	Timeline Timeline `json:"timeline"`

	labrun.Repeats

	// Error: the cell failed (a member did not come up, died on its own,
	// the group never settled); its counts are what the log held then.
	Error   string  `json:"error,omitempty"`
	Rerun   string  `json:"rerun"`
	Seconds float64 `json:"seconds"`
}

// Name is the cell's --cell value.
func (c Cell) Name() string {
	if c.Member == "parallel" {
		return c.Event + "/" + c.Assignor + "/parallel"
	}
	return c.Event + "/" + c.Assignor
}

// TopicSpec is one input topic of a cell.
type TopicSpec struct {
	Name       string `json:"name"`
	Partitions int    `json:"partitions"`
}

// Metrics are one cell's measurements around its event. Definitions in
// internal/lab/DESIGN.md ("kpar lab group").
type Metrics struct {
	// GroupMaxGapMs: the longest time no member processed anything, from
	// 1 s before the event to the end of the stream. BaselineGapMs: the
	// same over the stream before that window (the noise floor: fetches,
	// scheduling).
	GroupMaxGapMs float64 `json:"group_max_gap_ms"`
	BaselineGapMs float64 `json:"baseline_gap_ms"`
	// MemberGaps: per member, the longest time it processed nothing while
	// alive in the same window.
	MemberGaps []MemberGap `json:"member_gaps"`
	// MaxLatencyMs: the longest a record produced in the window waited
	// between its produce timestamp and its first processing.
	MaxLatencyMs float64 `json:"max_latency_ms"`
	// OwnedAgainMs: from the event until every partition is owned by a live
	// member again (0: never unowned; -1: not by the end of the drain).
	OwnedAgainMs float64 `json:"owned_again_ms"`
	// LongestUnownedMs: the longest one partition went without a live
	// owner after the event; UnownedPartitionSec: the partition-seconds
	// without one, summed over partitions, from the event to the drain
	// (eager assignors revoke all partitions; cooperative ones only those
	// that move).
	LongestUnownedMs    float64 `json:"longest_unowned_ms"`
	UnownedPartitionSec float64 `json:"unowned_partition_sec"`
	// Moved: partitions whose owner (member slot) at the end differs from
	// the one at the event. Revoked: partitions taken from a member after
	// the event (revoked, lost or its process gone), counted each time,
	// also when they come back to the same member.
	Moved   int `json:"moved"`
	Revoked int `json:"revoked"`
	// Rebalances: distinct group generations (classic) or member epochs
	// (KIP-848) the members reported in assignment changes after the
	// event; AssignmentChanges the member-level changes themselves.
	Rebalances        int `json:"rebalances"`
	AssignmentChanges int `json:"assignment_changes"`
	// Against the produced stream, over the whole cell.
	Processed  int `json:"processed"` // distinct records
	Duplicated int `json:"duplicated"`
	Lost       int `json:"lost"`
}

// MemberGap is one member's longest pause.
type MemberGap struct {
	Member   string  `json:"member"`
	MaxGapMs float64 `json:"max_gap_ms"`
}

// Timeline is the chart's data, times in seconds from the cell start.
type Timeline struct {
	Members    []string   `json:"members"`
	Partitions []string   `json:"partitions"` // "topic-N", the chart's rows
	Ownership  []Interval `json:"ownership"`
	// Rate is records processed per second by the whole group, in buckets
	// of RateBucketSec from StartSec.
	StartSec      float64   `json:"start_sec"`
	RateBucketSec float64   `json:"rate_bucket_sec"`
	Rate          []float64 `json:"rate"`
	Marks         []Mark    `json:"marks"`
}

// Interval: Member owned Partitions[Partition] from From to To.
type Interval struct {
	Member    string  `json:"member"`
	Partition int     `json:"partition"`
	From      float64 `json:"from"`
	To        float64 `json:"to"`
}

// Mark is a labelled moment on the timeline (the event, a process exit).
type Mark struct {
	At    float64 `json:"at"`
	Label string  `json:"label"`
}
