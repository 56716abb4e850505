package kotel

import (
	"bytes"
	"context"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// SampledOnly makes attempts that are not sampled cost little, for a
// tracer provider whose sampler follows a parent's decision not to sample
// (the OpenTelemetry SDK's default, ParentBased, does). It changes two
// things:
//
//   - A record whose parent span (from its headers, or its Context) is not
//     sampled gets no span of its own: the tracer is not called and the
//     handler runs with the parent's span context as is, so the handler's
//     own spans and the retry-topic and dead-letter copies continue the
//     producer's trace, unsampled, as they would under ParentBased. Do not
//     use it with a sampler that may sample the child of an unsampled
//     parent: those spans would be lost.
//   - messaging.process.duration is recorded only for attempts whose span
//     records: it is a sample of the durations, at the tracer's rate.
//     messaging.client.consumed.messages still counts every record.
//
// Every sampled attempt keeps its span with all its attributes; records
// with no parent, batch calls and transactions are traced as without it.
//
// With the W3C propagator (and no tracestate header), a traceparent of
// version 00's shape whose flags do not sample is decided on its flags
// alone: its IDs are read only when the span context is asked for (a
// handler's own span, a retry or dead-letter copy), so a skipped record
// costs one allocation and the read of its headers. If those IDs are
// malformed (not lower-case hex, or all zero) the handler's context holds
// no valid span context, as the propagator reads none, where without
// SampledOnly the tracer would have started a root span.
func SampledOnly() Opt { return func(o *Observer) { o.sampledOnly = true } }

// parentOf is the span context an attempt of a record continues, as
// parent found it.
type parentOf struct {
	sc   trace.SpanContext // read; the zero SpanContext if none or lazy
	pctx context.Context   // the propagator's Extract over ctx (it may hold more, e.g. baggage); nil if not used
	from context.Context   // the record's Context, when it holds the span
	tp   []byte            // the traceparent value, when read in place
	// lazy: with SampledOnly, tp has version 00's shape and flags that do
	// not sample, and sc was not read from it (see unsampled00).
	lazy bool
}

// parent returns the span context an attempt of r continues: the span in
// r.Context if it holds one, else the one the propagator reads from r's
// headers. With the W3C propagator and no tracestate header, the
// traceparent header is read in place, without the allocations of the
// propagator's Extract (the reading is the same); with SampledOnly, one
// whose flags do not sample is not parsed at all (lazy).
func (o *Observer) parent(ctx context.Context, r *kgo.Record) parentOf {
	if r.Context != nil {
		if sc := trace.SpanContextFromContext(r.Context); sc.IsValid() {
			return parentOf{sc: sc, from: r.Context}
		}
	}
	if o.w3c {
		var tp []byte
		found, state := false, false
		for _, h := range r.Headers {
			switch h.Key {
			case "traceparent":
				if !found {
					tp, found = h.Value, true
				}
			case "tracestate":
				state = true
			}
		}
		if !state {
			if o.sampledOnly && unsampled00(tp) {
				return parentOf{tp: tp, lazy: true}
			}
			return parentOf{sc: parseTraceparent(tp), tp: tp}
		}
	}
	pctx := o.prop.Extract(ctx, carrier{r})
	return parentOf{sc: trace.SpanContextFromContext(pctx), pctx: pctx}
}

// unsampled00 reports whether the traceparent value h has version 00's one
// shape (https://www.w3.org/TR/trace-context/#traceparent-header) and flags
// 00 or 02: a parent that is not sampled, whatever its IDs. Its IDs are not
// read here: parseTraceparent reads them when the span context is asked
// for (state.SpanContext).
func unsampled00(h []byte) bool {
	return len(h) == 55 && h[0] == '0' && h[1] == '0' && h[2] == '-' && h[35] == '-' && h[52] == '-' &&
		h[53] == '0' && (h[54] == '0' || h[54] == '2')
}

// isW3C reports whether p is exactly the W3C trace-context propagator.
func isW3C(p propagation.TextMapPropagator) bool {
	switch p.(type) {
	case propagation.TraceContext, *propagation.TraceContext:
		return true
	}
	return false
}

// parseTraceparent is propagation.TraceContext's reading of a traceparent
// value (https://www.w3.org/TR/trace-context/#traceparent-header) without a
// tracestate, on the header's bytes: the zero SpanContext unless valid.
func parseTraceparent(h []byte) trace.SpanContext {
	var ver, opts [1]byte
	var scc trace.SpanContextConfig
	if len(h) == 55 && h[2] == '-' && h[35] == '-' && h[52] == '-' {
		// The one shape version 0 has: the fields at fixed offsets.
		if !unhexTo(ver[:], h[0:2]) || !unhexTo(scc.TraceID[:], h[3:35]) || !unhexTo(scc.SpanID[:], h[36:52]) ||
			!unhexTo(opts[:], h[53:55]) || ver[0] == 0xff {
			return trace.SpanContext{}
		}
		h = nil
	} else if !hexPart(ver[:], &h) || ver[0] == 0xff || !hexPart(scc.TraceID[:], &h) ||
		!hexPart(scc.SpanID[:], &h) || !hexPart(opts[:], &h) {
		return trace.SpanContext{}
	}
	if ver[0] == 0 && (len(h) != 0 || opts[0] > 3) {
		// Version 0 allows no extra fields and no reserved flag bits.
		return trace.SpanContext{}
	}
	scc.TraceFlags = trace.TraceFlags(opts[0]) & (trace.FlagsSampled | trace.FlagsRandom)
	scc.Remote = true
	if sc := trace.NewSpanContext(scc); sc.IsValid() {
		return sc
	}
	return trace.SpanContext{}
}

// hexPart decodes the next '-'-separated field of *h into dst (lower-case
// hex, exactly 2*len(dst) digits) and moves *h past it and its separator;
// *h is empty after the last field.
func hexPart(dst []byte, h *[]byte) bool {
	part, rest := *h, []byte(nil)
	if i := bytes.IndexByte(part, '-'); i >= 0 {
		part, rest = part[:i], part[i+1:]
	}
	*h = rest
	return len(part) == 2*len(dst) && unhexTo(dst, part)
}

// unhexTo decodes the lower-case hex digits src, 2*len(dst) of them, into
// dst.
func unhexTo(dst, src []byte) bool {
	src = src[:2*len(dst)]
	bad := byte(0)
	for i := range dst {
		hi, lo := unhex[src[2*i]], unhex[src[2*i+1]]
		dst[i] = hi<<4 | lo
		bad |= hi | lo
	}
	return bad&0xf0 == 0
}

// unhex maps a lower-case hex digit to its value and anything else to 0xff.
var unhex = func() (t [256]byte) {
	for i := range t {
		switch c := byte(i); {
		case '0' <= c && c <= '9':
			t[i] = c - '0'
		case 'a' <= c && c <= 'f':
			t[i] = c - 'a' + 10
		default:
			t[i] = 0xff
		}
	}
	return t
}()
