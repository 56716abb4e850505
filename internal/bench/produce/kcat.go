package produce

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/kpar/kpar/internal/clock"
	"github.com/kpar/kpar/internal/proc"
	"github.com/kpar/kpar/internal/producerperf"
)

// The C anchor: librdkafka through kcat -P, reading the payload file the
// Java tool reads, with the same settings, as its own process. kcat prints
// no rate, so its records/s is whole-process: records that reached the
// topic (end offsets) over the process's wall time, start-up included.

// KcatConfig is one kcat -P run.
type KcatConfig struct {
	Bin         string
	Seeds       []string
	Topic       string
	PayloadFile string // one record value per line
	Props       map[string]string
	// ConfigFile is given with -F: the security settings, whose password
	// must not be on the command line.
	ConfigFile string
}

// KcatResult is what one kcat run measured.
type KcatResult struct {
	// Records is how many reached the topic (end offsets before and after).
	Records     int64    `json:"records"`
	CPUSeconds  float64  `json:"cpu_seconds"` // rusage, the whole process
	WallSeconds float64  `json:"wall_seconds"`
	Errors      int      `json:"errors"` // "% ERROR" and delivery-failure lines on stderr
	FirstError  string   `json:"first_error,omitempty"`
	Args        []string `json:"args"`
}

// Args builds kcat's command line: -P producer, -l one message per line
// of the file.
func (c KcatConfig) Args() []string {
	args := []string{"-P", "-b", strings.Join(c.Seeds, ","), "-t", c.Topic, "-l"}
	if c.ConfigFile != "" {
		args = append(args, "-F", c.ConfigFile)
	}
	for _, k := range slices.Sorted(maps.Keys(c.Props)) {
		args = append(args, "-X", k+"="+c.Props[k])
	}
	return append(args, c.PayloadFile)
}

// runKcat runs kcat and takes its CPU from rusage. A non-zero exit fails
// with the output's tail; error lines on a zero exit are counted (the
// caller checks the topic's end offsets): "% ERROR: ..." and librdkafka's
// "% Delivery failed ..." reports.
func runKcat(ctx context.Context, c KcatConfig) (KcatResult, error) {
	r := KcatResult{Args: append([]string{c.Bin}, c.Args()...)}
	out, p, err := proc.Output(ctx, "kcat", r.Args, proc.Options{})
	if p != nil {
		u := p.Usage()
		r.WallSeconds = u.Wall.Seconds()
		if err == nil {
			r.CPUSeconds = u.CPUSeconds
		}
	}
	if err != nil {
		return r, fmt.Errorf("kcat failed (%v): %s", err, producerperf.Tail(out))
	}
	for _, line := range strings.Split(string(out), "\n") {
		if line = strings.TrimSpace(line); strings.HasPrefix(line, "% ERROR") || strings.Contains(line, "Delivery failed") {
			if r.Errors++; r.Errors == 1 {
				r.FirstError = line
			}
		}
	}
	return r, nil
}

// KcatComparison sets one kpar producer process against kcat, each measured
// as a whole process (records over the process's wall time), and judges the
// target: kpar at least kcat's records/s at no more of its CPU per million
// records. Its ratios are kpar/kcat.
type KcatComparison struct {
	Versus
	Records           int        `json:"records"`
	RecordSize        int        `json:"record_size"`
	Kcat              KcatResult `json:"kcat"`
	KcatRecordsPerSec float64    `json:"kcat_records_per_sec"`
	KcatCPUPerMillion float64    `json:"kcat_cpu_s_per_million"`
	// TargetMet is true only when every repeat met the target; Target is
	// the verdict over the repeats (met, missed or mixed (k of N)).
	TargetMet bool          `json:"target_met"`
	Target    clock.Verdict `json:"target"`
	Verdict   string        `json:"verdict"`
	// Repeats are every repeat's figures (--repeat); the comparison above
	// is the median one by RecordsPerSecRatio. RepeatsMet counts the
	// repeats that met the target.
	Repeats    []KcatRepeat `json:"repeats,omitempty"`
	RepeatsMet int          `json:"repeats_met"`
	// MaxBufferedRecords is the most records either client held
	// unacknowledged (franz-go's MaxBufferedRecords, librdkafka's
	// queue.buffering.max.messages); 0 (results before the field): each
	// its own default.
	MaxBufferedRecords int `json:"max_buffered_records,omitempty"`
}

// KcatRepeat is one repeat of the kcat comparison.
type KcatRepeat struct {
	GoRecordsPerSec   float64 `json:"go_records_per_sec"`
	KcatRecordsPerSec float64 `json:"kcat_records_per_sec"`
	GoCPUPerMillion   float64 `json:"go_cpu_s_per_million"`
	KcatCPUPerMillion float64 `json:"kcat_cpu_s_per_million"`
	TargetMet         bool    `json:"target_met"` // this repeat met the target
}

// past says whether the repeat's rate and CPU were past their targets.
func (r KcatRepeat) past() (rate, cpu bool) {
	return clock.Ratio(r.GoRecordsPerSec, r.KcatRecordsPerSec) >= TargetRate,
		r.KcatCPUPerMillion > 0 && clock.Ratio(r.GoCPUPerMillion, r.KcatCPUPerMillion) <= TargetCPU
}

// Target: one kpar producer >= TargetRate x kcat's records/s at <=
// TargetCPU x its CPU-s per million (whole process, same file).
const (
	TargetRate = 1.0
	TargetCPU  = 1.0
)

// Compute fills the derived fields and the verdict from the measured ones.
func (k *KcatComparison) Compute() {
	k.GoRecordsPerSec = clock.Ratio(float64(k.Go.Acked), k.Go.WallSeconds)
	k.KcatRecordsPerSec = clock.Ratio(float64(k.Kcat.Records), k.Kcat.WallSeconds)
	k.GoCPUPerMillion = clock.PerMillion(k.Go.ProcessCPUSeconds, k.Go.Acked)
	k.KcatCPUPerMillion = clock.PerMillion(k.Kcat.CPUSeconds, k.Kcat.Records)
	k.RecordsPerSecRatio = clock.Ratio(k.GoRecordsPerSec, k.KcatRecordsPerSec)
	k.CPUPerMillionRatio = clock.Ratio(k.GoCPUPerMillion, k.KcatCPUPerMillion)
	k.judge([]KcatRepeat{k.repeat()})
}

// repeat is k's own figures as one repeat.
func (k *KcatComparison) repeat() KcatRepeat {
	return KcatRepeat{GoRecordsPerSec: k.GoRecordsPerSec, KcatRecordsPerSec: k.KcatRecordsPerSec,
		GoCPUPerMillion: k.GoCPUPerMillion, KcatCPUPerMillion: k.KcatCPUPerMillion}
}

// tally says which repeats were past both halves of the target and counts
// those past the rate and those past the CPU.
func tally(reps []KcatRepeat) (pass []bool, rates, cpus int) {
	for _, rp := range reps {
		r, c := rp.past()
		pass, rates, cpus = append(pass, r && c), rates+b2i(r), cpus+b2i(c)
	}
	return pass, rates, cpus
}

// judge sets the verdict over reps (every repeat, k the median one): met
// only when every repeat met both halves of the target, missed when none
// did, mixed with the counts otherwise; the sentence names the median's
// ratios and how many repeats were past each half.
func (k *KcatComparison) judge(reps []KcatRepeat) {
	pass, _, _ := tally(reps)
	for i := range reps {
		reps[i].TargetMet = pass[i]
	}
	k.Target = clock.Judge(pass)
	k.TargetMet, k.RepeatsMet = k.Target.AllMet(), k.Target.Met
	if len(reps) > 1 {
		k.Repeats = reps
	}
	k.Verdict = fmt.Sprintf("%s: the target is %s", k.says(reps, "kcat's"), k.Target)
}

// says is the comparison's sentence, naming kcat as tool: the median
// repeat's ratios and how many of reps were past each half of the target.
func (k *KcatComparison) says(reps []KcatRepeat, tool string) string {
	_, rates, cpus := tally(reps)
	who := "one kpar producer"
	if len(reps) > 1 {
		who = fmt.Sprintf("in the median of %d repeats one kpar producer", len(reps))
	}
	return fmt.Sprintf("%s ran at %.2fx %s records/s with %.2fx its CPU-s per million records (whole process, same rows); "+
		"the rate was past %.1fx in %d of %d repeats and the CPU within %.1fx in %d of %d",
		who, k.RecordsPerSecRatio, tool, k.CPUPerMillionRatio, TargetRate, rates, len(reps), TargetCPU, cpus, len(reps))
}
