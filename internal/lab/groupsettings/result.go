package groupsettings

import (
	"github.com/kpar/kpar/internal/lab/checker"
	"github.com/kpar/kpar/internal/lab/labrun"
	"github.com/kpar/kpar/internal/results"
)

// Kind is this result's schema, the version this kpar writes and its data
// file.
var Kind = results.Kind{Schema: "kpar.lab.group.settings", Version: 1, File: "lab-group-settings.json"}

// Result is one `kpar lab group-settings` run: plain data, every view reads
// only this. An experiment that was not run leaves its field empty.
type Result struct {
	labrun.Run
	Records     int      `json:"records"`
	Partitions  int      `json:"partitions"`
	Experiments []string `json:"experiments"`

	Reset        []ResetCell      `json:"reset,omitempty"`
	AutoCommit   []AutoCommitCell `json:"autocommit,omitempty"`
	Isolation    *IsolationResult `json:"isolation,omitempty"`
	PollInterval []PollCell       `json:"pollinterval,omitempty"`
}

// Repeat says which counts of a cell repeat exactly on a rerun with the same
// seed (Exact, by JSON field name) and why the others move.
type Repeat struct {
	Exact []string `json:"exact"`
	Why   string   `json:"why,omitempty"`
	Rerun string   `json:"rerun"`
}

// Outcome ends every cell: Failure, the cell did not finish (it timed out,
// a part failed) and its counts are what it had by then; its time; what
// repeats.
type Outcome struct {
	Failure string  `json:"failure,omitempty"`
	Seconds float64 `json:"seconds"`
	Repeat
}

func (o *Outcome) outcome() *Outcome { return o }

// ResetCell is one auto.offset.reset policy in one case.
type ResetCell struct {
	Case   string `json:"case"`   // CaseNewGroup or CaseRetention
	Policy string `json:"policy"` // earliest, latest, none
	// Existing: records in the topic before the consumer started.
	Existing int `json:"existing"`
	// Committed: records before the group's committed offsets, summed over
	// partitions (0 for a new group): what the group had already read.
	Committed int `json:"committed"`
	// DeletedUnread: records past the committed offsets deleted before the
	// consumer came back: gone for every policy.
	DeletedUnread int `json:"deleted_unread"`
	// Unread = Existing - Committed: what the group had not read yet.
	Unread int `json:"unread"`
	// SeenOld: distinct existing records the consumer received;
	// Skipped = Unread - SeenOld.
	SeenOld int `json:"seen_old"`
	Skipped int `json:"skipped"`
	// NewSeen: records written after the consumer started that it received.
	NewSeen int `json:"new_seen"`
	// Error is the first error polling returned (the text, as the client
	// gives it): "none"'s refusal.
	Error string `json:"error,omitempty"`
	Outcome
}

// AutoCommitCell is one commit mode with a SIGKILL at a seeded point.
type AutoCommitCell struct {
	// Mode: ModeAutoSync, ModeAutoPool or ModeManual.
	Mode string `json:"mode"`
	// CrashAt: the member SIGKILLed itself the instant its CrashAt-th
	// processed-log entry was acknowledged.
	CrashAt                   int     `json:"crash_at"`
	AutoCommitIntervalSeconds float64 `json:"autocommit_interval_seconds,omitempty"`
	// The member: up to MaxPoll records per poll, LatencyMillis of work per
	// record before its entry is written, PoolWorkers in the pool mode.
	MaxPoll       int     `json:"max_poll"`
	LatencyMillis float64 `json:"latency_ms"`
	PoolWorkers   int     `json:"pool_workers,omitempty"`
	// Killed: the first member died of the SIGKILL (false: it ended
	// otherwise, see Failure).
	Killed bool `json:"killed"`
	// Check: lost and duplicated from the input and the processed-log,
	// once the restarted member committed everything and stopped.
	Check checker.Result `json:"check"`
	Outcome
}

// IsolationResult is the isolation experiment: aborted records per level,
// then the last stable offset's hold on read_committed.
type IsolationResult struct {
	Transactions          int `json:"transactions"`
	Aborted               int `json:"aborted"`
	RecordsPerTransaction int `json:"records_per_transaction"`
	AbortedRecords        int `json:"aborted_records"`
	CommittedRecords      int `json:"committed_records"`
	// Levels: what a consumer at each isolation level received.
	Levels []LevelCount `json:"levels"`
	LSO    LSOResult    `json:"lso"`
	Outcome
}

// LevelCount is one isolation level's view of the transactional topic.
type LevelCount struct {
	Level         string `json:"level"`
	Seen          int    `json:"seen"`
	AbortedSeen   int    `json:"aborted_seen"`
	CommittedSeen int    `json:"committed_seen"`
}

// LSOResult: one transaction held open for HoldSeconds while another
// producer wrote Records plain records to the same partitions.
type LSOResult struct {
	HoldSeconds float64     `json:"hold_seconds"`
	Records     int         `json:"records"`
	Levels      []LSOLevel  `json:"levels"`
	Samples     []LSOSample `json:"samples"`
}

// LSOLevel is how late one level delivered the other producer's records:
// from the write's acknowledgement to the consumer's poll.
type LSOLevel struct {
	Level              string  `json:"level"`
	MaxDelaySeconds    float64 `json:"max_delay_seconds"`
	MedianDelaySeconds float64 `json:"median_delay_seconds"`
	// MaxLagRecords: the most records acknowledged but not yet delivered,
	// sampled at every acknowledgement.
	MaxLagRecords int `json:"max_lag_records"`
	// Held: records acknowledged while the transaction was open that this
	// level delivered only after it ended.
	Held int `json:"held"`
	// Missing: records never delivered (0 unless the part failed).
	Missing int `json:"missing"`
}

// LSOSample is one record's delay at one level; AckedSeconds from the
// transaction's start.
type LSOSample struct {
	Level        string  `json:"level"`
	AckedSeconds float64 `json:"acked_seconds"`
	DelaySeconds float64 `json:"delay_seconds"`
}

// PollCell is one slow-member run of the pollinterval experiment.
type PollCell struct {
	// Variant: VariantBlock (BlockRebalanceOnPoll: the member holds the
	// rebalance while it processes, as the Java poll loop does) or
	// VariantDefault (kgo rejoins from its own goroutine).
	Variant                 string  `json:"variant"`
	RebalanceTimeoutSeconds float64 `json:"rebalance_timeout_seconds"`
	StallSeconds            float64 `json:"stall_seconds"`
	// StallAfter: the slow member stalled at the end of the batch in which
	// it had processed this many records; SlowBatch records were in it.
	StallAfter int `json:"stall_after"`
	SlowBatch  int `json:"slow_batch"`
	// Removed: the slow member's id left the group while it stalled;
	// RemovedAfterSeconds from the third member's start (the rebalance).
	Removed             bool    `json:"removed"`
	RemovedAfterSeconds float64 `json:"removed_after_seconds,omitempty"`
	// SlowCommitError: its commit of the slow batch (empty: it landed).
	SlowCommitError string `json:"slow_commit_error,omitempty"`
	// Duplicated: processings beyond the first; SlowBatchRedone: records of
	// the slow batch processed again by another member; Lost: records never
	// processed once the group committed everything.
	Duplicated      int `json:"duplicated"`
	SlowBatchRedone int `json:"slow_batch_redone"`
	Lost            int `json:"lost"`
	Outcome
}
