package kotel_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/trace"

	"github.com/kpar/kpar/parallel"
	"github.com/kpar/kpar/parallel/internal/testkit"
	"github.com/kpar/kpar/parallel/kotel"
)

// On a real broker: records produced through franz-go's plugin/kotel are
// processed in child spans of their publish spans; the one that always fails
// is dead-lettered carrying its last attempt's trace context.
func TestTracesOnARealBroker(t *testing.T) {
	seeds := testkit.Brokers(t)
	topic, dlt := testkit.Topic(t, seeds, 2), testkit.Topic(t, seeds, 1)
	const n = 10
	e := newEnv()
	e.produce(t, seeds, topic, n)
	h := func(_ context.Context, r *kgo.Record) error {
		if string(r.Value) == "0" {
			return parallel.Permanent(errors.New("bad record"))
		}
		return nil
	}
	c := consumer(t, seeds, topic, h, parallel.Observe(e.obs), parallel.DeadLetterTopic(dlt))
	stop := testkit.Run(t, c)
	testkit.WaitFor(t, 60*time.Second, "every record done", func() bool {
		st := c.Stats()
		return st.Completed == n-1 && st.DeadLettered == 1
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	pubs := map[trace.SpanID]trace.TraceID{}
	for _, s := range e.spans(topic + " publish") {
		pubs[s.SpanContext.SpanID()] = s.SpanContext.TraceID()
	}
	spans := e.spans("process " + topic)
	if len(spans) != n {
		t.Fatalf("%d process spans, want %d", len(spans), n)
	}
	var deadSpan trace.SpanContext
	for _, s := range spans {
		if tr, ok := pubs[s.Parent.SpanID()]; !ok || tr != s.SpanContext.TraceID() {
			t.Errorf("process span %s: parent %s is no publish span of its trace", s.SpanContext.SpanID(), s.Parent.SpanID())
		}
		if r, _ := attr(s, kotel.AttrRoute); r.AsString() == "dead_letter" {
			deadSpan = s.SpanContext
		}
	}
	_, carried := deadLetter(t, seeds, dlt)
	if carried.SpanID() != deadSpan.SpanID() || carried.TraceID() != deadSpan.TraceID() {
		t.Errorf("dead-letter copy carries %s/%s, want the dead-lettered attempt's %s/%s",
			carried.TraceID(), carried.SpanID(), deadSpan.TraceID(), deadSpan.SpanID())
	}
}

// On a real broker: a NewTransform consumer's transactions are traced and
// linked to the attempts whose outputs they commit.
func TestTransactionSpansOnARealBroker(t *testing.T) {
	seeds := testkit.Brokers(t)
	checkTxnSpans(t, seeds, testkit.Topic(t, seeds, 2), testkit.Topic(t, seeds, 1), 10)
}
