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

// DeadLetters is the dead-letter part's result: each way Repeat times,
// interleaved, on the one clock.
type DeadLetters struct {
	Topic     string `json:"topic"`
	FailEvery int64  `json:"fail_every"`
	// Ways are the median runs of kpar's topic and of the broker's queue
	// (their repeats within); Ratios each repeat's broker rate over
	// kpar's.
	Ways   []Side    `json:"ways"`
	Ratios []float64 `json:"broker_vs_kpar_runs"`
	// Runs is every run with what its dead-letter topic held, in run order.
	Runs []DLQRun `json:"runs"`
}

// The two ways, as DLQRun.Way names them.
const (
	WayKpar   = "kpar's topic"
	WayBroker = "broker's queue"
)

// DLQRun is one contender's run and what its dead-letter topic held once
// it stopped changing.
type DLQRun struct {
	Way   string `json:"way"` // WayKpar or WayBroker
	Tag   string `json:"tag"` // the repeat
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

// exact reports whether the run dead-lettered each record that failed for
// good once and nothing else.
func (d DLQRun) exact() bool {
	return d.DeadLetters == d.Failed && d.Distinct == d.Failed && d.Wrong == 0 && d.NoOrigin == 0
}

// deadLetters runs kpar's share mode on backlog with 1 in FailEvery
// records failing for good, dead letters written by kpar and by the
// broker, each Repeat times interleaved; each run stops at
// DeadLetterRecords distinct records.
func (r *runner) deadLetters(ctx context.Context, backlog string) (*DeadLetters, error) {
	out := &DeadLetters{Topic: backlog, FailEvery: FailEvery}
	way := func(broker bool) contender {
		return func(tag string) (Side, error) {
			run, err := r.deadLetterRun(ctx, backlog, tag, broker)
			if err != nil {
				return Side{}, err
			}
			out.Runs = append(out.Runs, run)
			return run.Side, nil
		}
	}
	sides, err := r.interleave(PartDeadLetters, way(false), way(true))
	if err != nil {
		return nil, err
	}
	out.Ways = sides
	for i := 0; i+1 < len(out.Runs); i += 2 {
		if k := out.Runs[i].Side.SteadyPerS; k > 0 {
			out.Ratios = append(out.Ratios, out.Runs[i+1].Side.SteadyPerS/k)
		}
	}
	return out, nil
}

// deadLetterRun is one run of one way on a dead-letter topic of its own,
// read and deleted after the run.
func (r *runner) deadLetterRun(ctx context.Context, backlog, tag string, broker bool) (DLQRun, error) {
	c := r.c
	adm := kadm.NewClient(r.admin)
	stamp := time.Now().UnixNano()
	run := DLQRun{Way: WayKpar, Tag: tag, Topic: fmt.Sprintf("%s-dlt-%d", c.TopicPrefix, stamp)}
	slug := "dlt"
	var cfg map[string]*string
	if broker {
		on := "true"
		run.Way, run.Topic, slug = WayBroker, fmt.Sprintf("%s%s-%d", brokerDLQPrefix, c.TopicPrefix, stamp), "brokerdlq"
		cfg = map[string]*string{"errors.deadletterqueue.group.enable": &on}
	}
	if _, err := kafka.Create(ctx, adm, []kafka.Topic{{Name: run.Topic, Partitions: 1, RF: -1, Configs: cfg}}); err != nil {
		return run, fmt.Errorf("dead-letter topic: %w", err)
	}
	defer func() { _ = kafka.Delete(ctx, adm, run.Topic) }()
	spec := c.kparSpec(backlog, c.DeadLetterRecords, c.NoopConcurrency, 0)
	spec.FailEvery, spec.DeadLetter, spec.BrokerDeadLetter = FailEvery, run.Topic, broker
	s, err := r.kparShare(ctx, tag+" "+slug, slug, spec)
	if err != nil {
		return run, err
	}
	run.Side, run.Failed = s, s.Failed
	settled := time.Now()
	if err := r.inspectDLQ(ctx, adm, &run); err != nil {
		return run, err
	}
	run.SettleSeconds = time.Since(settled).Seconds()
	r.measured("dead letters (%s) %s: %s | %d failed, %d dead letters (%d distinct, %d wrong) after %.1f s",
		run.Way, tag, noopLine(s), run.Failed, run.DeadLetters, run.Distinct, run.Wrong, run.SettleSeconds)
	return run, nil
}

// inspectDLQ waits until run's dead-letter topic stops growing (the broker
// writes its copies after the rejects are acknowledged) and reads it.
func (r *runner) inspectDLQ(ctx context.Context, adm *kadm.Client, run *DLQRun) error {
	if _, err := kafka.Settle(ctx, adm, []string{run.Topic}, 2*time.Second, 30*time.Second); err != nil && !errors.Is(err, kafka.ErrUnsettled) {
		return fmt.Errorf("dead-letter topic %s: %w", run.Topic, err)
	}
	recs, err := kafka.Reader{Seeds: r.c.Brokers, ClientOpts: r.c.Opts(), Stall: 30 * time.Second}.All(ctx, run.Topic)
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

// deadLetterBlock says what each way wrote in every run (every failed
// record once, or the counts), its rate, and what a dead letter keeps.
func deadLetterBlock(d *DeadLetters) []doc.Block {
	if d == nil || len(d.Runs) == 0 {
		return nil
	}
	var findings []doc.Finding
	rows := [][]string{}
	for _, run := range d.Runs {
		rows = append(rows, []string{run.Way, run.Tag, doc.Num(run.Side.SteadyPerS), doc.F2(run.Side.CPUPerMillion), doc.I64(run.Failed),
			doc.I64(run.DeadLetters), doc.I64(run.Distinct), doc.I64(run.Wrong + run.NoOrigin),
			fmt.Sprintf("%s of %s", doc.I64(run.KeyKept), doc.I64(run.DeadLetters)),
			fmt.Sprintf("%s of %s", doc.I64(run.ValueKept), doc.I64(run.DeadLetters)), doc.F1(run.SettleSeconds),
			strings.Join(run.Headers, ", ")})
	}
	for i, way := range []string{WayKpar, WayBroker} {
		runs, exact := 0, 0
		for _, run := range d.Runs {
			if run.Way != way {
				continue
			}
			runs++
			if run.exact() {
				exact++
			}
		}
		if runs == 0 {
			continue
		}
		what := fmt.Sprintf("each record that failed for good dead-lettered once, nothing else, in %d of %s", exact, doc.Plural(runs, "run", "runs"))
		rate := ""
		if i < len(d.Ways) {
			rate = ", at " + spread(d.Ways[i]) + " records/s"
		}
		findings = append(findings, doc.Finding{Text: fmt.Sprintf("Dead letters by %s: %s%s.", way, what, rate)})
	}
	if len(d.Ratios) > 0 {
		findings = append(findings, doc.Finding{Text: fmt.Sprintf("The broker's queue ran at %s the rate of kpar's topic on the same records.",
			ratioLine(d.Ratios))})
	}
	return []doc.Block{{Title: "Share groups' dead letters: kpar's topic or the broker's queue",
		Text: []string{fmt.Sprintf("kpar's share mode on %s with 1 in %d records failing for good (parallel.Permanent): dead letters written "+
			"to a topic by kpar (DeadLetterTopic), or rejected so that the broker writes them to its dead-letter queue "+
			"(BrokerDeadLetter, KIP-1191, Kafka 4.4+), the two interleaved run by run. Each run stops at the same count of distinct "+
			"records; its dead-letter topic is read once it stopped growing.", d.Topic, d.FailEvery)},
		Findings: findings,
		Table: &doc.Table{Head: []string{"way", "run", "records/s", "CPU-s per million", "failed", "dead letters", "distinct", "wrong or no origin",
			"with a key", "with the value", "settled after s", "headers"},
			Num: []bool{false, false, true, true, true, true, true, true, false, false, true, false}, Rows: rows}}}
}
