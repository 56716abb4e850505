// Package report is the lab's results as data (versioned JSON) and the views
// that read only that data: a Markdown table and a chart.
package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kpar/kpar/internal/lab/checker"
)

// SchemaVersion changes whenever a field changes meaning.
// 2: crash points freeze the consumer (see worker.killWhenSettled); the slow
// fault; exact / timing_dependent per cell; worker log counts.
// Still 2 with the kill scenario and check.duplicated_same_process /
// check.replay_seconds: fields added, none changed meaning.
const SchemaVersion = 2

// Results is one `kpar lab consumer` run.
type Results struct {
	Schema  int       `json:"schema"`
	Kind    string    `json:"kind"` // "kpar.lab.consumer"
	Started time.Time `json:"started"`
	Seed    int64     `json:"seed"`
	Brokers []string  `json:"brokers"`
	Cells   []Cell    `json:"cells"`
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

	// The slow fault: invocations SlowAt.. of the first member, SlowCount
	// of them, take SlowLatencyMs; every member's rebalance timeout.
	SlowAt             int     `json:"slow_at,omitempty"`
	SlowCount          int     `json:"slow_count,omitempty"`
	SlowLatencyMs      float64 `json:"slow_latency_ms,omitempty"`
	RebalanceTimeoutMs float64 `json:"rebalance_timeout_ms,omitempty"`

	// Read from the workers' logs, not from the checker: commits that
	// failed, and times a member found its partitions lost (dropped from
	// the group).
	CommitErrorsLogged   int `json:"commit_errors_logged"`
	PartitionsLostLogged int `json:"partitions_lost_logged"`

	// Exact names the counts a re-run with the same seed reproduces;
	// TimingDependent the others, and Why says what they depend on.
	Exact           []string `json:"exact"`
	TimingDependent []string `json:"timing_dependent"`
	Why             string   `json:"why,omitempty"`

	// Stalled: the consumers never caught up before the stall timeout; the
	// counts are what the log held when the lab gave up.
	Stalled bool   `json:"stalled"`
	Error   string `json:"error,omitempty"`

	Check checker.Result `json:"check"`
	Rerun string         `json:"rerun"` // the command that re-runs this cell
}

// Write stores r as JSON at path via a temp file and a rename, so a reader
// never sees half a file.
func Write(path string, r Results) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(path, append(b, '\n'))
}

// Read loads results written by Write.
func Read(path string) (Results, error) {
	var r Results
	b, err := os.ReadFile(path)
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("%s: %w", path, err)
	}
	if r.Schema != SchemaVersion {
		return r, fmt.Errorf("%s: schema %d, this kpar reads %d", path, r.Schema, SchemaVersion)
	}
	return r, nil
}

func writeAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
