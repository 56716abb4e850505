package consumer

import (
	"fmt"

	"github.com/kpar/kpar/internal/lab/checker"
	"github.com/kpar/kpar/internal/lab/labrun"
	"github.com/kpar/kpar/internal/results"
)

// Kind is this result's schema, the version this kpar writes and its data
// file. Version 4 added the share-group strategies and cell.share; check.lost
// still counts archived records (the document's lost column leaves them out).
var Kind = results.Kind{Schema: "kpar.lab.consumer", Version: 4, File: "lab-consumer.json"}

// Result is one `kpar lab consumer` run; every view reads only this.
type Result struct {
	labrun.Run
	Cells []Cell `json:"cells"`
	// Speed compares records/s within each scenario; see SpeedBaseline.
	Speed []Speed `json:"speed"`
}

// SpeedBaseline is the strategy every other strategy's records/s is compared
// to, within one scenario of one run: the library in key-ordered mode.
const SpeedBaseline = "lib-key"

// Speed is one strategy's records/s in one scenario against SpeedBaseline's
// in the same scenario of the same run: reported, never asserted.
type Speed struct {
	Scenario              string  `json:"scenario"`
	Strategy              string  `json:"strategy"`
	RecordsPerSec         float64 `json:"records_per_sec"`
	BaselineRecordsPerSec float64 `json:"baseline_records_per_sec"`
	Ratio                 float64 `json:"ratio"` // RecordsPerSec / BaselineRecordsPerSec
}

// compareSpeed pairs every cleanly finished cell with the baseline's cell of
// the same scenario; a stalled or failed cell's records/s measures the
// failure, so those are left out.
func compareSpeed(cells []Cell) []Speed {
	clean := func(c Cell) bool { return c.Error == "" && !c.Stalled && c.Check.RecordsPerSec > 0 }
	base := map[string]float64{}
	for _, c := range cells {
		if c.Strategy == SpeedBaseline && clean(c) {
			base[c.Scenario] = c.Check.RecordsPerSec
		}
	}
	out := []Speed{}
	for _, c := range cells {
		b, ok := base[c.Scenario]
		if !ok || c.Strategy == SpeedBaseline || !clean(c) {
			continue
		}
		out = append(out, Speed{Scenario: c.Scenario, Strategy: c.Strategy, RecordsPerSec: c.Check.RecordsPerSec,
			BaselineRecordsPerSec: b, Ratio: c.Check.RecordsPerSec / b})
	}
	return out
}

// Read loads a lab-consumer.json written by this version of kpar.
func Read(path string) (Result, error) {
	var r Result
	err := Kind.Read(path, &r)
	if err == nil && r.Version != Kind.Version {
		err = fmt.Errorf("%w: %s is %s version %d, this kpar reads version %d", results.ErrSchema, path, Kind.Schema, r.Version, Kind.Version)
	}
	return r, err
}

// Cell is one strategy under one scenario.
type Cell struct {
	Strategy string `json:"strategy"`
	Scenario string `json:"scenario"`
	Seed     int64  `json:"seed"`

	Records    int `json:"records"`
	Partitions int `json:"partitions"`
	Keys       int `json:"keys"`
	Workers    int `json:"workers"`
	MaxPoll    int `json:"max_poll"`

	LatencyMinMs float64 `json:"latency_min_ms"`
	LatencyMaxMs float64 `json:"latency_max_ms"`
	// Tail of the records take TailLatencyMs instead (OOO only).
	Tail          float64 `json:"tail"`
	TailLatencyMs float64 `json:"tail_latency_ms"`
	Transient     float64 `json:"transient"`
	Permanent     float64 `json:"permanent"`

	CrashPoints []int `json:"crash_points,omitempty"` // processed-log counts planned
	Crashes     int   `json:"crashes"`                // SIGKILLs that happened
	Joins       int   `json:"joins"`
	Leaves      int   `json:"leaves"`

	// InFlightAtKill: the invocations running at each kill-fault SIGKILL
	// (worker.EventKill), the killing one included.
	InFlightAtKill []int `json:"in_flight_at_kill,omitempty"`

	// The slow fault: SlowCount invocations of the first member from SlowAt
	// take SlowLatencyMs; every member's rebalance timeout.
	SlowAt             int     `json:"slow_at,omitempty"`
	SlowCount          int     `json:"slow_count,omitempty"`
	SlowLatencyMs      float64 `json:"slow_latency_ms,omitempty"`
	RebalanceTimeoutMs float64 `json:"rebalance_timeout_ms,omitempty"`

	// Read from the workers' logs, not from the checker: commits that
	// failed, and times a member found its partitions lost (dropped from
	// the group).
	CommitErrorsLogged   int `json:"commit_errors_logged"`
	PartitionsLostLogged int `json:"partitions_lost_logged"`

	labrun.Repeats

	// Permanent failures as the workers reported them (worker.EventPermanent)
	// until the cell ended: records, attempts, the most for one record. PC,
	// without a retry limit, adds attempts until the stall timeout.
	PermanentRecords     int `json:"permanent_records,omitempty"`
	PermanentAttempts    int `json:"permanent_attempts,omitempty"`
	PermanentMaxAttempts int `json:"permanent_max_attempts,omitempty"`

	// Stalled: the consumers never caught up before the stall timeout; the
	// counts are what the log held when the lab gave up.
	Stalled bool `json:"stalled"`
	// StallTimeoutSeconds is the stall timeout that ended a stalled cell.
	StallTimeoutSeconds float64 `json:"stall_timeout_seconds,omitempty"`
	Error               string  `json:"error,omitempty"`

	// Share is set for the share-group strategies only.
	Share *Share `json:"share,omitempty"`
	// PC: pc-* cells only: PC's commits after each kill and at the end,
	// decoded, and the commit that first counted each lost record done.
	PC *PCCommits `json:"pc,omitempty"`

	Check checker.Result `json:"check"`
	Rerun string         `json:"rerun"` // the command that re-runs this cell
	// Seconds is the cell's wall time: topics, produce, consumers, check.
	Seconds float64 `json:"seconds"`
}
