package compare

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/kpar/kpar/internal/clock"
	"github.com/kpar/kpar/internal/compare/window"
	"github.com/kpar/kpar/internal/results"
)

// Schema names the result data; Version changes whenever a field changes
// meaning or disappears.
const (
	Schema = "kpar.compare.consume"
	// v2: the share-group contenders (IOPoint, Noop and RSS .Share and
	// .KparShare, Noop.JavaShare, Side.Order, Members, Redelivered),
	// Env.ShareMembers, Result.ShareFindings; v1's fields keep their meaning.
	// v3: one clock for every contender (internal/clock): Side.SteadyPerS is
	// the rate between the warm-up (first 10% of n distinct records) and the
	// n-th distinct record (it was first record to last, n completions),
	// Side.Window its events, the median of Side.Repeats when the run was
	// repeated (RateMin/RateMax the spread); ratios are medians of the
	// per-repeat ratios (IOPoint.SpeedupRuns, Noop.VsPCRuns, VsPlainRuns);
	// Target.Outcome met/mixed/missed over the repeats; RSS.HeapSearch (PC
	// with kpar's fetch sizes, the smallest heap that finished);
	// Result.Failures (a part that failed, the others kept); Env.Repeat,
	// Env.MinWindowS.
	Version = 3
	// DataFile is the name of the data file in --out.
	DataFile = "compare.json"
)

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
	// ShareFindings compares the share contenders with kpar's consumer
	// group, figure by figure (judgeShare): the lesson's data.
	ShareFindings []ShareFinding `json:"share_findings"`
	// Window is the out-of-order window measurement, when Config.Window
	// asked for it.
	Window *window.Result `json:"window,omitempty"`
	// PCCompared is how many figures judge compared between kpar and PC
	// (PCWins lists those PC did better on).
	PCCompared int `json:"pc_compared"`
	// Failures are the parts that did not complete, each with its reason;
	// every other part's figures are kept.
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
	// ShareMembers is the member clients of the bare share contender (and
	// of kpar's share mode, and ShareConsumerPerformance's --threads).
	ShareMembers int `json:"share_members"`
	// KparShare says kpar's share mode ran (its sides are present).
	KparShare bool `json:"kpar_share"`
	// Repeat is the runs of every io and no-op contender, interleaved
	// (each repeat runs every contender once); MinWindowS the shortest
	// measured window accepted (shorter runs were refused).
	Repeat     int     `json:"repeat"`
	MinWindowS float64 `json:"min_window_s"`
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
	// FetchMaxBytes: kpar's and the plain loop's kgo.FetchMaxBytes (0: kgo's default).
	FetchMaxBytes int32 `json:"fetch_max_bytes,omitempty"`
	// PC only.
	JVMFlags     []string `json:"jvm_flags,omitempty"`
	MaxHeapBytes int64    `json:"jvm_max_heap_bytes,omitempty"`
	StartupS     float64  `json:"jvm_startup_s,omitempty"`
	CloseS       float64  `json:"close_s,omitempty"`
	Duplicates   int64    `json:"duplicates,omitempty"`
	// Order is the per-key order kept in an io run (kpar and the share
	// contenders; see Order for the definition).
	Order *Order `json:"order,omitempty"`
	// Share contenders only: member clients, and processings of records
	// the broker delivered more than once (DeliveryCount > 1).
	Members     int   `json:"members,omitempty"`
	Redelivered int64 `json:"redelivered,omitempty"`
	// Window is the run's clock (internal/clock); of a median Side, the
	// window of the median-rate repeat.
	Window clock.Window `json:"window"`
	// FetchMaxPartitionBytes: kpar's and the plain loops' client as it
	// ran; PC's when it was given one (0: kafka-clients' default).
	FetchMaxPartitionBytes int32 `json:"fetch_max_partition_bytes,omitempty"`
	// Repeats are the runs a median Side was made of, in run order;
	// RateMin and RateMax their rates' spread.
	Repeats []Side  `json:"repeats,omitempty"`
	RateMin float64 `json:"rate_min,omitempty"`
	RateMax float64 `json:"rate_max,omitempty"`
}

// IOPoint is the I/O-bound run at one concurrency.
type IOPoint struct {
	Concurrency int     `json:"concurrency"`
	Keys        int     `json:"keys"`
	Topic       string  `json:"topic"`
	IdealPerS   float64 `json:"ideal_per_s"` // min(concurrency, keys) / sleep
	Kpar        Side    `json:"kpar"`
	PC          Side    `json:"pc"`
	Speedup     float64 `json:"speedup"`   // median over the repeats of kpar's rate / PC's
	CPURatio    float64 `json:"cpu_ratio"` // median of kpar's CPU per record / PC's
	// SpeedupRuns and CPURatioRuns are the ratios of each repeat.
	SpeedupRuns  []float64 `json:"speedup_runs"`
	CPURatioRuns []float64 `json:"cpu_ratio_runs"`
	// Share is the bare franz-go share consumer; KparShare kpar's share
	// mode (nil when the run had none).
	Share     Side  `json:"share"`
	KparShare *Side `json:"kpar_share,omitempty"`
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
	// JavaShare is Kafka's ShareConsumerPerformance on the same topic: its
	// own clock (its whole run), in no ratio with the others.
	JavaShare JavaShare `json:"java_share"`
}

// RSS is the memory run: each process over the same backlog.
type RSS struct {
	Topic string `json:"topic"`
	Kpar  Side   `json:"kpar"`
	Plain Side   `json:"plain"`
	PC    Side   `json:"pc"` // the JVM's default heap
	// PCCapped is PC again with -Xmx CapHeap and kpar's fetch sizes (the
	// heap search's first step); it may not finish.
	PCCapped Side   `json:"pc_capped"`
	CapHeap  string `json:"cap_heap"`
	// CapFromKpar says CapHeap is kpar's peak RSS rounded up to whole MiB.
	CapFromKpar bool  `json:"cap_from_kpar"`
	Share       Side  `json:"share"`
	KparShare   *Side `json:"kpar_share,omitempty"`
	// HeapSearch is PC's smallest heap that finished the backlog with
	// kpar's fetch sizes (nil when the search did not run).
	HeapSearch *HeapSearch `json:"heap_search,omitempty"`
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
	Where string `json:"where"` // "I/O-bound, concurrency 500", "no-op", "memory"
	What  string `json:"what"`  // "steady rate", "CPU per million records", "peak RSS", "reordered records"
	Unit  string `json:"unit"`
	// LowerBetter: CPU, memory and reorders; rates are higher-better.
	LowerBetter bool    `json:"lower_better"`
	Kpar        float64 `json:"kpar"`  // kpar's consumer group (key order)
	Share       float64 `json:"share"` // the bare share group
	// KparShare is kpar's share mode, when it ran.
	KparShare *float64 `json:"kpar_share,omitempty"`
	// Ratio is Share / Kpar (0 when Kpar is 0).
	Ratio float64 `json:"share_vs_kpar"`
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

// Target is one of issue 9's targets, judged on this run's data.
type Target struct {
	Name     string  `json:"name"`
	What     string  `json:"what"`
	Want     float64 `json:"want"`
	Got      float64 `json:"got"`
	Measured bool    `json:"measured"` // false: the run did not include what it needs
	Met      bool    `json:"met"`      // every repeat passed
	// Reason is what the target stands for, stated with it.
	Reason string `json:"reason"`
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
	KparShareIdeal  = 0.9 // issue 10
)

// side builds a Side from a finished child process.
func side(contender string, p childRun) Side {
	s := Side{Contender: contender, Finished: true, Records: p.out.Records, Seconds: p.out.Seconds,
		FirstRecordS: p.out.FirstRecordS, SteadyPerS: p.out.SteadyPerS, MeanHandlerMs: p.out.MeanHandler,
		CPUSeconds: p.cpuSeconds, PeakRSSKiB: p.peakRSSKiB, WallSeconds: p.wall, FetchMaxBytes: p.out.FetchMaxBytes,
		FetchMaxPartitionBytes: p.out.FetchMaxPartitionBytes, Window: p.out.Window,
		Order: p.out.Order, Members: p.out.Members, Redelivered: p.out.Redelivered}
	s.CPUPerMillion = perMillion(s.CPUSeconds, s.Records)
	return s
}

func perMillion(cpu float64, records int64) float64 {
	if records <= 0 {
		return 0
	}
	return cpu / float64(records) * 1e6
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

// median of v (the mean of the two middle values for an even count); 0
// for none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// aggregate is the median Side of a contender's repeats: every figure the
// median of the repeats' (the window that of the median-rate repeat, or
// the lower of the two middle ones), the order the worst kept, the runs
// in Repeats and the rates' spread in RateMin/RateMax.
func aggregate(runs []Side) Side {
	if len(runs) == 0 {
		return Side{}
	}
	pick := func(f func(Side) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		return median(v)
	}
	byRate := slices.Clone(runs)
	slices.SortStableFunc(byRate, func(a, b Side) int { return cmp.Compare(a.SteadyPerS, b.SteadyPerS) })
	s := byRate[(len(byRate)-1)/2]
	s.SteadyPerS = pick(func(r Side) float64 { return r.SteadyPerS })
	s.Seconds = pick(func(r Side) float64 { return r.Seconds })
	s.FirstRecordS = pick(func(r Side) float64 { return r.FirstRecordS })
	s.MeanHandlerMs = pick(func(r Side) float64 { return r.MeanHandlerMs })
	s.CPUSeconds = pick(func(r Side) float64 { return r.CPUSeconds })
	s.CPUPerMillion = pick(func(r Side) float64 { return r.CPUPerMillion })
	s.PeakRSSKiB = int64(pick(func(r Side) float64 { return float64(r.PeakRSSKiB) }))
	s.WallSeconds = pick(func(r Side) float64 { return r.WallSeconds })
	s.RateMin, s.RateMax = byRate[0].SteadyPerS, byRate[len(byRate)-1].SteadyPerS
	for _, r := range runs {
		if r.Order != nil && (s.Order == nil || r.Order.Reordered > s.Order.Reordered) {
			s.Order = r.Order
		}
		s.Redelivered = max(s.Redelivered, r.Redelivered)
		s.Duplicates = max(s.Duplicates, r.Duplicates)
	}
	s.Repeats = nil
	if len(runs) > 1 {
		s.Repeats = runs
	}
	return s
}

// repeats are the runs behind s: its Repeats, or s itself.
func repeats(s Side) []Side {
	if len(s.Repeats) > 0 {
		return s.Repeats
	}
	return []Side{s}
}

// perRepeat is f of each repeat i of a and b (as many as both have).
func perRepeat(a, b Side, f func(a, b Side) float64) []float64 {
	ra, rb := repeats(a), repeats(b)
	out := make([]float64, 0, min(len(ra), len(rb)))
	for i := range min(len(ra), len(rb)) {
		out = append(out, f(ra[i], rb[i]))
	}
	return out
}

func rateRatio(a, b Side) float64 { return ratio(a.SteadyPerS, b.SteadyPerS) }
func cpuRatio(a, b Side) float64  { return ratio(a.CPUPerMillion, b.CPUPerMillion) }

// judgeIO fills the ideals and the ratios of one io point.
func judgeIO(p *IOPoint, sleepMs float64) {
	lanes := float64(min(p.Concurrency, p.Keys))
	p.IdealPerS = lanes / (sleepMs / 1e3)
	ideal := func(s *Side) {
		if s != nil && s.MeanHandlerMs > 0 {
			s.IdealPerS = lanes / (s.MeanHandlerMs / 1e3)
			s.IdealShare = s.SteadyPerS / s.IdealPerS
		}
	}
	for _, s := range []*Side{&p.Kpar, &p.PC, &p.Share, p.KparShare} {
		if s == nil {
			continue
		}
		ideal(s)
		if len(s.Repeats) > 1 {
			// The median of each repeat's share of its own ideal: the
			// median rate over the median handler time would mix repeats.
			per, shares := make([]float64, len(s.Repeats)), make([]float64, len(s.Repeats))
			for i := range s.Repeats {
				ideal(&s.Repeats[i])
				per[i], shares[i] = s.Repeats[i].IdealPerS, s.Repeats[i].IdealShare
			}
			s.IdealPerS, s.IdealShare = median(per), median(shares)
		}
	}
	p.SpeedupRuns = perRepeat(p.Kpar, p.PC, rateRatio)
	p.CPURatioRuns = perRepeat(p.Kpar, p.PC, cpuRatio)
	p.Speedup, p.CPURatio = median(p.SpeedupRuns), median(p.CPURatioRuns)
}

// judgeNoop picks the reference plain loop and the ratios, per repeat.
func judgeNoop(n *Noop) {
	if n.PlainDefault.Finished || n.PlainSameFetch.Finished {
		n.Plain = n.PlainDefault
		if n.PlainSameFetch.SteadyPerS > n.Plain.SteadyPerS {
			n.Plain = n.PlainSameFetch
		}
	}
	n.VsPCRuns = perRepeat(n.Kpar, n.PC, rateRatio)
	n.CPURatioPCRuns = perRepeat(n.Kpar, n.PC, cpuRatio)
	// Each repeat's kpar against that repeat's faster plain loop.
	faster := perRepeat(n.PlainDefault, n.PlainSameFetch, func(a, b Side) float64 { return max(a.SteadyPerS, b.SteadyPerS) })
	n.VsPlainRuns = nil
	for i, k := range repeats(n.Kpar) {
		if i < len(faster) {
			n.VsPlainRuns = append(n.VsPlainRuns, ratio(k.SteadyPerS, faster[i]))
		}
	}
	n.VsPC, n.VsPlain, n.CPURatioPC = median(n.VsPCRuns), median(n.VsPlainRuns), median(n.CPURatioPCRuns)
}

// settle sets a measured target's figures from its per-repeat values and
// which of them passed.
func (t *Target) settle(runs []float64, pass func(i int) bool) {
	t.Measured, t.Runs, t.Got, t.Passed = true, runs, median(runs), 0
	for i := range runs {
		if pass(i) {
			t.Passed++
		}
	}
	t.Met = len(runs) > 0 && t.Passed == len(runs)
	switch {
	case t.Met:
		t.Outcome = OutcomeMet
	case t.Passed > 0:
		t.Outcome = OutcomeMixed
	default:
		t.Outcome = OutcomeMissed
	}
}

// judge computes the targets and PC's wins from the measurements: the
// one place verdicts are made. A target is met only when every repeat
// passed it.
func judge(r *Result) {
	r.Targets = nil
	failed := func(part string) string {
		for _, f := range r.Failures {
			if f.Part == part {
				return fmt.Sprintf("the %s part failed: %s", part, firstLine(f.Reason))
			}
		}
		return ""
	}
	io := func(conc int, want float64, cpuToo bool, reason string) Target {
		t := Target{Name: fmt.Sprintf("io-%d", conc), Want: want, Reason: reason,
			What: fmt.Sprintf("I/O-bound at concurrency %d: kpar >= %.0fx PC's records/s", conc, want)}
		if cpuToo {
			t.What += ", at a fraction of its CPU"
		}
		for _, p := range r.IO {
			if p.Concurrency != conc {
				continue
			}
			t.settle(p.SpeedupRuns, func(i int) bool {
				return p.SpeedupRuns[i] >= want && (!cpuToo || (i < len(p.CPURatioRuns) && p.CPURatioRuns[i] < 1))
			})
			if cpuToo {
				t.CPUFraction = p.CPURatio
				if p.CPURatio >= 1 {
					t.Why = fmt.Sprintf("kpar spent %.2fx PC's CPU per record (median)", p.CPURatio)
				}
			}
		}
		if !t.Measured {
			t.Why = fmt.Sprintf("concurrency %d was not in this run", conc)
			if w := failed(fmt.Sprintf("io c=%d", conc)); w != "" {
				t.Why = w
			}
		}
		return t
	}
	r.Targets = append(r.Targets,
		io(500, IO500Speedup, false, "I/O-bound handlers with hundreds of records in flight are the work a parallel consumer is for"),
		io(5000, IO5000Speedup, true, "with thousands of records in flight, the bookkeeping per record decides both the rate and the CPU"))
	vsPC := Target{Name: "noop-vs-pc", What: fmt.Sprintf("no-op: kpar >= %.0fx PC's records/s", NoopVsPCTarget), Want: NoopVsPCTarget,
		Reason: "with no handler work, the rate is the consumer's own cost per record"}
	vsPlain := Target{Name: "noop-vs-plain", What: fmt.Sprintf("no-op: kpar >= %.1fx the plain loop's records/s", NoopVsPlainGoal), Want: NoopVsPlainGoal,
		Reason: "a poll loop with no group, commits or dispatch is the cheapest consumer there is, the floor"}
	if n := r.Noop; n != nil {
		vsPC.settle(n.VsPCRuns, func(i int) bool { return n.VsPCRuns[i] >= NoopVsPCTarget })
		vsPlain.settle(n.VsPlainRuns, func(i int) bool { return n.VsPlainRuns[i] >= NoopVsPlainGoal })
	} else if w := failed(PartNoop); w != "" {
		vsPC.Why, vsPlain.Why = w, w
	} else {
		vsPC.Why, vsPlain.Why = "the no-op part did not run", "the no-op part did not run"
	}
	r.Targets = append(r.Targets, vsPC, vsPlain)
	ks := Target{Name: "kpar-share-io-500", Want: KparShareIdeal,
		What:   fmt.Sprintf("kpar's share mode, I/O-bound at concurrency 500: >= %.1fx the ideal", KparShareIdeal),
		Reason: "a share group hands records to any member without per-partition order, so its rate can approach the ideal of its concurrency"}
	for _, p := range r.IO {
		if p.Concurrency == 500 && p.KparShare != nil {
			runs := repeats(*p.KparShare)
			v := make([]float64, len(runs))
			for i, s := range runs {
				v[i] = s.IdealShare
			}
			ks.settle(v, func(i int) bool { return v[i] >= KparShareIdeal })
		}
	}
	if !ks.Measured {
		ks.Why = "concurrency 500 was not in this run"
		if w := failed("io c=500"); w != "" {
			ks.Why = w
		}
		if !r.Env.KparShare {
			ks.Why = "kpar's share mode did not run"
		}
	}
	r.Targets = append(r.Targets, ks)

	r.PCWins, r.PCCompared = nil, 0
	win := func(where, what, unit string, kpar, pc float64, lowerBetter bool) {
		if kpar <= 0 || pc <= 0 {
			return
		}
		r.PCCompared++
		if (lowerBetter && pc < kpar) || (!lowerBetter && pc > kpar) {
			r.PCWins = append(r.PCWins, PCWin{Where: where, What: what, Unit: unit, Kpar: kpar, PC: pc})
		}
	}
	for _, p := range r.IO {
		where := fmt.Sprintf("I/O-bound, concurrency %d", p.Concurrency)
		win(where, "steady rate", "records/s", p.Kpar.SteadyPerS, p.PC.SteadyPerS, false)
		win(where, "CPU per million records", "CPU-s", p.Kpar.CPUPerMillion, p.PC.CPUPerMillion, true)
	}
	if n := r.Noop; n != nil {
		win("no-op", "steady rate", "records/s", n.Kpar.SteadyPerS, n.PC.SteadyPerS, false)
		win("no-op", "CPU per million records", "CPU-s", n.Kpar.CPUPerMillion, n.PC.CPUPerMillion, true)
	}
	if m := r.RSS; m != nil {
		win("memory, default heap", "peak RSS", "MiB", kib2mib(m.Kpar.PeakRSSKiB), kib2mib(m.PC.PeakRSSKiB), true)
		if m.PCCapped.Finished {
			win("memory, "+PCLabel(m.PCCapped), "peak RSS", "MiB", kib2mib(m.Kpar.PeakRSSKiB), kib2mib(m.PCCapped.PeakRSSKiB), true)
		}
	}
}

// PCLabel names a PC run by what it was given: its heap and fetch sizes.
func PCLabel(s Side) string {
	heap := "the JVM's default heap"
	for _, f := range s.JVMFlags {
		if strings.HasPrefix(f, "-Xmx") {
			heap = f
		}
	}
	fetch := "kafka-clients' default fetch sizes"
	if s.FetchMaxBytes > 0 || s.FetchMaxPartitionBytes > 0 {
		fetch = fmt.Sprintf("fetch.max.bytes %s, max.partition.fetch.bytes %s", bytesOrDefault(s.FetchMaxBytes), bytesOrDefault(s.FetchMaxPartitionBytes))
	}
	return "PC, " + heap + ", " + fetch
}

func bytesOrDefault(b int32) string {
	if b <= 0 {
		return "default"
	}
	return fmt.Sprintf("%d", b)
}

func kib2mib(k int64) float64 { return float64(k) / 1024 }

// judgeShare compares the share contenders with kpar's consumer group on
// every figure both have: the one place the lesson's verdicts are made.
func judgeShare(r *Result) {
	r.ShareFindings = nil
	add := func(where, what, unit string, lower bool, kpar, share float64, ks *Side, ksVal func(Side) float64) {
		if kpar < 0 || share < 0 {
			return
		}
		f := ShareFinding{Where: where, What: what, Unit: unit, LowerBetter: lower, Kpar: kpar, Share: share,
			Ratio: ratio(share, kpar), Better: BetterEven}
		if ks != nil {
			v := ksVal(*ks)
			f.KparShare = &v
		}
		shareAhead, kparAhead := share > kpar, kpar > share
		if lower {
			shareAhead, kparAhead = kparAhead, shareAhead
		}
		if unit != "records" && kpar > 0 && share > 0 && max(share, kpar)/min(share, kpar) <= 1+EvenBand {
			shareAhead, kparAhead = false, false // within the noise of one run
		}
		switch {
		case shareAhead:
			f.Better = BetterShare
		case kparAhead:
			f.Better = BetterKpar
		}
		r.ShareFindings = append(r.ShareFindings, f)
	}
	rate := func(s Side) float64 { return s.SteadyPerS }
	cpu := func(s Side) float64 { return s.CPUPerMillion }
	rss := func(s Side) float64 { return kib2mib(s.PeakRSSKiB) }
	reordered := func(s Side) float64 {
		if s.Order == nil {
			return -1
		}
		return float64(s.Order.Reordered)
	}
	for _, p := range r.IO {
		if p.Share.Contender == "" {
			continue
		}
		where := fmt.Sprintf("I/O-bound, concurrency %d", p.Concurrency)
		add(where, "steady rate", "records/s", false, rate(p.Kpar), rate(p.Share), p.KparShare, rate)
		add(where, "CPU per million records", "CPU-s", true, cpu(p.Kpar), cpu(p.Share), p.KparShare, cpu)
		add(where, "reordered records", "records", true, reordered(p.Kpar), reordered(p.Share), p.KparShare, reordered)
	}
	if n := r.Noop; n != nil && n.Share.Contender != "" {
		add("no-op", "steady rate", "records/s", false, rate(n.Kpar), rate(n.Share), n.KparShare, rate)
		add("no-op", "CPU per million records", "CPU-s", true, cpu(n.Kpar), cpu(n.Share), n.KparShare, cpu)
		// Joining: a share member gets its assignment from a heartbeat,
		// a consumer group from its join; steady rates leave it out.
		add("no-op", "time to the first record", "s", true, n.Kpar.FirstRecordS, n.Share.FirstRecordS, n.KparShare,
			func(s Side) float64 { return s.FirstRecordS })
	}
	if m := r.RSS; m != nil && m.Share.Contender != "" {
		add("memory", "peak RSS", "MiB", true, rss(m.Kpar), rss(m.Share), m.KparShare, rss)
	}
}

// Rejudge recomputes r's ideals, ratios, targets, PC's wins, the share
// findings and the table from its measurements, as Run does, so a reader
// such as the report never repeats a stored verdict that the figures beside
// it contradict.
func Rejudge(r Result) Result {
	r.IO = append([]IOPoint(nil), r.IO...)
	for i := range r.IO {
		judgeIO(&r.IO[i], r.Env.SleepMs)
	}
	if r.Noop != nil {
		n := *r.Noop
		judgeNoop(&n)
		r.Noop = &n
	}
	judge(&r)
	judgeShare(&r)
	r.Table = buildTable(&r)
	return r
}
