package kotel_test

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
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

// tracings are the configurations the consume benchmarks compare, as
// tracing=<name>:
//   - off: no Observer;
//   - all: every span recorded (each record's producer span sampled, the
//     consumer's sampler ParentBased(AlwaysSample), the SDK's default);
//   - 1%: a 1% head-sampled producer (each record its own trace, sampled by
//     TraceIDRatioBased(0.01)) and a consumer sampling
//     ParentBased(TraceIDRatioBased(0.01));
//   - 1%+sampledonly: the same with SampledOnly;
//   - never+sampledonly: the same producer, a consumer sampling
//     ParentBased(NeverSample), with SampledOnly.
//
// Traced ones export through a batching SDK processor to an exporter that
// discards, and meter on a manual reader. Every configuration reads the
// same records (a traceparent on each).
var tracings = []string{"off", "all", "1%", "1%+sampledonly", "never+sampledonly"}

// BenchmarkNoop consumes b.N records (4 partitions, 64 keys) with a no-op
// handler and 8 workers, once per tracing configuration (see tracings), on
// kfake, or on the real broker KPAR_BROKERS names (on=broker). kfake
// serialises every request: compare sub-benchmarks on one cluster kind with
// each other only. The rate is reported, never asserted; bench_ab.sh runs
// the configurations interleaved with repeats.
func BenchmarkNoop(b *testing.B) {
	for _, tr := range tracings {
		b.Run(benchOn()+"/tracing="+tr, func(b *testing.B) { benchConsume(b, tr, 0, 8) })
	}
}

// BenchmarkSleep5ms is BenchmarkNoop with a handler that sleeps 5 ms (an
// I/O call) and 64 or 500 workers (keys: four times as many).
func BenchmarkSleep5ms(b *testing.B) {
	for _, workers := range []int{64, 500} {
		for _, tr := range tracings {
			b.Run(benchOn()+"/workers="+strconv.Itoa(workers)+"/tracing="+tr, func(b *testing.B) {
				benchConsume(b, tr, 5*time.Millisecond, workers)
			})
		}
	}
}

func benchOn() string {
	if strings.TrimSpace(os.Getenv(testkit.EnvBrokers)) != "" && !testing.Short() {
		return "on=broker"
	}
	return "on=kfake"
}

// benchConsume produces b.N records as tracing's producer would, then times
// a consumer with workers workers and a handler sleeping sleep reading them
// all, and reports rec/s.
func benchConsume(b *testing.B, tracing string, sleep time.Duration, workers int) {
	var seeds []string
	topic := "t"
	if benchOn() == "on=broker" {
		seeds = testkit.Brokers(b)
		topic = testkit.Topic(b, seeds, 4)
	} else {
		seeds = testkit.Kfake(b, kfake.SeedTopics(4, topic))
	}
	prop := propagation.TraceContext{}
	sampler := sdktrace.ParentBased(sdktrace.AlwaysSample())
	switch tracing {
	case "1%", "1%+sampledonly":
		sampler = sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.01))
	case "never+sampledonly":
		sampler = sdktrace.ParentBased(sdktrace.NeverSample())
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()), sdktrace.WithSampler(sampler))
	defer tp.Shutdown(context.Background())
	benchProduce(b, seeds, topic, tracing != "all", 4*workers)

	var done atomic.Int64
	all := make(chan struct{})
	h := func(context.Context, *kgo.Record) error {
		if sleep > 0 {
			time.Sleep(sleep)
		}
		if done.Add(1) == int64(b.N) {
			close(all)
		}
		return nil
	}
	opts := []parallel.Opt{parallel.ClientOpts(kgo.SeedBrokers(seeds...), kgo.ConsumerGroup("g-"+topic), kgo.ConsumeTopics(topic)),
		parallel.MaxConcurrency(workers)}
	if tracing != "off" {
		ko := []kotel.Opt{kotel.TracerProvider(tp), kotel.Propagator(prop),
			kotel.MeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader())))}
		if strings.HasSuffix(tracing, "+sampledonly") {
			ko = append(ko, kotel.SampledOnly())
		}
		opts = append(opts, parallel.Observe(kotel.New(ko...)))
	}
	c, err := parallel.New(h, opts...)
	if err != nil {
		b.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	defer func() { stop(); c.Close() }()
	b.ResetTimer()
	cpu0 := cpuTime()
	// Labelled so that a CPU profile can leave the produce out: -tagfocus phase=consume.
	go pprof.Do(runCtx, pprof.Labels("phase", "consume"), func(ctx context.Context) { c.Run(ctx) })
	select {
	case <-all:
	case <-time.After(5 * time.Minute):
		b.Fatal("not done in 5m")
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rec/s")
	// The process's CPU time (every goroutine's, kfake's too, and the GC's)
	// per record: less at the mercy of other processes than the rate.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/rec")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchProduce writes b.N records to topic, keys i%keys, each with a
// traceparent of its own trace: sampled in 1 of 100 (sampled1pc) or all.
// The trace IDs are drawn from the record's number, as a producer's
// TraceIDRatioBased would see random ones: the low 8 bytes decide it.
func benchProduce(b *testing.B, seeds []string, topic string, sampled1pc bool, keys int) {
	cl := testkit.Client(b, seeds, kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(5*time.Millisecond))
	var failed atomic.Value
	for i := 0; i < b.N; i++ {
		flags := "01"
		if sampled1pc && i%100 != 0 {
			flags = "00"
		}
		tpv := "00-" + hex16(uint64(i)+1) + hex16(uint64(i)*0x9e3779b97f4a7c15+1) + "-" + hex16(uint64(i)+7) + "-" + flags
		r := &kgo.Record{Key: []byte(strconv.Itoa(i % keys)), Value: []byte(strconv.Itoa(i)),
			Headers: []kgo.RecordHeader{{Key: "traceparent", Value: []byte(tpv)}}}
		cl.Produce(context.Background(), r, func(_ *kgo.Record, err error) {
			if err != nil {
				failed.Store(err)
			}
		})
	}
	if err := cl.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
}

func hex16(v uint64) string {
	s := strconv.FormatUint(v, 16)
	return strings.Repeat("0", 16-len(s)) + s
}

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
