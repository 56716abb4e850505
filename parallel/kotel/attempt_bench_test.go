package kotel_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/kpar/kpar/parallel"
	"github.com/kpar/kpar/parallel/kotel"
)

// BenchmarkAttempt is the observer's own cost per handler attempt
// (AttemptStart and AttemptEnd, no consumer, no broker), for the tracing
// configurations of BenchmarkNoop: parents sampled as each mode's producer
// would (every one for "all", 1 in 100 otherwise), the consumer's sampler
// ParentBased over AlwaysSample ("all"), TraceIDRatioBased(0.01) ("1%") or
// NeverSample ("never"), with and without SampledOnly.
func BenchmarkAttempt(b *testing.B) {
	for _, mode := range []string{"all", "1%", "never"} {
		for _, only := range []bool{false, true} {
			b.Run(fmt.Sprintf("sampler=%s/sampledonly=%v", mode, only), func(b *testing.B) {
				tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()), sdktrace.WithSampler(benchSampler(mode)))
				defer tp.Shutdown(context.Background())
				opts := []kotel.Opt{kotel.TracerProvider(tp), kotel.Propagator(propagation.TraceContext{}),
					kotel.MeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader())))}
				if only {
					opts = append(opts, kotel.SampledOnly())
				}
				o := kotel.New(opts...)
				recs := make([]*kgo.Record, 100)
				for i := range recs {
					flags := "00"
					if mode == "all" || i == 0 {
						flags = "01"
					}
					tpv := fmt.Sprintf("00-4bf92f3577b34da6a3ce929d0e0e%04x-00f067aa0ba902b7-%s", i, flags)
					recs[i] = &kgo.Record{Topic: "t", Partition: int32(i % 4), Offset: int64(i), Key: []byte(strconv.Itoa(i % 64)),
						Value: []byte("v"), Headers: []kgo.RecordHeader{{Key: "traceparent", Value: []byte(tpv)}}}
				}
				ctx := context.Background()
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					a := parallel.Attempt{Record: recs[i%len(recs)], Number: 1, Group: "g"}
					actx := o.AttemptStart(ctx, a)
					a.Route = parallel.RouteDone
					o.AttemptEnd(actx, a, nil)
				}
			})
		}
	}
}

func benchSampler(mode string) sdktrace.Sampler {
	switch mode {
	case "1%":
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.01))
	case "never":
		return sdktrace.ParentBased(sdktrace.NeverSample())
	}
	return sdktrace.ParentBased(sdktrace.AlwaysSample())
}

// BenchmarkAttemptUnsampled is the observer's cost per attempt of a record
// that gets no span: every record's parent (a traceparent, flags 00) is not
// sampled, and the consumer samples ParentBased(TraceIDRatioBased(0.01))
// with SampledOnly, as a production consumer of a 1% head-sampled producer
// would. Its allocs/op is what such a record costs the heap.
func BenchmarkAttemptUnsampled(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()), sdktrace.WithSampler(benchSampler("1%")))
	defer tp.Shutdown(context.Background())
	o := kotel.New(kotel.TracerProvider(tp), kotel.Propagator(propagation.TraceContext{}), kotel.SampledOnly(),
		kotel.MeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))))
	recs := make([]*kgo.Record, 100)
	for i := range recs {
		tpv := fmt.Sprintf("00-4bf92f3577b34da6a3ce929d0e0e%04x-00f067aa0ba902b7-00", i)
		recs[i] = &kgo.Record{Topic: "t", Partition: int32(i % 4), Offset: int64(i), Key: []byte(strconv.Itoa(i % 64)),
			Value: []byte("v"), Headers: []kgo.RecordHeader{{Key: "traceparent", Value: []byte(tpv)}}}
	}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		a := parallel.Attempt{Record: recs[i%len(recs)], Number: 1, Group: "g"}
		actx := o.AttemptStart(ctx, a)
		a.Route = parallel.RouteDone
		o.AttemptEnd(actx, a, nil)
		i++
	}
}
