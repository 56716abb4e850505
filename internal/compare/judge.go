package compare

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/kpar/kpar/internal/clock"
)

// median of v (the mean of the two middle values for an even count); 0
// for none.
func median(v []float64) float64 { return clock.SpreadOf(v).Median }

// aggregate is the median Side of a contender's repeats: every figure the
// median of the repeats' (the window that of the median-rate repeat, or
// the lower of the two middle ones), the order the worst kept, the runs
// in Repeats and the rates' spread in RateMin/RateMax.
func aggregate(runs []Side) Side {
	if len(runs) == 0 {
		return Side{}
	}
	pick := func(f func(Side) float64) float64 { return median(figures(runs, f)) }
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

func rateRatio(a, b Side) float64 { return clock.Ratio(a.SteadyPerS, b.SteadyPerS) }

func cpuRatio(a, b Side) float64 { return clock.Ratio(a.CPUPerMillion, b.CPUPerMillion) }

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
			n.VsPlainRuns = append(n.VsPlainRuns, clock.Ratio(k.SteadyPerS, faster[i]))
		}
	}
	n.VsPC, n.VsPlain, n.CPURatioPC = median(n.VsPCRuns), median(n.VsPlainRuns), median(n.CPURatioPCRuns)
}

// settle sets a measured target's figures from its per-repeat values and
// which of them passed.
func (t *Target) settle(runs []float64, pass func(i int) bool) {
	passed := make([]bool, len(runs))
	for i := range runs {
		passed[i] = pass(i)
	}
	v := clock.Judge(passed)
	t.Measured, t.Runs, t.Got, t.Passed, t.Met = true, runs, median(runs), v.Met, v.AllMet()
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
	judgeTargets(r)
	judgePCWins(r)
}

// judgeTargets computes the targets, each over every repeat.
func judgeTargets(r *Result) {
	// why is what kept t from being measured: its part failed, else absent.
	why := func(t *Target, part, absent string) {
		t.Why = absent
		for _, f := range r.Failures {
			if f.Part == part {
				t.Why = fmt.Sprintf("the %s part failed: %s", part, firstLine(f.Reason))
				return
			}
		}
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
			why(&t, fmt.Sprintf("io c=%d", conc), fmt.Sprintf("concurrency %d was not in this run", conc))
		}
		return t
	}
	vsPC := Target{Name: "noop-vs-pc", What: fmt.Sprintf("no-op: kpar >= %.0fx PC's records/s", NoopVsPCTarget), Want: NoopVsPCTarget,
		Reason: "with no handler work, the rate is the consumer's own cost per record"}
	vsPlain := Target{Name: "noop-vs-plain", What: fmt.Sprintf("no-op: kpar >= %.1fx the plain loop's records/s", NoopVsPlainGoal), Want: NoopVsPlainGoal,
		Reason: "a poll loop with no group, commits or dispatch is the cheapest consumer there is, the floor"}
	if n := r.Noop; n != nil {
		vsPC.settle(n.VsPCRuns, func(i int) bool { return n.VsPCRuns[i] >= NoopVsPCTarget })
		vsPlain.settle(n.VsPlainRuns, func(i int) bool { return n.VsPlainRuns[i] >= NoopVsPlainGoal })
	} else {
		why(&vsPC, PartNoop, "the no-op part did not run")
		vsPlain.Why = vsPC.Why
	}
	ks := Target{Name: "kpar-share-io-500", Want: KparShareIdeal,
		What:   fmt.Sprintf("kpar's share mode, I/O-bound at concurrency 500: >= %.1fx the ideal", KparShareIdeal),
		Reason: "a share group hands records to any member without per-partition order, so its rate can approach the ideal of its concurrency"}
	for _, p := range r.IO {
		if p.Concurrency == 500 && p.KparShare != nil {
			v := figures(repeats(*p.KparShare), func(s Side) float64 { return s.IdealShare })
			ks.settle(v, func(i int) bool { return v[i] >= KparShareIdeal })
		}
	}
	if !ks.Measured {
		why(&ks, "io c=500", "concurrency 500 was not in this run")
		if !r.Env.KparShare {
			ks.Why = "kpar's share mode did not run"
		}
	}
	r.Targets = []Target{
		io(500, IO500Speedup, false, "I/O-bound handlers with hundreds of records in flight are the work a parallel consumer is for"),
		io(5000, IO5000Speedup, true, "with thousands of records in flight, the bookkeeping per record decides both the rate and the CPU"),
		vsPC, vsPlain, ks}
}

// figures is f of every side.
func figures(sides []Side, f func(Side) float64) []float64 {
	v := make([]float64, len(sides))
	for i, s := range sides {
		v[i] = f(s)
	}
	return v
}

// figure is one measured figure of a Side, as PC's wins and the share
// findings compare it.
type figure struct {
	what, unit string
	lower      bool // better when lower: CPU, memory, reorders, time
	of         func(Side) float64
}

var (
	figRate = figure{"steady rate", "records/s", false, func(s Side) float64 { return s.SteadyPerS }}
	figCPU  = figure{"CPU per million records", "CPU-s", true, func(s Side) float64 { return s.CPUPerMillion }}
	figRSS  = figure{"peak RSS", "MiB", true, func(s Side) float64 { return kib2mib(s.PeakRSSKiB) }}
	// figOrder is -1 for a run without a trace: no finding.
	figOrder = figure{"reordered records", "records", true, func(s Side) float64 {
		if s.Order == nil {
			return -1
		}
		return float64(s.Order.Reordered)
	}}
	// Joining: a share member gets its assignment from a heartbeat, a
	// consumer group from its join; steady rates leave it out.
	figFirst = figure{"time to the first record", "s", true, func(s Side) float64 { return s.FirstRecordS }}
)

// judgePCWins lists every figure where PC did better, and counts those
// compared.
func judgePCWins(r *Result) {
	r.PCWins, r.PCCompared = nil, 0
	win := func(where string, f figure, kpar, pc Side) {
		k, p := f.of(kpar), f.of(pc)
		if k <= 0 || p <= 0 {
			return
		}
		r.PCCompared++
		if (f.lower && p < k) || (!f.lower && p > k) {
			r.PCWins = append(r.PCWins, PCWin{Where: where, What: f.what, Unit: f.unit, Kpar: k, PC: p})
		}
	}
	for _, p := range r.IO {
		where := fmt.Sprintf("I/O-bound, concurrency %d", p.Concurrency)
		win(where, figRate, p.Kpar, p.PC)
		win(where, figCPU, p.Kpar, p.PC)
	}
	if n := r.Noop; n != nil {
		win("no-op", figRate, n.Kpar, n.PC)
		win("no-op", figCPU, n.Kpar, n.PC)
	}
	if m := r.RSS; m != nil {
		win("memory, default heap", figRSS, m.Kpar, m.PC)
		if m.PCCapped.Finished {
			win("memory, "+PCLabel(m.PCCapped), figRSS, m.Kpar, m.PCCapped)
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
	add := func(where string, kpar, share Side, ks *Side, figs ...figure) {
		for _, fg := range figs {
			k, sh := fg.of(kpar), fg.of(share)
			if k < 0 || sh < 0 {
				continue
			}
			f := ShareFinding{Where: where, What: fg.what, Unit: fg.unit, LowerBetter: fg.lower, Kpar: k, Share: sh,
				Ratio: clock.Ratio(sh, k), Better: BetterEven}
			if ks != nil {
				v := fg.of(*ks)
				f.KparShare = &v
			}
			shareAhead, kparAhead := sh > k, k > sh
			if fg.lower {
				shareAhead, kparAhead = kparAhead, shareAhead
			}
			if fg.unit != "records" && k > 0 && sh > 0 && max(sh, k)/min(sh, k) <= 1+EvenBand {
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
	}
	for _, p := range r.IO {
		if p.Share.Contender != "" {
			add(fmt.Sprintf("I/O-bound, concurrency %d", p.Concurrency), p.Kpar, p.Share, p.KparShare, figRate, figCPU, figOrder)
		}
	}
	if n := r.Noop; n != nil && n.Share.Contender != "" {
		add("no-op", n.Kpar, n.Share, n.KparShare, figRate, figCPU, figFirst)
	}
	if m := r.RSS; m != nil && m.Share.Contender != "" {
		add("memory", m.Kpar, m.Share, m.KparShare, figRSS)
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
