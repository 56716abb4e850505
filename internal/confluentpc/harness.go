package confluentpc

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/kpar/kpar/internal/clock"
)

// HarnessOutput is the harness's one JSON line, field for field.
type HarnessOutput struct {
	Records           int64   `json:"records"`              // distinct records processed when the clock stopped (= Config.Records)
	Seconds           float64 `json:"seconds"`              // subscribe to the Records-th distinct completion
	RecordsPerS       float64 `json:"records_per_s"`        // Records / Seconds
	FirstRecordS      float64 `json:"first_record_s"`       // subscribe to the first handler call (join, fetch)
	SteadyRecordsPerS float64 `json:"steady_records_per_s"` // Records over first handler call to last completion
	// The clock's events (internal/clock's rule, implemented in the
	// harness): distinct records counted as the handler returns; A when
	// the count reached the warm-up (WarmupRecords), B at Records
	// (EndRecords); times in seconds since subscribe. Window computes the
	// window from them.
	WarmupRecords int64   `json:"warmup_records"`
	EndRecords    int64   `json:"end_records"`
	FirstDoneS    float64 `json:"first_done_s"` // the first distinct record completed
	WindowAS      float64 `json:"window_a_s"`
	WindowBS      float64 `json:"window_b_s"`
	HandlerCalls  int64   `json:"handler_calls"`   // = records with BatchSize 1
	MeanHandlerMs float64 `json:"mean_handler_ms"` // measured time inside the handler per call
	// Duplicates counts records handed to the handler again after they
	// completed (replays); Completions counts every record the handler
	// finished, duplicates and the drain on close included.
	Duplicates          int64          `json:"duplicates"`
	Completions         int64          `json:"completions"`
	CloseS              float64        `json:"close_s"`     // closeDrainFirst
	CPUSeconds          float64        `json:"cpu_seconds"` // the JVM's getProcessCpuTime at the end, start-up and close included
	StartupS            float64        `json:"startup_s"`   // JVM start to subscribe
	JVM                 JVMInfo        `json:"jvm"`
	Options             HarnessOptions `json:"options"`
	PCVersion           string         `json:"pc_version"`
	KafkaClientsVersion string         `json:"kafka_clients_version"`
}

// JVMInfo describes the JVM the harness ran in.
type JVMInfo struct {
	Version             string   `json:"version"`
	VM                  string   `json:"vm"`
	InputArguments      []string `json:"input_arguments"` // RuntimeMXBean: the flags the JVM saw
	MaxHeapBytes        int64    `json:"max_heap_bytes"`
	AvailableProcessors int64    `json:"available_processors"`
}

// HarnessOptions echoes the options the harness ran with.
type HarnessOptions struct {
	Bootstrap      string `json:"bootstrap"`
	Topic          string `json:"topic"`
	Group          string `json:"group"`
	Ordering       string `json:"ordering"`
	MaxConcurrency int    `json:"max_concurrency"`
	CommitMode     string `json:"commit_mode"`
	BatchSize      int    `json:"batch_size"`
	Work           string `json:"work"`
	SleepMs        int64  `json:"sleep_ms"`
	TimeoutS       int64  `json:"timeout_s"`
	StuckOffset    int64  `json:"stuck_offset"` // -1: none; else held until "release" on stdin
	ProcessedLog   string `json:"processed_log"`
	ProgressMs     int64  `json:"progress_ms"`
	SessionTimeMs  int64  `json:"session_timeout_ms"` // 0: Kafka's default
	// FetchMaxBytes and MaxPartitionFetchBytes: what the consumer was
	// given; 0: kafka-clients' defaults.
	FetchMaxBytes          int64 `json:"fetch_max_bytes"`
	MaxPartitionFetchBytes int64 `json:"max_partition_fetch_bytes"`
}

// Window is the run's window by internal/clock's arithmetic, from the
// events the harness reported.
func (o HarnessOutput) Window() clock.Window {
	at := func(s float64) time.Time { return time.Unix(0, 0).Add(time.Duration(s * 1e9)) }
	return clock.Compute(o.Records, at(0), at(o.FirstDoneS), o.WarmupRecords, at(o.WindowAS), o.EndRecords, at(o.WindowBS))
}

// ParseLine parses the harness's stdout: its last non-empty line must be
// the complete JSON summary. Earlier lines are ignored (a JVM flag such as
// -XX:+PrintFlagsFinal writes to stdout too). Unknown fields are an error,
// so the harness and this package cannot drift apart silently.
func ParseLine(stdout []byte) (HarnessOutput, error) {
	var last string
	sc := bufio.NewScanner(bytes.NewReader(stdout))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			last = l
		}
	}
	if err := sc.Err(); err != nil {
		return HarnessOutput{}, fmt.Errorf("%w: reading stdout: %v", ErrNoJSON, err)
	}
	if last == "" {
		return HarnessOutput{}, fmt.Errorf("%w: stdout is empty", ErrNoJSON)
	}
	dec := json.NewDecoder(strings.NewReader(last))
	dec.DisallowUnknownFields()
	var out HarnessOutput
	if err := dec.Decode(&out); err != nil {
		return HarnessOutput{}, fmt.Errorf("%w: %v", ErrNoJSON, err)
	}
	if dec.More() {
		return HarnessOutput{}, fmt.Errorf("%w: trailing data after the JSON object", ErrNoJSON)
	}
	var missing []string
	need := func(ok bool, name string) {
		if !ok {
			missing = append(missing, name)
		}
	}
	need(out.Records > 0, "records")
	need(out.Seconds > 0, "seconds")
	need(out.RecordsPerS > 0, "records_per_s")
	need(out.WarmupRecords > 0 && out.WarmupRecords < out.Records || out.Records == 1, "warmup_records")
	need(out.EndRecords == out.Records, "end_records")
	need(out.WindowBS > 0 && out.WindowBS >= out.WindowAS && out.WindowAS >= out.FirstDoneS, "window_a_s, window_b_s")
	need(out.HandlerCalls > 0, "handler_calls")
	need(out.Completions >= out.Records, "completions")
	need(out.CPUSeconds > 0, "cpu_seconds")
	need(out.JVM.Version != "", "jvm.version")
	need(out.JVM.MaxHeapBytes > 0, "jvm.max_heap_bytes")
	need(out.Options.Topic != "", "options.topic")
	need(out.PCVersion != "", "pc_version")
	need(out.KafkaClientsVersion != "", "kafka_clients_version")
	if len(missing) > 0 {
		return HarnessOutput{}, fmt.Errorf("%w: missing or zero: %s", ErrNoJSON, strings.Join(missing, ", "))
	}
	return out, nil
}
