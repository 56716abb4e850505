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
// (over the span's): one allocation carries both. It takes 64 bytes, a
// smaller size class than the 96 of a field per kind of parent: every
// record SampledOnly skips allocates it.
type state struct {
	context.Context
	*spanMarker             // a state is a span too, when skipped
	start       int64       // nanotime at the start; 0: the duration is not recorded (SampledOnly)
	r           *kgo.Record // the attempt's; nil for a batch call
	pa          *partAttrs  // r's partition's; nil for a batch call
	// When SampledOnly gave the attempt no span (skipped), the state is the
	// context's span, with the parent's span context, read when asked for
	// from src: the record's Context holding the parent's span (a
	// context.Context), a traceparent value of version 00's shape
	// (*[55]byte), or a span context read from another (*trace.SpanContext);
	// nil when not skipped.
	src any
}

// spanMarker gives state the trace.Span interface's unexported marker
// method (embedded.Span's) through a pointer, 8 bytes where embedding the
// interface takes 16; it is never called, so the pointer stays nil.
type spanMarker struct{ embedded.Span }

// skipped reports whether SampledOnly gave the attempt no span.
func (s *state) skipped() bool { return s.src != nil }

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
	switch src := s.src.(type) {
	case *[55]byte:
		return parseTraceparent(src[:])
	case *trace.SpanContext:
		return *src
	case context.Context:
		return trace.SpanContextFromContext(src)
	}
	return trace.SpanContext{}
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
