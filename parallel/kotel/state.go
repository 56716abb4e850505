package kotel

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
)

// state is what AttemptEnd needs of the attempt, as the handler's context
// (over the span's): one allocation carries both.
type state struct {
	context.Context
	embedded.Span             // a state is a span too, when skipped
	start         int64       // nanotime at the start; 0: the duration is not recorded (SampledOnly)
	r             *kgo.Record // the attempt's; nil for a batch call
	pa            *partAttrs  // r's partition's; nil for a batch call
	// When SampledOnly gave the attempt no span (skipped), the state is the
	// context's span, with the parent's span context, read when asked for
	// from the span in from, or else from the traceparent value tp; one of
	// them is set then, neither otherwise (no bool: 96 bytes, not 112).
	from context.Context
	tp   []byte
}

// skipped reports whether SampledOnly gave the attempt no span.
func (s *state) skipped() bool { return s.from != nil || s.tp != nil }

// monoBase is nanotime's origin.
var monoBase = time.Now()

// nanotime is a monotonic clock reading, in nanoseconds since monoBase plus
// one (never 0): 8 bytes where a time.Time takes 24.
func nanotime() int64 { return int64(time.Since(monoBase)) + 1 }

type stateKey struct{}

func (s *state) Value(key any) any {
	if key == (stateKey{}) {
		return s
	}
	if s.skipped() && isSpanKey(key) {
		return s
	}
	return s.Context.Value(key)
}

// A *state is also the span of an attempt that SampledOnly gave none: its
// parent's span context, recording nothing, like the SDK's
// non-recording span. The state answers the trace package's span lookups
// with itself (see state.Value): one allocation where
// trace.ContextWithSpanContext takes two.

// SpanContext is the parent's, read on each call (the handler's own spans,
// Forward and a transaction's links ask; a no-op handler never does).
func (s *state) SpanContext() trace.SpanContext {
	if s.from != nil {
		return trace.SpanContextFromContext(s.from)
	}
	return parseTraceparent(s.tp)
}

func (s *state) TracerProvider() trace.TracerProvider  { return s.pa.tp }
func (*state) IsRecording() bool                       { return false }
func (*state) End(...trace.SpanEndOption)              {}
func (*state) AddEvent(string, ...trace.EventOption)   {}
func (*state) AddLink(trace.Link)                      {}
func (*state) RecordError(error, ...trace.EventOption) {}
func (*state) SetStatus(codes.Code, string)            {}
func (*state) SetName(string)                          {}
func (*state) SetAttributes(...attribute.KeyValue)     {}

var _ trace.Span = (*state)(nil)

// spanProbe holds probeSpan under the trace package's own (unexported)
// context key: isSpanKey asks it whether a key is that one.
var (
	probeSpan = &state{}
	spanProbe = trace.ContextWithSpan(context.Background(), probeSpan)
)

// isSpanKey reports whether key is the one trace.SpanFromContext looks up.
func isSpanKey(key any) bool { return spanProbe.Value(key) == any(probeSpan) }
