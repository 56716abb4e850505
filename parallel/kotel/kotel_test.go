package kotel_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	fkotel "github.com/twmb/franz-go/plugin/kotel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/kpar/kpar/parallel"
	"github.com/kpar/kpar/parallel/internal/testkit"
	"github.com/kpar/kpar/parallel/kotel"
)

// env is one test's tracing and metrics: the producer traces with franz-go's
// plugin/kotel, the consumer with this package, both into one in-memory
// exporter.
type env struct {
	exp    *tracetest.InMemoryExporter
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
	obs    *kotel.Observer
}

func newEnv() *env {
	e := &env{exp: tracetest.NewInMemoryExporter(), reader: sdkmetric.NewManualReader()}
	e.tp = sdktrace.NewTracerProvider(sdktrace.WithSyncer(e.exp))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(e.reader))
	e.obs = kotel.New(kotel.TracerProvider(e.tp), kotel.MeterProvider(mp), kotel.Propagator(propagation.TraceContext{}))
	return e
}

// onKfake starts kfake with topic "t" of partitions partitions (and the
// topics more, alike), and an env whose traced producer has written n
// records to "t".
func onKfake(t *testing.T, partitions int32, n int, more ...string) ([]string, *env) {
	t.Helper()
	seeds := testkit.Kfake(t, kfake.SeedTopics(partitions, append([]string{"t"}, more...)...))
	e := newEnv()
	e.produce(t, seeds, "t", n)
	return seeds, e
}

// produce writes n records (values 0..n-1) through a client traced by
// franz-go's plugin/kotel, which injects traceparent into each record.
func (e *env) produce(t *testing.T, seeds []string, topic string, n int) {
	t.Helper()
	k := fkotel.NewKotel(fkotel.WithTracer(fkotel.NewTracer(fkotel.TracerProvider(e.tp),
		fkotel.TracerPropagator(propagation.TraceContext{}))))
	cl := testkit.Client(t, seeds, kgo.DefaultProduceTopic(topic), kgo.WithHooks(k.Hooks()...))
	for i := 0; i < n; i++ {
		r := &kgo.Record{Key: []byte("k" + strconv.Itoa(i)), Value: []byte(strconv.Itoa(i))}
		if err := cl.ProduceSync(context.Background(), r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

// spans returns the ended spans named name.
func (e *env) spans(name string) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range e.exp.GetSpans() {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

func attr(s tracetest.SpanStub, key attribute.Key) (attribute.Value, bool) {
	for _, a := range s.Attributes {
		if a.Key == key {
			return a.Value, true
		}
	}
	return attribute.Value{}, false
}

// publishOf maps each produced value to its publish span's context.
func (e *env) publishOf(t *testing.T, topic string) map[int64]trace.SpanContext {
	t.Helper()
	out := map[int64]trace.SpanContext{}
	for _, s := range e.spans(topic + " publish") {
		off, ok := attr(s, "messaging.kafka.message.offset")
		if !ok {
			t.Fatalf("publish span without an offset: %v", s.Attributes)
		}
		out[off.AsInt64()] = s.SpanContext
	}
	return out
}

// consumer reads topic in the group "g-<topic>".
func consumer(t *testing.T, seeds []string, topic string, h parallel.Handler, opts ...parallel.Opt) *parallel.Consumer {
	return testkit.Consumer(t, seeds, "g-"+topic, h, []string{topic}, opts...)
}

// Each record's process span is a child of its publish span (same trace,
// parent = the span franz-go's plugin/kotel wrote into traceparent), carries
// the messaging attributes, and the handler's context holds it.
func TestProcessSpanIsChildOfTheProducersSpan(t *testing.T) {
	const n = 20
	seeds, e := onKfake(t, 2, n)
	var mu sync.Mutex
	inHandler := map[string]trace.SpanContext{} // by value
	h := func(ctx context.Context, r *kgo.Record) error {
		mu.Lock()
		inHandler[string(r.Value)] = trace.SpanContextFromContext(ctx)
		mu.Unlock()
		return nil
	}
	c := consumer(t, seeds, "t", h, parallel.Observe(e.obs))
	testkit.Run(t, c)
	testkit.WaitFor(t, 20*time.Second, "a process span per record", func() bool { return len(e.spans("process t")) >= n })

	pub := map[string]trace.SpanContext{} // by partition/offset
	for _, s := range e.spans("t publish") {
		off, _ := attr(s, "messaging.kafka.message.offset")
		part, _ := attr(s, "messaging.kafka.destination.partition")
		pub[strconv.FormatInt(part.AsInt64(), 10)+"/"+strconv.FormatInt(off.AsInt64(), 10)] = s.SpanContext
	}
	if len(pub) != n {
		t.Fatalf("%d publish spans, want %d", len(pub), n)
	}
	for _, s := range e.spans("process t") {
		part, _ := attr(s, "messaging.destination.partition.id")
		off, _ := attr(s, "messaging.kafka.offset")
		p, ok := pub[part.AsString()+"/"+strconv.FormatInt(off.AsInt64(), 10)]
		if !ok {
			t.Fatalf("process span for %s@%d has no publish span", part.AsString(), off.AsInt64())
		}
		if s.Parent.SpanID() != p.SpanID() || s.SpanContext.TraceID() != p.TraceID() {
			t.Errorf("process span %s@%d: parent %s in trace %s, want publish span %s in trace %s",
				part.AsString(), off.AsInt64(), s.Parent.SpanID(), s.SpanContext.TraceID(), p.SpanID(), p.TraceID())
		}
		if s.SpanKind != trace.SpanKindConsumer {
			t.Errorf("span kind %v, want consumer", s.SpanKind)
		}
		for key, want := range map[attribute.Key]string{"messaging.system": "kafka", "messaging.operation.type": "process",
			"messaging.destination.name": "t", "messaging.consumer.group.name": "g-t", "kpar.route": "done", "kpar.outcome": "ok"} {
			if v, _ := attr(s, key); v.AsString() != want {
				t.Errorf("%s = %q, want %q", key, v.AsString(), want)
			}
		}
		if v, _ := attr(s, kotel.AttrAttempt); v.AsInt64() != 1 {
			t.Errorf("kpar.attempt = %d, want 1", v.AsInt64())
		}
		if _, ok := attr(s, "messaging.kafka.message.key"); !ok {
			t.Error("no messaging.kafka.message.key")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	spanIDs := map[trace.SpanID]bool{}
	for _, s := range e.spans("process t") {
		spanIDs[s.SpanContext.SpanID()] = true
	}
	for v, sc := range inHandler {
		if !spanIDs[sc.SpanID()] {
			t.Errorf("record %s: the handler's context holds span %s, not its process span", v, sc.SpanID())
		}
	}
}

// A record that fails once and then succeeds gives two attempt spans, both
// children of its publish span: attempt 1 routed "retry" with status Error,
// attempt 2 "done". The metrics count two process durations and one
// consumed message for it.
func TestARetriedRecordGivesTwoAttemptSpans(t *testing.T) {
	seeds, e := onKfake(t, 1, 1)
	var calls sync.Map
	h := func(ctx context.Context, r *kgo.Record) error {
		if n, _ := calls.LoadOrStore(string(r.Value), 1); n == 1 {
			calls.Store(string(r.Value), 2)
			return errors.New("transient")
		}
		return nil
	}
	c := consumer(t, seeds, "t", h, parallel.Observe(e.obs), parallel.Retries(3, time.Millisecond, time.Millisecond))
	testkit.Run(t, c)
	testkit.WaitFor(t, 20*time.Second, "two process spans", func() bool { return len(e.spans("process t")) >= 2 })
	pub := e.publishOf(t, "t")[0]
	got := e.spans("process t")
	if len(got) != 2 {
		t.Fatalf("%d process spans, want 2", len(got))
	}
	for i, want := range []struct {
		attempt int64
		route   string
		failed  bool
	}{{1, "retry", true}, {2, "done", false}} {
		s := got[i]
		if a, _ := attr(s, kotel.AttrAttempt); a.AsInt64() != want.attempt {
			t.Errorf("span %d: attempt %d, want %d", i, a.AsInt64(), want.attempt)
		}
		if r, _ := attr(s, kotel.AttrRoute); r.AsString() != want.route {
			t.Errorf("span %d: route %q, want %q", i, r.AsString(), want.route)
		}
		if failed := s.Status.Code.String() == "Error"; failed != want.failed {
			t.Errorf("span %d: status %v, want failed=%v", i, s.Status, want.failed)
		}
		if s.Parent.SpanID() != pub.SpanID() {
			t.Errorf("span %d: parent %s, want the publish span %s", i, s.Parent.SpanID(), pub.SpanID())
		}
	}
	var rm metricdata.ResourceMetrics
	if err := e.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var durations, consumed int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Histogram[float64]:
				if m.Name == "messaging.process.duration" {
					for _, p := range d.DataPoints {
						durations += int64(p.Count)
					}
				}
			case metricdata.Sum[int64]:
				if m.Name == "messaging.client.consumed.messages" {
					for _, p := range d.DataPoints {
						consumed += p.Value
					}
				}
			}
		}
	}
	if durations != 2 || consumed != 1 {
		t.Errorf("messaging.process.duration count %d (want 2), messaging.client.consumed.messages %d (want 1)", durations, consumed)
	}
}

// A record that always fails is dead-lettered; its dead-letter copy carries
// the trace context of its last attempt span (not the producer's): a reader
// of the dead-letter topic continues the same trace under the failure.
func TestADeadLetteredCopyCarriesTheLastAttemptsTraceContext(t *testing.T) {
	seeds, e := onKfake(t, 1, 1, "dlt")
	h := func(context.Context, *kgo.Record) error { return errors.New("always") }
	c := consumer(t, seeds, "t", h, parallel.Observe(e.obs), parallel.Retries(2, time.Millisecond, time.Millisecond),
		parallel.DeadLetterTopic("dlt"))
	testkit.RunUntil(t, c, 20*time.Second, "the record dead-lettered", func() bool { return c.Stats().DeadLettered == 1 })
	rec, carried := deadLetter(t, seeds, "dlt")
	pub := e.publishOf(t, "t")[0]
	var last tracetest.SpanStub
	for _, s := range e.spans("process t") {
		if r, _ := attr(s, kotel.AttrRoute); r.AsString() == "dead_letter" {
			last = s
		}
	}
	if !last.SpanContext.IsValid() {
		t.Fatalf("no process span routed dead_letter among %d", len(e.spans("process t")))
	}
	if carried.TraceID() != pub.TraceID() || carried.SpanID() != last.SpanContext.SpanID() {
		t.Errorf("dead-letter copy carries %s/%s, want the producer's trace %s and the last attempt's span %s",
			carried.TraceID(), carried.SpanID(), pub.TraceID(), last.SpanContext.SpanID())
	}
	n := 0
	for _, h := range rec.Headers {
		if h.Key == "traceparent" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("dead-letter copy has %d traceparent headers, want 1 (replaced, not appended)", n)
	}
}

// A NewBatch batch call gets a span of its own, linked to its records'
// publish spans, with the batch size; the batch handler runs with it.
func TestABatchCallGetsASpanLinkedToItsRecords(t *testing.T) {
	const n = 6
	seeds, e := onKfake(t, 1, n)
	var mu sync.Mutex
	var handlerSpans []trace.SpanID
	h := func(ctx context.Context, rs []*kgo.Record) error {
		mu.Lock()
		handlerSpans = append(handlerSpans, trace.SpanContextFromContext(ctx).SpanID())
		mu.Unlock()
		return nil
	}
	c, err := parallel.NewBatch(h, parallel.ClientOpts(kgo.SeedBrokers(seeds...), kgo.ConsumerGroup("g"),
		kgo.ConsumeTopics("t")), parallel.Ordering(parallel.OrderNone), parallel.MaxConcurrency(n),
		parallel.BatchSize(n, time.Second), parallel.Observe(e.obs))
	if err != nil {
		t.Fatal(err)
	}
	testkit.Run(t, c)
	testkit.WaitFor(t, 20*time.Second, "every record's attempt span", func() bool { return len(e.spans("process t")) >= n+1 })
	pub := e.publishOf(t, "t")
	var batches []tracetest.SpanStub
	for _, s := range e.spans("process t") {
		if _, ok := attr(s, "messaging.batch.message_count"); ok {
			batches = append(batches, s)
		}
	}
	if len(batches) == 0 {
		t.Fatal("no batch span")
	}
	linked := 0
	for _, b := range batches {
		for _, l := range b.Links {
			for _, p := range pub {
				if l.SpanContext.SpanID() == p.SpanID() {
					linked++
				}
			}
		}
	}
	if linked != n {
		t.Errorf("batch spans link %d publish spans, want %d", linked, n)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, id := range handlerSpans {
		found := false
		for _, b := range batches {
			found = found || b.SpanContext.SpanID() == id
		}
		if !found {
			t.Errorf("the batch handler ran with span %s, not a batch span", id)
		}
	}
}

// deadLetter reads the one record of the dead-letter topic dlt, and the
// trace context it carries.
func deadLetter(t *testing.T, seeds []string, dlt string) (*kgo.Record, trace.SpanContext) {
	t.Helper()
	cl := testkit.Client(t, seeds, kgo.ConsumeTopics(dlt), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fs := cl.PollFetches(ctx)
	if err := fs.Err0(); err != nil {
		t.Fatal(err)
	}
	recs := fs.Records()
	if len(recs) != 1 {
		t.Fatalf("%d dead-letter records, want 1", len(recs))
	}
	return recs[0], trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), carrierOf(recs[0])))
}

func carrierOf(r *kgo.Record) propagation.MapCarrier {
	m := propagation.MapCarrier{}
	for _, h := range r.Headers {
		m[h.Key] = string(h.Value)
	}
	return m
}

// ObserveStats exports the committed lag and head-of-line wait: while a
// record is stuck, kpar.consumer.head_wait.max is above 0; once it is let
// go and committed, kpar.consumer.lag and its max read 0.
func TestObserveStatsExportsLagAndHeadWait(t *testing.T) {
	seeds, e := onKfake(t, 1, 5)
	release := make(chan struct{})
	h := func(ctx context.Context, r *kgo.Record) error {
		if r.Offset == 0 {
			<-release
		}
		return nil
	}
	c := consumer(t, seeds, "t", h, parallel.Observe(e.obs), parallel.CommitInterval(20*time.Millisecond))
	unreg, err := e.obs.ObserveStats(c)
	if err != nil {
		t.Fatal(err)
	}
	defer unreg()
	testkit.Run(t, c)
	gauges := func() map[string]float64 {
		var rm metricdata.ResourceMetrics
		if err := e.reader.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		out := map[string]float64{}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				switch d := m.Data.(type) {
				case metricdata.Gauge[int64]:
					for _, p := range d.DataPoints {
						out[m.Name] += float64(p.Value)
					}
				case metricdata.Gauge[float64]:
					for _, p := range d.DataPoints {
						out[m.Name] += p.Value
					}
				}
			}
		}
		return out
	}
	testkit.WaitFor(t, 10*time.Second, "a head-of-line wait above 0", func() bool {
		g := gauges()
		return g["kpar.consumer.head_wait.max"] > 0 && g["kpar.consumer.head_wait"] > 0
	})
	close(release)
	testkit.WaitFor(t, 10*time.Second, "lag 0 and no wait", func() bool {
		g := gauges()
		lag, ok := g["kpar.consumer.lag"]
		return ok && lag == 0 && g["kpar.consumer.lag.max"] == 0 && g["kpar.consumer.head_wait.max"] == 0
	})
}
