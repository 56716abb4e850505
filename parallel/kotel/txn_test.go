package kotel_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/trace"

	"github.com/kpar/kpar/parallel"
	"github.com/kpar/kpar/parallel/internal/testkit"
	"github.com/kpar/kpar/parallel/kotel"
)

// A NewTransform consumer's transactions get a span each: committed, with
// the transactional ID, partition, record and output counts, linked to the
// attempt span of every record whose outputs it wrote.
func TestATransactionGetsASpanLinkedToItsRecordsAttempts(t *testing.T) {
	seeds := testkit.Kfake(t, kfake.SeedTopics(2, "in"), kfake.SeedTopics(1, "out"))
	checkTxnSpans(t, seeds, "in", "out", 20)
}

func checkTxnSpans(t *testing.T, seeds []string, in, out string, n int) {
	e := newEnv()
	e.produce(t, seeds, in, n)
	h := func(_ context.Context, r *kgo.Record) ([]*kgo.Record, error) {
		return []*kgo.Record{{Topic: out, Value: r.Value}, {Topic: out, Value: r.Value}}, nil
	}
	c, err := parallel.NewTransform(h, parallel.Observe(e.obs),
		parallel.ClientOpts(kgo.SeedBrokers(seeds...), kgo.ConsumerGroup("g-"+in), kgo.ConsumeTopics(in),
			kgo.TransactionalID("tx-"+in), kgo.FetchMaxWait(100*time.Millisecond)))
	if err != nil {
		t.Fatal(err)
	}
	stop := testkit.Run(t, c)
	records := func() (sum int64) {
		for _, s := range e.spans("transaction") {
			if o, _ := attr(s, kotel.AttrTxnOutcome); o.AsString() == "committed" {
				v, _ := attr(s, kotel.AttrTxnRecords)
				sum += v.AsInt64()
			}
		}
		return sum
	}
	testkit.WaitFor(t, 60*time.Second, "every record's outputs committed", func() bool { return records() == int64(n) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	attempts := map[trace.SpanID]bool{}
	for _, s := range e.spans("process " + in) {
		attempts[s.SpanContext.SpanID()] = true
	}
	if len(attempts) != n {
		t.Fatalf("%d attempt spans, want %d", len(attempts), n)
	}
	linked := map[trace.SpanID]bool{}
	for _, s := range e.spans("transaction") {
		if id, _ := attr(s, kotel.AttrTransactionalID); id.AsString() != "tx-"+in {
			t.Errorf("kpar.transactional_id = %q, want tx-%s", id.AsString(), in)
		}
		if g, _ := attr(s, "messaging.consumer.group.name"); g.AsString() != "g-"+in {
			t.Errorf("messaging.consumer.group.name = %q, want g-%s", g.AsString(), in)
		}
		recs, _ := attr(s, kotel.AttrTxnRecords)
		outs, _ := attr(s, kotel.AttrTxnOutputs)
		parts, _ := attr(s, kotel.AttrTxnPartitions)
		if outs.AsInt64() != 2*recs.AsInt64() || parts.AsInt64() < 1 || parts.AsInt64() > 2 {
			t.Errorf("transaction of %d records: %d outputs over %d partitions, want twice as many outputs over 1 or 2",
				recs.AsInt64(), outs.AsInt64(), parts.AsInt64())
		}
		if o, _ := attr(s, kotel.AttrTxnOutcome); o.AsString() != "committed" {
			t.Errorf("kpar.txn.outcome = %q, want committed", o.AsString())
		}
		if s.Parent.IsValid() || s.SpanKind != trace.SpanKindProducer {
			t.Errorf("transaction span: parent %v, kind %v; want a root of kind producer", s.Parent.SpanID(), s.SpanKind)
		}
		if len(s.Links) != int(recs.AsInt64()) {
			t.Errorf("transaction of %d records has %d links", recs.AsInt64(), len(s.Links))
		}
		for _, l := range s.Links {
			if !attempts[l.SpanContext.SpanID()] {
				t.Errorf("transaction links %s, no attempt span", l.SpanContext.SpanID())
			}
			linked[l.SpanContext.SpanID()] = true
		}
	}
	if len(linked) != n {
		t.Errorf("transactions link %d attempt spans, want all %d", len(linked), n)
	}
}
