package kotel_test

import (
	"context"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/kpar/kpar/parallel"
	"github.com/kpar/kpar/parallel/kotel"
)

// With SampledOnly, a record whose producer did not sample it gets no span
// of its own (the tracer is not asked), its handler and its dead-letter copy
// carry the producer's span context as is (the handler's own spans continue
// that trace, unsampled), and its duration is not
// recorded; a sampled record is traced in full; a record with no parent
// asks the sampler (which drops it: no duration either); every record is
// counted. Without it, every attempt asks the tracer and records its
// duration. Alike with the W3C propagator (read in place) and a composite
// one (read by its Extract).
func TestSampledOnlySkipsTheTracerForAnUnsampledParent(t *testing.T) {
	for _, prop := range []propagation.TextMapPropagator{propagation.TraceContext{},
		propagation.NewCompositeTextMapPropagator(propagation.Baggage{}, propagation.TraceContext{})} {
		for _, only := range []bool{false, true} {
			checkSampledOnly(t, only, prop)
		}
	}
}

func checkSampledOnly(t *testing.T, only bool, prop propagation.TextMapPropagator) {
	t.Helper()
	sampler := &kotel.CountingSampler{Sampler: sdktrace.ParentBased(sdktrace.NeverSample())}
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithSampler(sampler))
	reader := sdkmetric.NewManualReader()
	opts := []kotel.Opt{kotel.TracerProvider(tp), kotel.Propagator(prop),
		kotel.MeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))}
	if only {
		opts = append(opts, kotel.SampledOnly())
	}
	o := kotel.New(opts...)
	const (
		sampledTP   = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
		unsampledTP = "00-5bf92f3577b34da6a3ce929d0e0e4736-10f067aa0ba902b7-00"
	)
	recs := []*kgo.Record{
		{Topic: "t", Offset: 1, Key: []byte("k1"), Headers: []kgo.RecordHeader{{Key: "traceparent", Value: []byte(sampledTP)}}},
		{Topic: "t", Offset: 2, Key: []byte("k2"), Headers: []kgo.RecordHeader{{Key: "traceparent", Value: []byte(unsampledTP)}}},
		{Topic: "t", Offset: 3, Key: []byte("k3")},
	}
	var unsampledCtx, child trace.SpanContext
	dlt := &kgo.Record{}
	type key struct{}
	for _, r := range recs {
		a := parallel.Attempt{Record: r, Number: 1, Group: "g"}
		ctx := o.AttemptStart(context.WithValue(context.Background(), key{}, "worker's"), a)
		if v, _ := ctx.Value(key{}).(string); v != "worker's" {
			t.Errorf("SampledOnly=%v: the handler's context lost the worker's values", only)
		}
		if r.Offset == 2 {
			unsampledCtx = trace.SpanContextFromContext(ctx)
			if trace.SpanFromContext(ctx).IsRecording() {
				t.Errorf("SampledOnly=%v: the unsampled record's span records", only)
			}
			_, span := sdktrace.NewTracerProvider().Tracer("handler").Start(ctx, "handler's own")
			child = span.SpanContext()
			span.End()
			o.Forward(ctx, a, dlt)
			a.Route = parallel.RouteDeadLetter
			o.AttemptEnd(ctx, a, parallel.Permanent(errors.New("bad")))
			continue
		}
		a.Route = parallel.RouteDone
		o.AttemptEnd(ctx, a, nil)
	}

	wantCalls := int64(3)
	if only {
		wantCalls = 2
	}
	if n := sampler.Calls.Load(); n != wantCalls {
		t.Errorf("SampledOnly=%v: the sampler was asked %d times, want %d", only, n, wantCalls)
	}
	parent := propagation.TraceContext{}.Extract(context.Background(), propagation.MapCarrier{"traceparent": unsampledTP})
	psc := trace.SpanContextFromContext(parent)
	if only && !unsampledCtx.Equal(psc) {
		t.Errorf("the unsampled record's handler has span context %v, want its parent's %v", unsampledCtx, psc)
	}
	if child.TraceID() != psc.TraceID() || child.IsSampled() {
		t.Errorf("SampledOnly=%v: the handler's own span is %v, want unsampled in trace %v", only, child, psc.TraceID())
	}
	copied := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), kotel.RecordCarrier(dlt)))
	if copied.TraceID() != psc.TraceID() || copied.IsSampled() {
		t.Errorf("SampledOnly=%v: the dead-letter copy carries %v, want the unsampled trace %v", only, copied, psc.TraceID())
	}
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("SampledOnly=%v: %d spans, want 1 (the sampled record's)", only, len(spans))
	}
	for _, s := range spans {
		for _, k := range []string{"messaging.kafka.offset", "messaging.kafka.message.key", "kpar.attempt", "kpar.outcome",
			"kpar.route", "messaging.destination.name", "messaging.destination.partition.id", "messaging.consumer.group.name"} {
			if _, ok := attr(s, attribute.Key(k)); !ok {
				t.Errorf("SampledOnly=%v: span %s misses %s: %v", only, s.SpanContext.TraceID(), k, s.Attributes)
			}
		}
	}
	durations, consumed := attemptMetrics(t, reader)
	wantDurations := uint64(3)
	if only {
		wantDurations = 1
	}
	if durations != wantDurations || consumed != 3 {
		t.Errorf("SampledOnly=%v: %d durations and %d consumed, want %d and 3", only, durations, consumed, wantDurations)
	}
}

// attemptMetrics returns the count of messaging.process.duration and the
// sum of messaging.client.consumed.messages over their attribute sets.
func attemptMetrics(t *testing.T, reader *sdkmetric.ManualReader) (durations uint64, consumed int64) {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					durations += p.Count
				}
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					consumed += p.Value
				}
			}
		}
	}
	return durations, consumed
}
