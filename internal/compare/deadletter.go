package compare

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/doc"
	"github.com/kpar/kpar/internal/kafka"
	"github.com/kpar/kpar/parallel"
)

// PartDeadLetters is the share-mode dead-letter part: kpar's share mode
// writing failed records to a dead-letter topic itself (DeadLetterTopic)
// against the broker writing them to its own dead-letter queue
// (BrokerDeadLetter, KIP-1191, Kafka 4.4+), on the same records with the
// same records failing for good.
const PartDeadLetters = "dead letters"

// FailEvery: in the dead-letter part the records whose offset is a
// multiple of it fail for good (parallel.Permanent), 1%.
const FailEvery = 100

// brokerDLQPrefix is the broker's errors.deadletterqueue.topic.name.prefix
// default: a broker dead-letter topic must start with it.
const brokerDLQPrefix = "dlq."

// DeadLetters is the dead-letter part's result: one run of each way.
type DeadLetters struct {
	Topic     string   `json:"topic"`
	FailEvery int64    `json:"fail_every"`
	Runs      []DLQRun `json:"runs"`
}

// DLQRun is one contender's run and what its dead-letter topic held once
// it stopped changing.
type DLQRun struct {
	Way   string `json:"way"` // "kpar's topic" or "broker's queue"
	Topic string `json:"dead_letter_topic"`
	Side  Side   `json:"side"`
	// Failed: handler calls that failed for good (records whose offset is
	// a multiple of FailEvery, handled before the run stopped).
	Failed int64 `json:"failed"`
	// DeadLetters: records in the dead-letter topic; Distinct: of distinct
	// origin records; Wrong: whose origin should not have failed;
	// NoOrigin: that name no origin the part could read.
	DeadLetters int64 `json:"dead_letters"`
	Distinct    int64 `json:"distinct"`
	Wrong       int64 `json:"wrong"`
	NoOrigin    int64 `json:"no_origin"`
	// KeyKept, ValueKept: dead letters carrying a key, and a value of the
	// input's value size.
	KeyKept   int64 `json:"key_kept"`
	ValueKept int64 `json:"value_kept"`
	// Headers: the header names the dead letters carry, sorted.
	Headers []string `json:"headers"`
	// SettleSeconds: from the run's end until the topic stopped growing.
	SettleSeconds float64 `json:"settle_seconds"`
}

// deadLetters runs kpar's share mode twice on backlog with 1 in FailEvery
// records failing for good: dead letters written by kpar, then by the
// broker; each stops at DeadLetterRecords distinct records.
func (r *runner) deadLetters(ctx context.Context, backlog string) (*DeadLetters, error) {
	c := r.c
	r.start(PartDeadLetters)
	adm := kadm.NewClient(r.admin)
	out := &DeadLetters{Topic: backlog, FailEvery: FailEvery}
	stamp := time.Now().UnixNano()
	for _, broker := range []bool{false, true} {
		run := DLQRun{Way: "kpar's topic", Topic: fmt.Sprintf("%s-dlt-%d", c.TopicPrefix, stamp)}
		var cfg map[string]*string
		if broker {
			on := "true"
			run.Way, run.Topic = "broker's queue", fmt.Sprintf("%s%s-%d", brokerDLQPrefix, c.TopicPrefix, stamp)
			cfg = map[string]*string{"errors.deadletterqueue.group.enable": &on}
		}
		if _, err := kafka.Create(ctx, adm, []kafka.Topic{{Name: run.Topic, Partitions: 1, RF: -1, Configs: cfg}}); err != nil {
			return nil, fmt.Errorf("dead-letter topic: %w", err)
		}
		spec := c.kparSpec(backlog, c.DeadLetterRecords, c.NoopConcurrency, 0)
		spec.FailEvery, spec.DeadLetter, spec.BrokerDeadLetter = FailEvery, run.Topic, broker
		slug := "dlt"
		if broker {
			slug = "brokerdlq"
		}
		s, err := r.kparShare(ctx, slug, slug, spec)
		if err != nil {
			_ = kafka.Delete(ctx, adm, run.Topic)
			return nil, err
		}
		run.Side, run.Failed = s, s.Failed
		settled := time.Now()
		if err := r.inspectDLQ(ctx, adm, &run); err != nil {
			_ = kafka.Delete(ctx, adm, run.Topic)
			return nil, err
		}
		run.SettleSeconds = time.Since(settled).Seconds()
		_ = kafka.Delete(ctx, adm, run.Topic)
		r.measured("dead letters (%s): %s | %d failed, %d dead letters (%d distinct, %d wrong) after %.1f s",
			run.Way, noopLine(s), run.Failed, run.DeadLetters, run.Distinct, run.Wrong, run.SettleSeconds)
		out.Runs = append(out.Runs, run)
	}
	return out, nil
}

// inspectDLQ waits until run's dead-letter topic stops growing (the broker
// writes its copies after the rejects are acknowledged) and reads it.
func (r *runner) inspectDLQ(ctx context.Context, adm *kadm.Client, run *DLQRun) error {
	if _, err := kafka.Settle(ctx, adm, []string{run.Topic}, 2*time.Second, 30*time.Second); err != nil && !errors.Is(err, kafka.ErrUnsettled) {
		return fmt.Errorf("dead-letter topic %s: %w", run.Topic, err)
	}
	recs, err := kafka.Reader{Seeds: r.seeds, ClientOpts: r.c.Opts(), Stall: 30 * time.Second}.All(ctx, run.Topic)
	if err != nil {
		return err
	}
	origins := map[[2]int64]bool{}
	names := map[string]bool{}
	for _, rec := range recs {
		run.DeadLetters++
		for _, h := range rec.Headers {
			names[h.Key] = true
		}
		if rec.Key != nil {
			run.KeyKept++
		}
		if len(rec.Value) == r.c.ValueSize {
			run.ValueKept++
		}
		p, o, ok := origin(rec)
		switch {
		case !ok:
			run.NoOrigin++
		case o%FailEvery != 0:
			run.Wrong++
		}
		if ok && !origins[[2]int64{p, o}] {
			origins[[2]int64{p, o}] = true
			run.Distinct++
		}
	}
	for n := range names {
		run.Headers = append(run.Headers, n)
	}
	slices.Sort(run.Headers)
	return nil
}

// origin is the input partition and offset a dead letter names: kpar's
// provenance headers, or the broker's __dlq.errors ones.
func origin(rec *kgo.Record) (int64, int64, bool) {
	for _, names := range [][2]string{{parallel.HeaderOriginPartition, parallel.HeaderOriginOffset},
		{"__dlq.errors.partition", "__dlq.errors.offset"}} {
		p, perr := strconv.ParseInt(parallel.Header(rec, names[0]), 10, 64)
		o, oerr := strconv.ParseInt(parallel.Header(rec, names[1]), 10, 64)
		if perr == nil && oerr == nil {
			return p, o, true
		}
	}
	return 0, 0, false
}

// deadLetterBlock says what each way wrote: every failed record once or
// not, its speed, what a dead letter keeps.
func deadLetterBlock(d *DeadLetters) []doc.Block {
	if d == nil || len(d.Runs) == 0 {
		return nil
	}
	var findings []doc.Finding
	rows := [][]string{}
	for _, run := range d.Runs {
		rows = append(rows, []string{run.Way, doc.Num(run.Side.SteadyPerS), doc.F2(run.Side.CPUPerMillion), doc.I64(run.Failed),
			doc.I64(run.DeadLetters), doc.I64(run.Distinct), doc.I64(run.Wrong + run.NoOrigin),
			fmt.Sprintf("%s of %s", doc.I64(run.KeyKept), doc.I64(run.DeadLetters)),
			fmt.Sprintf("%s of %s", doc.I64(run.ValueKept), doc.I64(run.DeadLetters)), doc.F1(run.SettleSeconds),
			strings.Join(run.Headers, ", ")})
		var missing string
		switch {
		case run.Distinct == run.Failed && run.DeadLetters == run.Distinct:
			missing = "each of the " + doc.I64(run.Failed) + " records that failed for good once"
		case run.Distinct < run.Failed:
			missing = fmt.Sprintf("%s distinct records of the %s that failed for good (those failed just before the run stopped may not be written)",
				doc.I64(run.Distinct), doc.I64(run.Failed))
		default:
			missing = fmt.Sprintf("%s dead letters for %s records that failed for good", doc.I64(run.DeadLetters), doc.I64(run.Failed))
		}
		findings = append(findings, doc.Finding{Text: fmt.Sprintf("Dead letters by %s: %s, at %s records/s.", run.Way, missing, doc.Num(run.Side.SteadyPerS))})
	}
	if len(d.Runs) == 2 && d.Runs[0].Side.SteadyPerS > 0 {
		findings = append(findings, doc.Finding{Text: fmt.Sprintf("The broker's queue ran at %sx the rate of kpar's topic on the same records.",
			doc.F2(d.Runs[1].Side.SteadyPerS/d.Runs[0].Side.SteadyPerS))})
	}
	return []doc.Block{{Title: "Share groups' dead letters: kpar's topic or the broker's queue",
		Text: []string{fmt.Sprintf("kpar's share mode on %s with 1 in %d records failing for good (parallel.Permanent): once writing the dead letters "+
			"to a topic itself (DeadLetterTopic), once rejecting them so that the broker writes them to its dead-letter queue "+
			"(BrokerDeadLetter, KIP-1191, Kafka 4.4+). Each run stops at the same count of distinct records; the topic is read once it "+
			"stopped growing.", d.Topic, d.FailEvery)},
		Findings: findings,
		Table: &doc.Table{Head: []string{"way", "records/s", "CPU-s per million", "failed", "dead letters", "distinct", "wrong or no origin",
			"with a key", "with the value", "settled after s", "headers"},
			Num: []bool{false, true, true, true, true, true, true, false, false, true, false}, Rows: rows}}}
}
