package kotel_test

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/kpar/kpar/parallel"
	"github.com/kpar/kpar/parallel/kotel"
)

// A record produced inside a trace is processed in a span of that trace:
// the producer injects traceparent (as franz-go's plugin/kotel does), the
// consumer's process span continues it.
func Example() {
	cluster, _ := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "orders"))
	defer cluster.Close()
	seeds := cluster.ListenAddrs()

	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	prop := propagation.TraceContext{}

	// The producer side: a span, and its context in the record's headers.
	ctx, span := tp.Tracer("shop").Start(context.Background(), "place order")
	r := &kgo.Record{Topic: "orders", Value: []byte("order 1")}
	hs := propagation.MapCarrier{}
	prop.Inject(ctx, hs)
	for k, v := range hs {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: k, Value: []byte(v)})
	}
	span.End()
	cl, _ := kgo.NewClient(kgo.SeedBrokers(seeds...))
	defer cl.Close()
	if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
		fmt.Println(err)
		return
	}

	// The consumer side.
	done := make(chan trace.SpanContext, 1)
	c, err := parallel.New(func(ctx context.Context, r *kgo.Record) error {
		done <- trace.SpanContextFromContext(ctx) // the handler runs in its span
		return nil
	},
		parallel.ClientOpts(kgo.SeedBrokers(seeds...), kgo.ConsumerGroup("billing"), kgo.ConsumeTopics("orders")),
		parallel.Observe(kotel.New(kotel.TracerProvider(tp), kotel.Propagator(prop))),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	runCtx, stop := context.WithCancel(context.Background())
	go c.Run(runCtx)
	sc := <-done
	stop()
	c.Close() // waits for the handler's attempt, and so its span, to end

	for _, s := range exp.GetSpans() {
		if s.Name == "process orders" {
			fmt.Println("same trace:", s.SpanContext.TraceID() == span.SpanContext().TraceID())
			fmt.Println("parent is the producer's span:", s.Parent.SpanID() == span.SpanContext().SpanID())
			fmt.Println("handler ran in it:", s.SpanContext.SpanID() == sc.SpanID())
		}
	}
	// Output:
	// same trace: true
	// parent is the producer's span: true
	// handler ran in it: true
}
