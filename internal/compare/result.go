package compare

import (
	"fmt"

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
	Version = 2
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
}

// Side is one contender's run. CPUSeconds is the whole process's CPU
// (rusage user+sys, start-up and exit included, the same for every
// contender); rates are steady: first record to the last.
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
}

// IOPoint is the I/O-bound run at one concurrency.
type IOPoint struct {
	Concurrency int     `json:"concurrency"`
	Keys        int     `json:"keys"`
	Topic       string  `json:"topic"`
	IdealPerS   float64 `json:"ideal_per_s"` // min(concurrency, keys) / sleep
	Kpar        Side    `json:"kpar"`
	PC          Side    `json:"pc"`
	Speedup     float64 `json:"speedup"`   // kpar steady / PC steady
	CPURatio    float64 `json:"cpu_ratio"` // kpar CPU per record / PC's
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
	// Plain is the faster of the two plain loops, the conservative
	// reference (as in bench consume): PlainDefault with kgo's 50 MiB
	// default fetch size, PlainSameFetch with kpar's.
	Plain          Side    `json:"plain"`
	PlainDefault   Side    `json:"plain_default_fetch"`
	PlainSameFetch Side    `json:"plain_same_fetch"`
	SameFetchBytes int32   `json:"same_fetch_bytes"`
	VsPC           float64 `json:"kpar_vs_pc"`    // kpar steady / PC steady
	VsPlain        float64 `json:"kpar_vs_plain"` // kpar steady / plain steady
	CPURatioPC     float64 `json:"cpu_ratio_pc"`  // kpar CPU per record / PC's
	Share          Side    `json:"share"`
	KparShare      *Side   `json:"kpar_share,omitempty"`
	// JavaShare is Kafka's ShareConsumerPerformance on the same topic.
	JavaShare JavaShare `json:"java_share"`
}

// RSS is the memory run: each process over the same backlog.
type RSS struct {
	Topic string `json:"topic"`
	Kpar  Side   `json:"kpar"`
	Plain Side   `json:"plain"`
	PC    Side   `json:"pc"` // the JVM's default heap
	// PCCapped is PC again with -Xmx CapHeap; it may not finish.
	PCCapped Side   `json:"pc_capped"`
	CapHeap  string `json:"cap_heap"`
	// CapFromKpar says CapHeap is kpar's peak RSS rounded up to whole MiB.
	CapFromKpar bool  `json:"cap_from_kpar"`
	Share       Side  `json:"share"`
	KparShare   *Side `json:"kpar_share,omitempty"`
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
	Met      bool    `json:"met"`
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

// The targets of issue 9 (reported, never asserted).
const (
	IO500Speedup    = 3.0
	IO5000Speedup   = 10.0
	NoopVsPCTarget  = 20.0
	NoopVsPlainGoal = 0.8
	KparShareIdeal  = 0.9 // issue 10
)

// side builds a Side from a finished child process.
func side(contender string, p proc) Side {
	s := Side{Contender: contender, Finished: true, Records: p.out.Records, Seconds: p.out.Seconds,
		FirstRecordS: p.out.FirstRecordS, SteadyPerS: p.out.SteadyPerS, MeanHandlerMs: p.out.MeanHandler,
		CPUSeconds: p.cpuSeconds, PeakRSSKiB: p.peakRSSKiB, WallSeconds: p.wall, FetchMaxBytes: p.out.FetchMaxBytes,
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

// judgeIO fills the ideals and the ratios of one io point.
func judgeIO(p *IOPoint, sleepMs float64) {
	lanes := float64(min(p.Concurrency, p.Keys))
	p.IdealPerS = lanes / (sleepMs / 1e3)
	for _, s := range []*Side{&p.Kpar, &p.PC, &p.Share, p.KparShare} {
		if s != nil && s.MeanHandlerMs > 0 {
			s.IdealPerS = lanes / (s.MeanHandlerMs / 1e3)
			s.IdealShare = s.SteadyPerS / s.IdealPerS
		}
	}
	p.Speedup = ratio(p.Kpar.SteadyPerS, p.PC.SteadyPerS)
	p.CPURatio = ratio(p.Kpar.CPUPerMillion, p.PC.CPUPerMillion)
}

func judgeNoop(n *Noop) {
	if n.PlainDefault.Finished || n.PlainSameFetch.Finished {
		n.Plain = n.PlainDefault
		if n.PlainSameFetch.SteadyPerS > n.Plain.SteadyPerS {
			n.Plain = n.PlainSameFetch
		}
	}
	n.VsPC = ratio(n.Kpar.SteadyPerS, n.PC.SteadyPerS)
	n.VsPlain = ratio(n.Kpar.SteadyPerS, n.Plain.SteadyPerS)
	n.CPURatioPC = ratio(n.Kpar.CPUPerMillion, n.PC.CPUPerMillion)
}

// judge computes the targets and PC's wins from the measurements: the
// one place verdicts are made.
func judge(r *Result) {
	r.Targets = nil
	io := func(conc int, want float64, cpuToo bool) Target {
		t := Target{Name: fmt.Sprintf("io-%d", conc), Want: want,
			What: fmt.Sprintf("I/O-bound at concurrency %d: kpar >= %.0fx PC's records/s", conc, want)}
		if cpuToo {
			t.What += ", at a fraction of its CPU"
		}
		for _, p := range r.IO {
			if p.Concurrency != conc {
				continue
			}
			t.Measured, t.Got = true, p.Speedup
			t.Met = p.Speedup >= want
			if cpuToo {
				t.CPUFraction = p.CPURatio
				if p.CPURatio >= 1 {
					t.Met = false
					t.Why = fmt.Sprintf("kpar spent %.2fx PC's CPU per record", p.CPURatio)
				}
			}
		}
		if !t.Measured {
			t.Why = fmt.Sprintf("concurrency %d was not in this run", conc)
		}
		return t
	}
	r.Targets = append(r.Targets, io(500, IO500Speedup, false), io(5000, IO5000Speedup, true))
	vsPC := Target{Name: "noop-vs-pc", What: fmt.Sprintf("no-op: kpar >= %.0fx PC's records/s", NoopVsPCTarget), Want: NoopVsPCTarget}
	vsPlain := Target{Name: "noop-vs-plain", What: fmt.Sprintf("no-op: kpar >= %.1fx the plain loop's records/s", NoopVsPlainGoal), Want: NoopVsPlainGoal}
	if n := r.Noop; n != nil {
		vsPC.Measured, vsPC.Got, vsPC.Met = true, n.VsPC, n.VsPC >= NoopVsPCTarget
		vsPlain.Measured, vsPlain.Got, vsPlain.Met = true, n.VsPlain, n.VsPlain >= NoopVsPlainGoal
	}
	r.Targets = append(r.Targets, vsPC, vsPlain)
	ks := Target{Name: "kpar-share-io-500", Want: KparShareIdeal,
		What: fmt.Sprintf("kpar's share mode, I/O-bound at concurrency 500: >= %.1fx the ideal", KparShareIdeal)}
	for _, p := range r.IO {
		if p.Concurrency == 500 && p.KparShare != nil {
			ks.Measured, ks.Got = true, p.KparShare.IdealShare
			ks.Met = ks.Got >= KparShareIdeal
		}
	}
	if !ks.Measured {
		ks.Why = "concurrency 500 was not in this run"
		if !r.Env.KparShare {
			ks.Why = "kpar's share mode did not run"
		}
	}
	r.Targets = append(r.Targets, ks)

	r.PCWins = nil
	win := func(where, what, unit string, kpar, pc float64, lowerBetter bool) {
		if kpar <= 0 || pc <= 0 {
			return
		}
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
			win("memory, -Xmx"+m.CapHeap, "peak RSS", "MiB", kib2mib(m.Kpar.PeakRSSKiB), kib2mib(m.PCCapped.PeakRSSKiB), true)
		}
	}
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
