package produce

import (
	"cmp"
	"fmt"

	"github.com/kpar/kpar/internal/clock"
	"github.com/kpar/kpar/internal/producerperf"
	"github.com/kpar/kpar/internal/results"
)

// Kind is this result's schema, the version this kpar writes and its data
// file. Version 2: the header is results.Header ("version" instead of
// "schema_version", "command" is the kpar command line). Version 3: a run
// sweeps partition counts and record sizes too (each sweep names its
// partitions, record size and records per step), steps carry per-core CPU and
// loopback bytes, and the result adds the partition ceilings, the acks=all vs
// acks=1 cost, pinning and the kcat anchor; every v2 field keeps its meaning.
// Version 4: kcat.target_met is true only when every repeat met the target
// (it was the median repeat's); kcat.target is the verdict over the repeats
// (met, missed or mixed (k of N)) and kcat.verdict its sentence.
var Kind = results.Kind{Schema: "kpar.bench.produce", Version: 4, File: "results.json"}

// Result is everything one `kpar bench produce` run measured.
type Result struct {
	results.Header
	Host   Host   `json:"host"`
	Broker Broker `json:"broker"`
	Input  Input  `json:"input"`
	Repeat int    `json:"repeat"`
	// SizeBudget is the most bytes a step at a record size sent.
	SizeBudget    int64 `json:"size_budget_bytes,omitempty"`
	WarmupRecords int   `json:"warmup_records"`
	// Partitions per target topic as found (or created) on the broker.
	Partitions map[string]int `json:"partitions"`
	// ReplicationFactor is what the bench created its topics with:
	// min(3, brokers).
	ReplicationFactor int             `json:"replication_factor"`
	Sweeps            []Sweep         `json:"sweeps"`
	Java              *JavaComparison `json:"java,omitempty"`
	Kcat              *KcatComparison `json:"kcat,omitempty"`
	// Ceilings is the partition sweep: the best rate at each partition
	// count, per settings and record size (only where 2+ counts ran).
	Ceilings []Ceiling `json:"ceilings,omitempty"`
	// AcksCosts sets acks=all against acks=1 where both ran with otherwise
	// equal settings.
	AcksCosts []AcksCost `json:"acks_costs,omitempty"`
	// Pinned is what --pin pinned (nil: nothing was).
	Pinned *PinInfo `json:"pinned,omitempty"`
	Notes  []string `json:"notes,omitempty"`
}

// Host is the machine the bench ran on.
type Host struct {
	Cores     int    `json:"cores"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
}

// Broker says where the records went and whether its CPU was readable.
type Broker struct {
	Seeds []string `json:"seeds"`
	// Local is true when the seeds are the broker `kpar broker up` started,
	// whose JVM pids give broker CPU through /proc.
	Local bool  `json:"local"`
	PIDs  []int `json:"pids,omitempty"`
	// CPU is "proc" when read from /proc/<pid>/stat (summed over PIDs), else "unknown".
	CPU string `json:"cpu"`
	// Nodes is the number of brokers the cluster's metadata lists.
	Nodes int `json:"nodes"`
}

// Input describes the dataset.
type Input struct {
	File           string   `json:"file"`
	Records        int      `json:"records"`
	PayloadBytes   int64    `json:"payload_bytes"`
	KeyColumn      string   `json:"key_column"`
	Value          string   `json:"value"`
	SkippedRows    int      `json:"skipped_rows"`
	FirstBadRows   []string `json:"first_bad_rows,omitempty"`
	LoadSeconds    float64  `json:"load_seconds"`
	LoadRecordsSec float64  `json:"load_records_per_sec"`
}

// Sweep is one settings combination, partition count and record size run
// over every producer count.
type Sweep struct {
	Label    string   `json:"label"`
	Mode     string   `json:"mode"`
	Settings Settings `json:"settings"`
	// Partitions of the sweep's topics; RecordSize the value bytes (0: the
	// rows as they are); Records what each step sent.
	Partitions int `json:"partitions"`
	RecordSize int `json:"record_size"`
	Records    int `json:"records"`
	// Cores says which pinned side filled its CPUs first (nil unless pinned).
	Cores      *CoreVerdict `json:"cores,omitempty"`
	Steps      []Step       `json:"steps"`
	Saturation Saturation   `json:"saturation"`
	Bottleneck Bottleneck   `json:"bottleneck"`
}

// Versus is what both anchors hold: one kpar producer process (Go) against
// the tool on the same broker, topic, settings and payloads.
type Versus struct {
	Topic    string   `json:"topic"`
	Settings Settings `json:"settings"`
	// Go is one kpar producer in its own process, measured like the tool.
	Go              Anchor  `json:"go"`
	GoRecordsPerSec float64 `json:"go_records_per_sec"`
	// JavaRecordsPerSec is Java's own rate in the Java comparison, its
	// whole-process rate in kcat's (0 there when --vs-java was off).
	JavaRecordsPerSec float64 `json:"java_records_per_sec"`
	// CPU seconds per million records, whole process (start-up included).
	GoCPUPerMillion   float64 `json:"go_cpu_s_per_million"`
	JavaCPUPerMillion float64 `json:"java_cpu_s_per_million"`
	// Ratios are Go over the tool: >1 means Go is faster; <1 means Go uses less CPU.
	RecordsPerSecRatio float64 `json:"records_per_sec_ratio"`
	CPUPerMillionRatio float64 `json:"cpu_per_million_ratio"`
	PayloadsSkipped    int     `json:"payloads_skipped"` // values with line breaks, not sendable one per line
}

// JavaComparison sets one Go producer against ProducerPerformance.
type JavaComparison struct {
	Versus
	Records int                 `json:"records"`
	Java    producerperf.Result `json:"java"`
}

// Compute fills the derived fields from the measured ones.
func (j *JavaComparison) Compute() {
	j.GoRecordsPerSec = clock.Ratio(float64(j.Go.Acked), float64(j.Go.ElapsedNs)/1e9)
	j.JavaRecordsPerSec = j.Java.RecordsPerSec
	j.GoCPUPerMillion = clock.PerMillion(j.Go.ProcessCPUSeconds, j.Go.Acked)
	j.JavaCPUPerMillion = clock.PerMillion(j.Java.CPUSeconds, j.Java.Records)
	j.RecordsPerSecRatio = clock.Ratio(j.GoRecordsPerSec, j.JavaRecordsPerSec)
	j.CPUPerMillionRatio = clock.Ratio(j.GoCPUPerMillion, j.JavaCPUPerMillion)
}

// FailedSteps names every step in which a delivery failed, one line each
// ("<sweep label>, N producers: F of R deliveries failed: first error"): its
// throughput is not that of a complete run, and the command exits non-zero.
func (r Result) FailedSteps() []string {
	var out []string
	for _, sw := range r.Sweeps {
		for _, st := range sw.Steps {
			if st.Failed > 0 {
				out = append(out, fmt.Sprintf("%s, %d producers: %d of %d deliveries failed: %s",
					sw.Label, st.Producers, st.Failed, st.Records, st.FirstError))
			}
		}
	}
	return out
}

// judge sets the sweep's saturation, bottleneck (on cores CPUs and
// partitions partitions) and, pinned, its core verdict from its steps.
func (sw *Sweep) judge(cores, partitions int, pin *Pin) {
	sw.Saturation = FindSaturation(sw.Steps)
	sw.Bottleneck = FindBottleneck(sw.Steps, sw.Saturation, cores, partitions)
	if pin != nil {
		sw.Cores = FindCores(sw.Steps, *pin)
	}
}

// Rederive recomputes every verdict and sentence r stores from its measured
// figures (saturation, bottleneck, pinned cores, the anchors' ratios and the
// kcat target, the ceilings, the cost of acks=all), so a document read from
// a file never shows a stored verdict beside a figure that contradicts it.
func Rederive(r Result) Result {
	sweeps := make([]Sweep, len(r.Sweeps))
	for i, sw := range r.Sweeps {
		sw.Steps = append([]Step(nil), sw.Steps...)
		parts := sw.Partitions
		if len(sw.Settings.Topics) > 0 {
			parts = cmp.Or(r.Partitions[sw.Settings.Topics[0]], parts)
		}
		var pin *Pin
		if r.Pinned != nil {
			pin = &r.Pinned.Pin
		}
		sw.judge(r.Host.Cores, parts, pin)
		sweeps[i] = sw
	}
	r.Sweeps = sweeps
	if r.Java != nil {
		j := *r.Java
		j.Compute()
		r.Java = &j
	}
	if r.Kcat != nil {
		k := *r.Kcat
		k.Compute() // the median repeat's figures; the verdict is over every repeat
		if len(k.Repeats) > 1 {
			k.judge(append([]KcatRepeat(nil), k.Repeats...))
		}
		r.Kcat = &k
	}
	r.Ceilings = FindCeilings(r.Sweeps)
	r.AcksCosts = FindAcksCosts(r.Sweeps, r.ReplicationFactor)
	return r
}
