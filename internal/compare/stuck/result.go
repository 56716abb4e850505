package stuck

// Result is one window experiment: plain data, meant to be embedded in the
// comparison's result. Times are seconds from the start of the first
// consumer process of the run they belong to. A part (one library's run
// through or restart) that failed carries its reason in Failed and no
// figures; the parts that completed keep theirs.
type Result struct {
	Brokers             []string  `json:"brokers"`
	Topic               string    `json:"topic"`
	Partitions          int       `json:"partitions"`
	RecordsPerPartition int       `json:"records_per_partition"`
	KeysPerPartition    []int     `json:"keys_per_partition"`
	Order               string    `json:"order"`
	StuckOffset         int64     `json:"stuck_offset"`
	MaxHoldS            float64   `json:"max_hold_s"` // bounds the wait for the plateau, the records stuck
	Concurrency         int       `json:"concurrency"`
	SessionTimeoutS     float64   `json:"session_timeout_s"` // 0: the clients' defaults
	PCVersion           string    `json:"pc_version"`
	PCJVMFlags          []string  `json:"pc_jvm_flags"`         // empty: the JVM's default heap
	MetadataLimit       int       `json:"metadata_limit_bytes"` // offset.metadata.max.bytes, Kafka's default
	Libraries           []Library `json:"libraries"`
}

// Library is what one library did in both runs.
type Library struct {
	Name    string  `json:"name"` // "kpar" or "pc"
	Through Through `json:"through"`
	Restart Restart `json:"restart"`
}

// Window is one consumer process while its stuck records were stuck.
type Window struct {
	Group string `json:"group"`
	// Plateaued says the records processed, the held count and the group's
	// commits stopped changing for Settle, with records processed and no
	// committed offset past a stuck record; PlateauS is when that was
	// first true. Without a plateau (within MaxHoldS) the figures are those
	// at MaxHoldS.
	Plateaued bool    `json:"plateaued"`
	PlateauS  float64 `json:"plateau_s"`
	// HeldPast counts per partition the records processed at or above the
	// committed offset (the stuck record) at the plateau: completions only
	// the commit metadata remembers.
	HeldPast      []int `json:"held_past"`
	HeldPastTotal int   `json:"held_past_total"`
	HeldPastMax   int   `json:"held_past_max"`
	// Room counts per partition the records above the stuck one that the
	// order lets run meanwhile (under key order not those of the stuck
	// key): the most that could be held. Stopped lists partitions whose
	// HeldPast stayed below their Room: they stopped taking records.
	Room    []int `json:"room"`
	Stopped []int `json:"stopped_partitions"`
	// Untouched lists partitions with no record processed at all (a
	// library that stopped taking records before it read them); they are
	// in Stopped too.
	Untouched []int   `json:"untouched_partitions"`
	Committed []int64 `json:"committed"` // per partition at the plateau (-1: none)
	// DoneNotCommitted counts records below the stuck ones that were
	// processed but not committed at the plateau: completions the library
	// had not yet made committable (they are part of HeldPast).
	DoneNotCommitted int `json:"done_not_committed"`
	// MetadataBytes is each partition's committed metadata length at the
	// plateau; MaxMetadataBytes the largest seen in any sample while the
	// records were stuck. NoMap lists partitions that held completions
	// past the committed offset but whose commit carried no metadata: the
	// map was not written (or dropped).
	MetadataBytes    []int `json:"metadata_bytes"`
	MaxMetadataBytes int   `json:"max_metadata_bytes"`
	NoMap            []int `json:"no_map_partitions"`
	// PausedAtPlateau is kpar's own count of paused partitions (Stats);
	// -1 for PC, which reports none.
	PausedAtPlateau int      `json:"paused_at_plateau"`
	Samples         []Sample `json:"samples"`
}

// Sample is one poll of a consumer process and its group.
type Sample struct {
	T         float64 `json:"t_s"`
	Processed int64   `json:"processed"` // distinct records in its processed log
	Completed int64   `json:"completed"` // the library's own count (progress line); -1 none yet
	HeldPast  int     `json:"held_past"` // over all partitions
	Metadata  int     `json:"metadata"`  // largest committed metadata over the partitions, bytes
	Committed int64   `json:"committed"` // committed offsets summed over the partitions
	Paused    int     `json:"paused"`    // kpar: partitions paused (Stats); -1 for PC
	Stuck     bool    `json:"stuck"`     // a stuck record was still running
}

// Through is the run where the stuck records finish.
type Through struct {
	Failed string `json:"failed,omitempty"` // why this part did not complete; then no figures
	Window
	// ReleasedS is when the driver released the stuck records (at the
	// plateau, or at MaxHoldS without one); StuckDoneS when every one was
	// in the processed log.
	ReleasedS  float64 `json:"released_s"`
	StuckDoneS float64 `json:"stuck_done_s"`
	// DrainedS is when every record was committed (0: not within Drain);
	// Stalled the partitions that were not.
	DrainedS float64 `json:"drained_s"`
	Stalled  []int   `json:"stalled_partitions"`
	// Duplicates (handler calls beyond the first per record) and Missing
	// (records never processed) are over the whole run.
	Duplicates  int  `json:"duplicates"`
	Missing     int  `json:"missing"`
	ExactlyOnce bool `json:"exactly_once"` // no duplicates, nothing missing, nothing stalled
}

// Restart is the run killed at the plateau (its stuck records still held)
// and finished by a fresh process.
type Restart struct {
	Failed string `json:"failed,omitempty"` // as Through's
	Window
	KilledS         float64 `json:"killed_s"`
	CommittedAtKill []int64 `json:"committed_at_kill"` // read after the killed process exited
	FirstProcessed  int64   `json:"first_processed"`   // distinct records the killed process finished
	SecondProcessed int64   `json:"second_processed"`  // distinct records the fresh process finished
	Replays         []int   `json:"replays"`           // per partition, records both processes finished
	ReplaysTotal    int     `json:"replays_total"`
	// ReplaysBelowCommitted are replays of records below CommittedAtKill:
	// committed records processed again (a broken commit).
	ReplaysBelowCommitted int `json:"replays_below_committed"`
	// SkippedByMap is what the map saved: records the killed process
	// finished above the committed offset that the fresh one did not redo.
	SkippedByMap int `json:"skipped_by_map"`
	Missing      int `json:"missing"` // records neither process finished
	// MissingByCommit (PC only) counts the missing records by how PC's
	// commit at the kill, decoded by PC's own decoder, counted them done:
	// "offset" (below its committed offset), "map" (in its offset map and
	// not listed incomplete) or "none" (a fresh PC should have processed
	// them); "undecoded" when the decoder could not run.
	MissingByCommit  map[string]int `json:"missing_by_commit,omitempty"`
	SecondDuplicates int            `json:"second_duplicates"` // the fresh process's own repeats
	SecondDrainedS   float64        `json:"second_drained_s"`  // fresh process start to everything committed; 0: not within Drain
	Stalled          []int          `json:"stalled_partitions"`
	Samples2         []Sample       `json:"second_samples"`
}

// Failures lists the parts that failed, "<library> <part>: <reason>".
func (r Result) Failures() []string {
	var out []string
	for _, l := range r.Libraries {
		if l.Through.Failed != "" {
			out = append(out, l.Name+" run through: "+l.Through.Failed)
		}
		if l.Restart.Failed != "" {
			out = append(out, l.Name+" restart: "+l.Restart.Failed)
		}
	}
	return out
}
