package consume

import (
	"fmt"
	"strings"
	"time"

	"github.com/kpar/kpar/internal/results"
)

// Views are the files computed from r alone: consume.md.
func Views(r Result) []results.View {
	return []results.View{{Name: "consume.md", Bytes: []byte(Markdown(r))}}
}

func verdict(meets bool) string {
	if meets {
		return "meets"
	}
	return "misses"
}

// Markdown is the summary of a result: every figure and every sentence's
// verdict comes from r.
func Markdown(rep Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Parallel consumer bench\n\n")
	fmt.Fprintf(&b, "Brokers %s, %d CPUs, started %s. %s.\n\n", strings.Join(rep.Brokers, ","), rep.CPUs,
		rep.Started.Format(time.RFC3339), rep.Note)
	if io := rep.IO; io != nil {
		r := io.Result
		fmt.Fprintf(&b, "## I/O-bound\n\n")
		fmt.Fprintf(&b, "%d records, %d partitions, %d keys, %s order, concurrency %d, handler sleep %.1f ms: "+
			"**%.0f records/s** from the first record to the last, %.1f%% of the ideal %.0f records/s, which %s the %.0f%% target. "+
			"Counting the %.0f ms group join and first fetch, the whole %.2f s run averaged %.0f records/s (%.1f%%). ",
			r.Records, io.Partitions, io.Keys, io.Order, io.Concurrency, io.SleepMs, r.SteadyPerS,
			100*io.SteadyEfficiency, io.IdealPerS, verdict(io.MeetsTarget), 100*io.Target, 1e3*r.FirstS, r.Seconds, r.RecordsPerS, 100*io.Efficiency)
		if r.MeanHandler > 0 && io.IdealMeasPS > 0 {
			fmt.Fprintf(&b, "The handler's sleep took %.2f ms on average here, so the ideal at the measured latency is %.0f records/s, "+
				"of which the steady rate reached %.1f%%. ", r.MeanHandler, io.IdealMeasPS, 100*r.SteadyPerS/io.IdealMeasPS)
		}
		fmt.Fprintf(&b, "The consumer used %.2f CPU cores. Bound by: %s. %s.\n\n", io.CPUCores, io.BoundBy, io.mode())
	}
	if c := rep.CPU; c != nil {
		fmt.Fprintf(&b, "## CPU-light (no-op handler)\n\n")
		fmt.Fprintf(&b, "Plain franz-go poll loop: %.0f records/s with kgo's default fetch size and %.0f records/s with the parallel run's; "+
			"the faster, %s, is the reference (%.2f s, %.2f CPU-s). Parallel consumer: **%.0f records/s** "+
			"(%.2f s, %.2f CPU-s), **%.1f%%** of the plain loop, which %s the %.0f%% target. ",
			c.PlainDefault.RecordsPerS, c.PlainSameFetch.RecordsPerS, c.Plain.Name,
			c.Plain.Seconds, c.Plain.CPUSeconds, c.Parallel.RecordsPerS, c.Parallel.Seconds,
			c.Parallel.CPUSeconds, 100*c.Ratio, verdict(c.MeetsTarget), 100*c.Target)
		fmt.Fprintf(&b, "Per record the parallel consumer spent %.0f ns of CPU against %.0f ns for the plain loop.\n\n",
			perRecordNs(c.Parallel), perRecordNs(c.Plain))
	}
	if r := rep.RSS; r != nil {
		fmt.Fprintf(&b, "## Memory under a backlog\n\n")
		fmt.Fprintf(&b, "A child process consumed a %d-record backlog in %.2f s with MaxBuffered=%d, MaxBufferedPerPartition=%d, "+
			"%s and %s: **peak RSS %.1f MiB**.\n", r.Records, r.Seconds, r.MaxBuffered, r.PerPart, r.fetchPhrase("the library's default FetchMaxBytes", "FetchMaxBytes %d"),
			r.gogcPhrase("default GOGC", "GOGC="), float64(r.PeakRSSKiB)/1024)
	}
	return b.String()
}

func perRecordNs(m Measurement) float64 {
	if m.Records == 0 {
		return 0
	}
	return 1e9 * m.CPUSeconds / float64(m.Records)
}

func (r *RSS) fetchPhrase(def, set string) string {
	if r.FetchMax > 0 {
		return fmt.Sprintf(set, r.FetchMax)
	}
	return def
}

func (r *RSS) gogcPhrase(def, prefix string) string {
	if r.GOGC != "" {
		return prefix + r.GOGC
	}
	return def
}

// Text is the terminal summary of a result, from r alone.
func Text(rep Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "brokers %s (%s)\n", strings.Join(rep.Brokers, ","), rep.Note)
	if io := rep.IO; io != nil {
		fmt.Fprintf(&b, "io:  %d records, %d partitions, %d keys, %s order, concurrency %d, handler sleep %v\n",
			io.Result.Records, io.Partitions, io.Keys, io.Order, io.Concurrency, io.sleep())
		fmt.Fprintf(&b, "     %.0f rec/s over the whole %.2fs run (%.1f%% of the ideal %.0f rec/s), of which %.0f ms went to the group join and first fetch\n",
			io.Result.RecordsPerS, io.Result.Seconds, 100*io.Efficiency, io.IdealPerS, 1e3*io.Result.FirstS)
		fmt.Fprintf(&b, "     %.0f rec/s from the first record on -> %.1f%% of ideal (target %.0f%%: %s)\n",
			io.Result.SteadyPerS, 100*io.SteadyEfficiency, 100*io.Target, verdict(io.MeetsTarget))
		fmt.Fprintf(&b, "     measured mean handler %.2f ms (ideal at that latency %.0f rec/s); CPU %.2f cores of %d\n",
			io.Result.MeanHandler, io.IdealMeasPS, io.CPUCores, rep.CPUs)
		fmt.Fprintf(&b, "     bound by: %s (MaxBuffered %d, per partition %d)\n", io.BoundBy, io.MaxBuffered, io.PerPart)
		fmt.Fprintf(&b, "     %s\n", io.mode())
	}
	if c := rep.CPU; c != nil {
		fmt.Fprintf(&b, "cpu: plain franz-go %.0f rec/s (%.2fs, cpu %.2fs) with kgo's default fetch size, %.0f rec/s (%.2fs, cpu %.2fs) with the parallel run's\n",
			c.PlainDefault.RecordsPerS, c.PlainDefault.Seconds, c.PlainDefault.CPUSeconds,
			c.PlainSameFetch.RecordsPerS, c.PlainSameFetch.Seconds, c.PlainSameFetch.CPUSeconds)
		fmt.Fprintf(&b, "     parallel no-op %.0f rec/s (%.2fs, cpu %.2fs), order key, concurrency %d\n",
			c.Parallel.RecordsPerS, c.Parallel.Seconds, c.Parallel.CPUSeconds, c.Concurrency)
		fmt.Fprintf(&b, "     ratio parallel/faster plain = %.1f%% (target %.0f%%: %s); first poll returned after %.0f ms (faster plain), first record after %.0f ms (parallel: group join)\n",
			100*c.Ratio, 100*c.Target, verdict(c.MeetsTarget), 1e3*c.Plain.FirstS, 1e3*c.Parallel.FirstS)
	}
	if r := rep.RSS; r != nil {
		fmt.Fprintf(&b, "rss: child consumed a %d-record backlog in %.2fs with MaxBuffered=%d, per partition %d, FetchMaxBytes %s, GOGC %s: peak RSS %.1f MiB\n",
			r.Records, r.Seconds, r.MaxBuffered, r.PerPart, r.fetchPhrase("library default", "%d B"), r.gogcPhrase("default", ""), float64(r.PeakRSSKiB)/1024)
	}
	return b.String()
}

// mode says how the io run committed.
func (io *IO) mode() string {
	every := "back to back"
	if io.CommitIntervalMs > 0 {
		every = fmt.Sprintf("every %v", time.Duration(io.CommitIntervalMs*1e6))
	}
	if io.Transactional {
		return "Exactly-once (parallel.NewTransform): one output per record, written in the transactions that commit the records, " + every
	}
	return "At-least-once (parallel.New), commits " + every
}
