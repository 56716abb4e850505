package compare

import (
	"fmt"
	"strings"
)

// Table is the comparison table: static facts, each with its source, the
// lines-of-code row counted at run time, and a row per measured figure,
// filled from the Result.
type Table struct {
	Columns []string `json:"columns"` // the approaches, in Row.Cells order
	Rows    []Row    `json:"rows"`
}

// Row is one aspect across the approaches.
type Row struct {
	Aspect   string   `json:"aspect"`
	Cells    []string `json:"cells"`
	Source   string   `json:"source"`
	Measured bool     `json:"measured"` // from this run's data (else a static fact)
}

// Columns of the table.
var Columns = []string{Naive, Manual, Kpar, PC}

// Where PC's facts come from: its sources and README at the 0.5.3.3 tag
// (the version measured), its issues, and Kafka's documentation. kpar's
// come from this repository's files, named by their path in it.
const (
	pcTree   = "https://github.com/confluentinc/parallel-consumer/blob/0.5.3.3/"
	pcSrc    = pcTree + "parallel-consumer-core/src/main/java/io/confluent/parallelconsumer/"
	pcREADME = pcTree + "README.adoc"
	pcIssues = "https://github.com/confluentinc/parallel-consumer/issues/"

	pcOptions        = pcSrc + "ParallelConsumerOptions.java"
	pcPartitionState = pcSrc + "state/PartitionState.java"
	pcStateManager   = pcSrc + "state/PartitionStateManager.java"
	pcCodec          = pcSrc + "offsets/OffsetMapCodecManager.java"
	pcEncoder        = pcSrc + "offsets/OffsetSimultaneousEncoder.java"
	pcProcessor      = pcSrc + "internal/AbstractParallelEoSStreamProcessor.java"

	kafkaMetadataMax = "https://kafka.apache.org/documentation/#brokerconfigs_offset.metadata.max.bytes"
	kafkaKIP848      = "https://kafka.apache.org/43/operations/consumer-rebalance-protocol/"

	srcLab      = "internal/lab/strategy (commit_before.go, commit_after_batch.go, strategy.go: the pool skips a failed record)"
	srcKpar     = "parallel/doc.go (package doc), parallel/config.go"
	srcKparLoop = "kpar's package doc; kgo.ServerSideBalancer (franz-go v1.22)"
	srcPCSet    = "internal/confluentpc/assets/Harness.java and LabBridge.java (the options kpar sets)"
)

// pcIssue links PC issue n.
func pcIssue(n int) string { return fmt.Sprintf("%s%d", pcIssues, n) }

// sources joins a row's sources.
func sources(s ...string) string { return strings.Join(s, "; ") }

// Facts are the static rows: what each approach has, with a source. They
// are facts about the code, not measurements. PC's cells were checked
// against its 0.5.3.3 sources and README.
var Facts = []Row{
	{Aspect: "offset tracking", Cells: []string{
		"commits each polled batch before its work: at-most-once, a crash loses what was committed but not done",
		"commits a batch once all of it is done: at-least-once; each batch waits for its slowest record",
		"commits the lowest offset not done; completions above it travel in the commit metadata (run-length or bitset); a partition stops taking records before the map could outgrow offset.metadata.max.bytes, so the map is never dropped",
		"commits the lowest offset not done; completions above it travel in the commit metadata, the smallest of a run-length and a bitset encoding (zstd-compressed when large); when an encoded map passes 75% of 4,096 bytes the partition takes no new records until it shrinks (checked when a commit is encoded, #47, #415); a map over 4,096 bytes is left out of the commit and its completions replay after a restart or rebalance (#647, #831)",
	}, Source: sources(srcLab, srcKpar, pcPartitionState, pcStateManager, pcCodec, pcEncoder, pcREADME+"#offset-map",
		pcIssue(47), pcIssue(415), pcIssue(647), pcIssue(831), kafkaMetadataMax)},
	{Aspect: "ordering control", Cells: []string{
		"none beyond poll order: the pool runs records of one key at once",
		"none beyond poll order: the pool runs records of one key at once",
		"OrderKey (default), OrderPartition, OrderNone",
		"ProcessingOrder KEY (default), PARTITION, UNORDERED",
	}, Source: sources(srcLab, srcKpar, pcOptions, pcREADME+"#ordering-guarantees")},
	{Aspect: "retry in place", Cells: []string{
		"none: a failed record is skipped",
		"none: a failed record is skipped",
		"Retries(n, initial, max): exponential backoff with full jitter; RetryBackoff for the caller's own policy; Permanent(err) skips them",
		"every exception retries the record, forever, after defaultMessageRetryDelay (1 s) or a retryDelayProvider's delay; no maximum number of attempts (#196 open; the README counts attempts in user code)",
	}, Source: sources(srcLab, srcKpar, pcOptions, pcREADME+"#retries", pcIssue(196))},
	{Aspect: "retry topic", Cells: []string{"none", "none",
		"RetryTopic: a failed record leaves for a retry topic for up to its rounds, its key's later records go on meanwhile",
		"none: ParallelConsumerOptions has no retry topic; a failed record is retried in place",
	}, Source: sources(srcLab, srcKpar, pcOptions)},
	{Aspect: "dead-letter topic", Cells: []string{"none", "none",
		"DeadLetterTopic: headers name the origin topic, partition, offset, the error, the attempts and the first and last failure; without one a record that fails everything stops Run with ErrRecordFailed",
		"none (#310 open, and #196, a maximum number of attempts with a callback); a record that always fails is retried forever, and in PARTITION order it blocks its partition",
	}, Source: sources(srcLab, srcKpar, pcIssue(310), pcIssue(196), pcREADME+"#retries")},
	{Aspect: "fine-grained control", Cells: []string{
		"whatever the loop's author writes",
		"whatever the loop's author writes",
		"MaxConcurrency, MaxBuffered, MaxBufferedPerPartition, CommitInterval, MaxMetadataBytes, RevokeTimeout, DrainTimeout, HandlerTimeout; Stats per partition, Prometheus via parallel/kprom",
		"the options kpar sets: ordering, maxConcurrency (a fixed pool of that many threads), batchSize, commitMode, commitInterval (default 5 s), retryDelayProvider (without one, a fixed 1 s delay); ParallelConsumerOptions has more (messageBufferSize, drainTimeout, shutdownTimeout, among others)",
	}, Source: sources(srcLab, srcKpar, srcPCSet, pcOptions, pcProcessor)},
	{Aspect: "KIP-848 consumer protocol", Cells: []string{
		"as franz-go: kgo.ServerSideBalancer",
		"as franz-go: kgo.ServerSideBalancer",
		"yes, with kgo.ServerSideBalancer (package doc; parallel/behaviour_test.go and lost_test.go run it on kfake and the real broker)",
		"not claimed: its README and sources do not mention KIP-848 or group.protocol; it drives the KafkaConsumer it is given (built on kafka-clients 3.9.1; the protocol is generally available from Kafka 4.0)",
	}, Source: sources(srcKparLoop, pcREADME, pcTree+"pom.xml", kafkaKIP848)},
}

// buildTable is the table of r: the facts, the lines of code, the
// measured rows.
func buildTable(r *Result) Table {
	t := Table{Columns: Columns}
	t.Rows = append(t.Rows, Facts...)
	if len(r.LOC) > 0 {
		cells := make([]string, len(Columns))
		for i, col := range Columns {
			cells[i] = "-"
			for _, l := range r.LOC {
				if l.Approach == col {
					cells[i] = fmt.Sprintf("%d lines", l.Lines)
				}
			}
		}
		t.Rows = append(t.Rows, Row{Aspect: "code complexity (lines of user-facing code, counted at run time)", Cells: cells,
			Source: "the regions listed under \"Lines of code\", counted from this repository's sources", Measured: true})
	}
	m := func(aspect string, kpar, pc string) Row {
		return Row{Aspect: aspect, Cells: []string{"-", "-", kpar, pc}, Source: "this run", Measured: true}
	}
	for _, p := range r.IO {
		t.Rows = append(t.Rows,
			m(fmt.Sprintf("I/O-bound, concurrency %d, %d keys: steady records/s (share of the ideal)", p.Concurrency, p.Keys),
				rateShare(p.Kpar), rateShare(p.PC)),
			m(fmt.Sprintf("I/O-bound, concurrency %d: CPU-s per million records", p.Concurrency),
				cpuCell(p.Kpar), cpuCell(p.PC)))
	}
	if n := r.Noop; n != nil {
		t.Rows = append(t.Rows,
			m(fmt.Sprintf("no-op: steady records/s (plain franz-go loop: %.0f)", n.Plain.SteadyPerS),
				fmt.Sprintf("%.0f", n.Kpar.SteadyPerS), fmt.Sprintf("%.0f", n.PC.SteadyPerS)),
			m(fmt.Sprintf("no-op: CPU-s per million records (plain loop: %.2f)", n.Plain.CPUPerMillion),
				cpuCell(n.Kpar), cpuCell(n.PC)))
	}
	if s := r.RSS; s != nil {
		t.Rows = append(t.Rows,
			m(fmt.Sprintf("peak RSS, %d-record backlog (plain loop: %.0f MiB)", s.Kpar.Records, kib2mib(s.Plain.PeakRSSKiB)),
				fmt.Sprintf("%.0f MiB", kib2mib(s.Kpar.PeakRSSKiB)), fmt.Sprintf("%.0f MiB (JVM default heap)", kib2mib(s.PC.PeakRSSKiB))),
			m("PC with -Xmx"+s.CapHeap+" (kpar's RSS)", "-", cappedCell(s.PCCapped)))
	}
	return t
}

func rateShare(s Side) string {
	if s.IdealShare > 0 {
		return fmt.Sprintf("%.0f (%.0f%%)", s.SteadyPerS, 100*s.IdealShare)
	}
	return fmt.Sprintf("%.0f", s.SteadyPerS)
}

func cpuCell(s Side) string { return fmt.Sprintf("%.2f", s.CPUPerMillion) }

func cappedCell(s Side) string {
	if !s.Finished {
		return "did not finish: " + firstLine(s.DidNotFinish)
	}
	return fmt.Sprintf("finished: %.0f records/s, peak RSS %.0f MiB", s.SteadyPerS, kib2mib(s.PeakRSSKiB))
}
