package kotel_test

import (
	"context"
	"runtime/pprof"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/kpar/kpar/parallel"
	"github.com/kpar/kpar/parallel/internal/testkit"
	"github.com/kpar/kpar/parallel/kotel"
)

// BenchmarkNoop consumes b.N records (4 partitions, traceparent on each)
// with a no-op handler: untraced (traced=false); traced with every span
// recorded (traced=true) by a batching SDK exporter that discards; and
// traced as a 1% head-sampled producer would have it (traced=1%: each
// record in its own trace, sampled by TraceIDRatioBased(0.01), the consumer
// following its parent's decision, the SDK default). Metrics on a manual
// reader when traced. kfake serialises every request: compare the
// sub-benchmarks of one run with each other, not with a real broker. Not
// asserted anywhere.
func BenchmarkNoop(b *testing.B) {
	for _, mode := range []string{"false", "true", "1%"} {
		traced := mode != "false"
		b.Run("traced="+mode, func(b *testing.B) {
			seeds := testkit.Kfake(b, kfake.SeedTopics(4, "t"))
			prop := propagation.TraceContext{}
			sampler := sdktrace.ParentBased(sdktrace.AlwaysSample())
			if mode == "1%" {
				sampler = sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.01))
			}
			tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()), sdktrace.WithSampler(sampler))
			defer tp.Shutdown(context.Background())
			ctx, span := tp.Tracer("bench").Start(context.Background(), "produce")
			cl := testkit.Client(b, seeds, kgo.DefaultProduceTopic("t"))
			for i := 0; i < b.N; i++ {
				r := &kgo.Record{Key: []byte(strconv.Itoa(i % 64)), Value: []byte(strconv.Itoa(i))}
				if mode == "1%" {
					rctx, rspan := tp.Tracer("bench").Start(context.Background(), "produce")
					prop.Inject(rctx, carrier(r))
					rspan.End()
				} else {
					prop.Inject(ctx, carrier(r))
				}
				cl.Produce(context.Background(), r, nil)
			}
			if err := cl.Flush(context.Background()); err != nil {
				b.Fatal(err)
			}
			span.End()
			var done atomic.Int64
			all := make(chan struct{})
			h := func(context.Context, *kgo.Record) error {
				if done.Add(1) == int64(b.N) {
					close(all)
				}
				return nil
			}
			opts := []parallel.Opt{parallel.ClientOpts(kgo.SeedBrokers(seeds...), kgo.ConsumerGroup("g"), kgo.ConsumeTopics("t")),
				parallel.MaxConcurrency(8)}
			if traced {
				mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
				opts = append(opts, parallel.Observe(kotel.New(kotel.TracerProvider(tp), kotel.MeterProvider(mp), kotel.Propagator(prop))))
			}
			c, err := parallel.New(h, opts...)
			if err != nil {
				b.Fatal(err)
			}
			runCtx, stop := context.WithCancel(context.Background())
			defer func() { stop(); c.Close() }()
			b.ResetTimer()
			// Labelled so that a CPU profile can leave the produce out: -tagfocus phase=consume.
			go pprof.Do(runCtx, pprof.Labels("phase", "consume"), func(ctx context.Context) { c.Run(ctx) })
			select {
			case <-all:
			case <-time.After(5 * time.Minute):
				b.Fatal("not done in 5m")
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rec/s")
		})
	}
}
