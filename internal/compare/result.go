package compare

import (
	"github.com/kpar/kpar/internal/clock"
	"github.com/kpar/kpar/internal/compare/stuck"
	"github.com/kpar/kpar/internal/results"
)

// Kind is this result's schema, the version this kpar writes and its data
// file. Version 2 added the share contenders, version 3 one clock for every
// contender with repeats, medians and Failures.
var Kind = results.Kind{Schema: "kpar.compare.consume", Version: 3, File: "compare.json"}

// Result is everything one `kpar compare consume` run measured and judged.
type Result struct {
	results.Header
	Env     Env       `json:"env"`
	IO      []IOPoint `json:"io"`
	Noop    *Noop     `json:"noop"`
	RSS     *RSS      `json:"rss"`
	Targets []Target  `json:"targets"`
	// PCWins lists every measured figure where PC did better than kpar.
	PCWins []PCWin `json:"pc_wins"`
	LOC    []LOC   `json:"loc"`
	Table  Table   `json:"table"`
	Note   string  `json:"note"`
	// ShareFindings: the share contenders beside kpar's consumer group (judgeShare).
	ShareFindings []ShareFinding `json:"share_findings"`
	Window        *stuck.Result  `json:"window,omitempty"`       // when Config.Window asked for it
	DeadLetters   *DeadLetters   `json:"dead_letters,omitempty"` // when Config.DeadLetterRecords asked for it
	PCCompared    int            `json:"pc_compared"`            // figures compared between kpar and PC
	// Failures are the parts that did not complete; the others are kept.
	Failures []Failure `json:"failures,omitempty"`
}

// Failure is one part of the comparison that did not complete.
type Failure struct {
	Part   string `json:"part"` // "io c=500", "no-op", "memory", "PC heap search", "window"
	Reason string `json:"reason"`
}

// Env is what the figures were measured on and with.
type Env struct {
	Brokers     []string `json:"brokers"`
	CPUs        int      `json:"cpus"`
	Partitions  int      `json:"partitions"`
	ValueSize   int      `json:"value_size"`
	SleepMs     float64  `json:"sleep_ms"`
	IORecords   int64    `json:"io_records"`
	NoopRecords int64    `json:"noop_records"`
	NoopConc    int      `json:"noop_concurrency"`
	RSSRecords  int64    `json:"rss_records"`
	// KparMaxBuffered and KparPerPart: 0 is the library's default.
	KparMaxBuffered int `json:"kpar_max_buffered"`
	KparPerPart     int `json:"kpar_max_buffered_per_partition"`
	// PC's side, as its harness reported it at run time.
	PCVersion           string   `json:"pc_version"`
	KafkaClientsVersion string   `json:"kafka_clients_version"`
	PCOrdering          string   `json:"pc_ordering"`
	PCCommitMode        string   `json:"pc_commit_mode"`
	JavaVersion         string   `json:"java_version"`
	JavaVM              string   `json:"java_vm"`
	JVMFlags            []string `json:"jvm_flags"` // of every PC run but the reduced-heap one (none: the JVM's defaults)
	JVMDefaultMaxHeap   int64    `json:"jvm_default_max_heap_bytes"`
	// ShareMembers, KparShare, Repeat and MinWindowS are Config's.
	ShareMembers int     `json:"share_members"`
	KparShare    bool    `json:"kpar_share"`
	Repeat       int     `json:"repeat"`
	MinWindowS   float64 `json:"min_window_s"`
}

// Side is one contender's run, or with repeats the median of its runs
// (Repeats, each a Side). CPUSeconds is the whole process's CPU (rusage
// user+sys, start-up and exit included, the same for every contender);
// SteadyPerS is Window.PerS: distinct records between the warm-up and the
// n-th, in the process that handled them (internal/clock).
type Side struct {
	Contender     string  `json:"contender"`
	Finished      bool    `json:"finished"`
	DidNotFinish  string  `json:"did_not_finish,omitempty"` // why, when Finished is false
	Records       int64   `json:"records"`
	Seconds       float64 `json:"seconds"` // start to the last record, in the process
	FirstRecordS  float64 `json:"first_record_s"`
	SteadyPerS    float64 `json:"steady_records_per_s"`
	MeanHandlerMs float64 `json:"mean_handler_ms,omitempty"`
	// IdealPerS is min(concurrency, keys) / MeanHandlerMs (io only);
	// IdealShare is SteadyPerS over it.
	IdealPerS     float64 `json:"ideal_measured_per_s,omitempty"`
	IdealShare    float64 `json:"ideal_share,omitempty"`
	CPUSeconds    float64 `json:"cpu_seconds"`
	CPUPerMillion float64 `json:"cpu_s_per_million"`
	PeakRSSKiB    int64   `json:"peak_rss_kib"`
	WallSeconds   float64 `json:"wall_seconds"` // process start to exit, as the parent saw it
	// FetchMaxBytes and FetchMaxPartitionBytes: the Go client's as it ran,
	// PC's when it was given them (0: the client's default).
	FetchMaxBytes int32 `json:"fetch_max_bytes,omitempty"`
	// PC only.
	JVMFlags     []string `json:"jvm_flags,omitempty"`
	MaxHeapBytes int64    `json:"jvm_max_heap_bytes,omitempty"`
	StartupS     float64  `json:"jvm_startup_s,omitempty"`
	CloseS       float64  `json:"close_s,omitempty"`
	Duplicates   int64    `json:"duplicates,omitempty"`
	Order        *Order   `json:"order,omitempty"` // io runs of kpar and the share contenders
	// Share contenders only: member clients, and processings of records
	// the broker delivered more than once (DeliveryCount > 1).
	Members     int   `json:"members,omitempty"`
	Redelivered int64 `json:"redelivered,omitempty"`
	Failed      int64 `json:"failed,omitempty"` // handler calls that failed for good (dead-letter part)
	// Window is the run's clock (internal/clock); of a median Side, the
	// window of the median-rate repeat.
	Window                 clock.Window `json:"window"`
	FetchMaxPartitionBytes int32        `json:"fetch_max_partition_bytes,omitempty"`
	// Repeats are the runs a median Side was made of, in run order;
	// RateMin and RateMax their rates' spread.
	Repeats []Side  `json:"repeats,omitempty"`
	RateMin float64 `json:"rate_min,omitempty"`
	RateMax float64 `json:"rate_max,omitempty"`
}

// IOPoint is the I/O-bound run at one concurrency.
type IOPoint struct {
	Concurrency  int       `json:"concurrency"`
	Keys         int       `json:"keys"`
	Topic        string    `json:"topic"`
	IdealPerS    float64   `json:"ideal_per_s"` // min(concurrency, keys) / sleep
	Kpar         Side      `json:"kpar"`
	PC           Side      `json:"pc"`
	Speedup      float64   `json:"speedup"`      // median over the repeats of kpar's rate / PC's
	CPURatio     float64   `json:"cpu_ratio"`    // median of kpar's CPU per record / PC's
	SpeedupRuns  []float64 `json:"speedup_runs"` // each repeat's
	CPURatioRuns []float64 `json:"cpu_ratio_runs"`
	Share        Side      `json:"share"`                // the bare franz-go share consumer
	KparShare    *Side     `json:"kpar_share,omitempty"` // kpar's share mode (nil: not run)
}

// Noop is the no-op handler run.
type Noop struct {
	Topic string `json:"topic"`
	Kpar  Side   `json:"kpar"`
	PC    Side   `json:"pc"`
	// Plain is the faster of the two plain loops (by median rate), the
	// conservative reference: PlainDefault with kgo's 50 MiB default fetch
	// size, PlainSameFetch with kpar's. Per repeat, kpar is set against
	// that repeat's faster loop (VsPlainRuns).
	Plain          Side      `json:"plain"`
	PlainDefault   Side      `json:"plain_default_fetch"`
	PlainSameFetch Side      `json:"plain_same_fetch"`
	SameFetchBytes int32     `json:"same_fetch_bytes"`
	VsPC           float64   `json:"kpar_vs_pc"`    // median of the repeats' kpar rate / PC rate
	VsPlain        float64   `json:"kpar_vs_plain"` // median of the repeats' kpar rate / the faster plain loop's
	CPURatioPC     float64   `json:"cpu_ratio_pc"`  // median of kpar CPU per record / PC's
	VsPCRuns       []float64 `json:"kpar_vs_pc_runs"`
	VsPlainRuns    []float64 `json:"kpar_vs_plain_runs"`
	CPURatioPCRuns []float64 `json:"cpu_ratio_pc_runs"`
	Share          Side      `json:"share"`
	KparShare      *Side     `json:"kpar_share,omitempty"`
	// JavaShare is Kafka's ShareConsumerPerformance: its own clock (its
	// whole run), in no ratio with the others.
	JavaShare JavaShare `json:"java_share"`
}

// RSS is the memory run: each process over the same backlog.
type RSS struct {
	Topic string `json:"topic"`
	Kpar  Side   `json:"kpar"`
	Plain Side   `json:"plain"`
	PC    Side   `json:"pc"` // the JVM's default heap
	// PCCapped is the heap search's first step: PC with -Xmx CapHeap (from
	// kpar's peak RSS with CapFromKpar) and kpar's fetch sizes; it may not
	// finish.
	PCCapped    Side        `json:"pc_capped"`
	CapHeap     string      `json:"cap_heap"`
	CapFromKpar bool        `json:"cap_from_kpar"`
	Share       Side        `json:"share"`
	KparShare   *Side       `json:"kpar_share,omitempty"`
	HeapSearch  *HeapSearch `json:"heap_search,omitempty"` // nil: the search did not run
}

// HeapSearch finds PC's smallest -Xmx that finishes the backlog, with the
// fetch sizes kpar's client ran with: from StartMiB, halving while it
// finishes or doubling while it does not, then bisecting between the
// largest heap that failed and the smallest that finished, each run
// bounded by StepTimeoutS, at most Config.HeapSteps runs.
type HeapSearch struct {
	FetchMaxBytes          int32      `json:"fetch_max_bytes"`           // fetch.max.bytes given to PC (kpar's kgo.FetchMaxBytes)
	MaxPartitionFetchBytes int32      `json:"max_partition_fetch_bytes"` // max.partition.fetch.bytes (kpar's kgo.FetchMaxPartitionBytes)
	StartMiB               int64      `json:"start_mib"`
	StartFromKpar          bool       `json:"start_from_kpar"` // StartMiB is kpar's peak RSS rounded up
	StepTimeoutS           float64    `json:"step_timeout_s"`
	Steps                  []HeapStep `json:"steps"`
	// NeedsMiB is the smallest heap that finished (0: none did);
	// FailedMiB the largest below it that did not (0: none failed).
	NeedsMiB  int64 `json:"needs_mib"`
	FailedMiB int64 `json:"failed_mib"`
}

// HeapStep is one capped PC run.
type HeapStep struct {
	HeapMiB int64 `json:"heap_mib"`
	Side    Side  `json:"side"`
}

// ShareFinding is one figure of the share contenders beside kpar's
// consumer group, judged once here.
type ShareFinding struct {
	Where       string   `json:"where"` // "I/O-bound, concurrency 500", "no-op", "memory"
	What        string   `json:"what"`  // "steady rate", "CPU per million records", "peak RSS", "reordered records"
	Unit        string   `json:"unit"`
	LowerBetter bool     `json:"lower_better"`         // CPU, memory and reorders
	Kpar        float64  `json:"kpar"`                 // kpar's consumer group (key order)
	Share       float64  `json:"share"`                // the bare share group
	KparShare   *float64 `json:"kpar_share,omitempty"` // kpar's share mode, when it ran
	Ratio       float64  `json:"share_vs_kpar"`        // Share / Kpar (0 when Kpar is 0)
	// Better is "share", "kpar" or "even" (within EvenBand of each
	// other); for reorders, any difference counts.
	Better string `json:"better"`
}

// EvenBand: two figures within 5% of each other are called even; one run
// per figure on a shared machine does not support a finer verdict.
const EvenBand = 0.05

// Who Better names.
const (
	BetterShare = "share"
	BetterKpar  = "kpar"
	BetterEven  = "even"
)

// Target is one of the comparison's targets, judged on this run's data.
type Target struct {
	Name     string  `json:"name"`
	What     string  `json:"what"`
	Want     float64 `json:"want"`
	Got      float64 `json:"got"`
	Measured bool    `json:"measured"` // false: the run did not include what it needs
	Met      bool    `json:"met"`      // every repeat passed
	Reason   string  `json:"reason"`   // what the target stands for
	// Runs are the per-repeat figures, Passed how many of them passed;
	// Outcome is OutcomeMet (all), OutcomeMixed (some) or OutcomeMissed
	// (none), "" when not measured. Got is the median of Runs.
	Runs    []float64 `json:"runs,omitempty"`
	Passed  int       `json:"passed"`
	Outcome string    `json:"outcome,omitempty"`
	// CPUFraction: kpar's CPU per record over PC's, where the target
	// also asks for "a fraction of its CPU" (< 1).
	CPUFraction float64 `json:"cpu_fraction,omitempty"`
	Why         string  `json:"why,omitempty"` // what was not measured, or what else missed
}

// PCWin is one figure where PC did better than kpar.
type PCWin struct {
	Where string  `json:"where"`
	What  string  `json:"what"`
	Unit  string  `json:"unit"`
	Kpar  float64 `json:"kpar"`
	PC    float64 `json:"pc"`
}

// Target outcomes over the repeats.
const (
	OutcomeMet    = "met"
	OutcomeMixed  = "mixed"
	OutcomeMissed = "missed"
)

// The targets (reported, never asserted).
const (
	IO500Speedup    = 3.0
	IO5000Speedup   = 10.0
	NoopVsPCTarget  = 20.0
	NoopVsPlainGoal = 0.8
	KparShareIdeal  = 0.9
)
