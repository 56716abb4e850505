package kotel

import (
	"context"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/kpar/kpar/parallel"
)

// With SampledOnly and the W3C propagator, a traceparent of version 00's
// shape whose flags do not sample (00 or 02) is skipped on its flags alone:
// no span, the tracer not asked, and the handler's context holds the span
// context the propagator reads from it, read only when asked for (none,
// where its IDs are malformed: the propagator finds no parent there, and
// without SampledOnly the tracer would start a root). Any other value is
// read in full first: skipped when the propagator reads an unsampled
// parent, else the tracer is asked.
func TestSampledOnlyReadsOnlyTheFlagsOfAnUnsampledTraceparent(t *testing.T) {
	values := append(slices.Clone(traceparents),
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02",
		"00-zzf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
		"00-00000000000000000000000000000000-00f067aa0ba902b7-00",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-02",
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-00",
		"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
		"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-more")
	for _, v := range values {
		s := &CountingSampler{Sampler: sdktrace.ParentBased(sdktrace.NeverSample())}
		o := New(TracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSampler(s))), Propagator(propagation.TraceContext{}), SampledOnly())
		r := &kgo.Record{Topic: "t", Headers: []kgo.RecordHeader{{Key: "traceparent", Value: []byte(v)}}}
		a := parallel.Attempt{Record: r, Number: 1, Group: "g"}
		ctx := o.AttemptStart(context.Background(), a)
		psc := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), propagation.MapCarrier{"traceparent": v}))
		flagsOnly := len(v) == 55 && strings.HasPrefix(v, "00-") && (strings.HasSuffix(v, "-00") || strings.HasSuffix(v, "-02"))
		wantSkip := flagsOnly || psc.IsValid() && !psc.IsSampled()
		if asked := s.Calls.Load() > 0; asked == wantSkip {
			t.Errorf("%q: tracer asked %v, want %v", v, asked, !wantSkip)
		}
		if wantSkip {
			if got := trace.SpanContextFromContext(ctx); !got.Equal(psc) {
				t.Errorf("%q: the handler's span context is %v, want the propagator's reading %v", v, got, psc)
			}
		}
		if unsampled00([]byte(v)) != flagsOnly {
			t.Errorf("%q: unsampled00 says %v", v, !flagsOnly)
		}
		a.Route = parallel.RouteDone
		o.AttemptEnd(ctx, a, nil)
	}
}

// A record SampledOnly skips costs the heap one object of 64 bytes: the
// handler's context, which is also its span (see state).
func TestASkippedAttemptAllocatesOneObjectOf64Bytes(t *testing.T) {
	o := New(TracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.NeverSample())))),
		Propagator(propagation.TraceContext{}), SampledOnly())
	r := &kgo.Record{Topic: "t", Headers: []kgo.RecordHeader{{Key: "traceparent", Value: []byte(traceparents[1])}}}
	ctx := context.Background()
	attempt := func() {
		a := parallel.Attempt{Record: r, Number: 1, Group: "g"}
		actx := o.AttemptStart(ctx, a)
		a.Route = parallel.RouteDone
		o.AttemptEnd(actx, a, nil)
	}
	attempt() // the partition's attributes, built once
	if n := testing.AllocsPerRun(1000, attempt); n != 1 {
		t.Errorf("%.2f allocations per skipped attempt, want 1", n)
	}
	const runs = 10000
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		attempt()
	}
	runtime.ReadMemStats(&after)
	if b := (after.TotalAlloc - before.TotalAlloc) / runs; b > 64 {
		t.Errorf("%d bytes allocated per skipped attempt, want 64", b)
	}
}
