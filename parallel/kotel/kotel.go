package kotel

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/kpar/kpar/parallel"
)

// ScopeName is the instrumentation scope of the tracer and meter.
const ScopeName = "github.com/kpar/kpar/parallel/kotel"

// Attribute keys of kpar's own (the messaging conventions have none).
const (
	AttrAttempt = attribute.Key("kpar.attempt")
	AttrOutcome = attribute.Key("kpar.outcome")
	AttrRoute   = attribute.Key("kpar.route")

	// A NewTransform transaction's span.
	AttrTransactionalID = attribute.Key("kpar.transactional_id")
	AttrTxnPartitions   = attribute.Key("kpar.txn.partitions") // input partitions whose offsets it commits
	AttrTxnRecords      = attribute.Key("kpar.txn.records")    // input records whose outputs it writes
	AttrTxnOutputs      = attribute.Key("kpar.txn.outputs")    // records it produces
	AttrTxnOutcome      = attribute.Key("kpar.txn.outcome")    // committed, aborted, fenced or unconfirmed
)

// Opt configures an Observer.
type Opt func(*Observer)

// TracerProvider sets the tracer provider; default otel.GetTracerProvider().
func TracerProvider(tp trace.TracerProvider) Opt { return func(o *Observer) { o.tp = tp } }

// MeterProvider sets the meter provider; default otel.GetMeterProvider().
func MeterProvider(mp metric.MeterProvider) Opt { return func(o *Observer) { o.mp = mp } }

// Propagator sets how trace context is read from and written to record
// headers; default otel.GetTextMapPropagator() (set it to
// propagation.TraceContext{} or a composite with it: the global default
// propagates nothing).
func Propagator(p propagation.TextMapPropagator) Opt { return func(o *Observer) { o.prop = p } }

// Observer is a parallel.Observer that traces and measures handler attempts.
type Observer struct {
	tp     trace.TracerProvider
	mp     metric.MeterProvider
	prop   propagation.TextMapPropagator
	tracer trace.Tracer
	meter  metric.Meter

	duration metric.Float64Histogram

	parts sync.Map                   // partKey -> *partAttrs
	first atomic.Pointer[topicParts] // the first topic's, by partition (partcache.go)

	w3c         bool // prop is propagation.TraceContext: parse traceparent in place
	sampledOnly bool // SampledOnly
}

var _ parallel.TxnObserver = (*Observer)(nil)

// New returns an Observer; pass it to parallel.Observe. Instruments that the
// meter provider refuses are replaced by no-ops (OpenTelemetry's rule: a
// bad instrument must not break the program); their error goes to
// otel.Handle.
func New(opts ...Opt) *Observer {
	o := &Observer{}
	for _, f := range opts {
		f(o)
	}
	if o.tp == nil {
		o.tp = otel.GetTracerProvider()
	}
	if o.mp == nil {
		o.mp = otel.GetMeterProvider()
	}
	if o.prop == nil {
		o.prop = otel.GetTextMapPropagator()
	}
	o.w3c = isW3C(o.prop)
	o.tracer = o.tp.Tracer(ScopeName, trace.WithSchemaURL(semconv.SchemaURL))
	o.meter = o.mp.Meter(ScopeName, metric.WithSchemaURL(semconv.SchemaURL))
	var err error
	if o.duration, err = o.meter.Float64Histogram("messaging.process.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of processing operation."),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)); err != nil {
		otel.Handle(err)
	}
	// Counted in the partition's atomics, handed to the SDK at collection:
	// a synchronous Add per record cost about as much as the histogram.
	consumed, err := o.meter.Int64ObservableCounter("messaging.client.consumed.messages", metric.WithUnit("{message}"),
		metric.WithDescription("Number of messages that were delivered to the application."))
	if err == nil {
		_, err = o.meter.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
			o.parts.Range(func(_, v any) bool {
				pa := v.(*partAttrs)
				for i := range pa.consumed {
					if n := pa.consumed[i].Load(); n > 0 {
						ob.ObserveInt64(consumed, n, pa.obs[i])
					}
				}
				return true
			})
			return nil
		}, consumed)
	}
	if err != nil {
		otel.Handle(err)
	}
	return o
}

// AttemptStart implements parallel.Observer: it starts the attempt's span.
// What is the same for every record of a partition (the span name, the
// span's and the metrics' partition attributes) is built once per
// partition; the record's own attributes (offset, key, attempt) only when
// the span is recorded (sampled).
func (o *Observer) AttemptStart(ctx context.Context, a parallel.Attempt) context.Context {
	if a.Record == nil {
		return o.startBatch(ctx, a, time.Now())
	}
	r := a.Record
	st := &state{r: r, pa: o.partAttrsFast(r.Topic, r.Partition, a.Group)}
	p := o.parent(ctx, r)
	if o.sampledOnly && (p.lazy || p.sc.IsValid() && !p.sc.IsSampled()) {
		// No span, no duration: see SampledOnly.
		st.Context = ctx
		switch {
		case p.pctx != nil:
			st.Context = p.pctx
		case p.from != nil:
			st.src = p.from
		case p.lazy:
			st.src = (*[55]byte)(p.tp)
		default: // a traceparent of another shape, read in full: rare
			sc := p.sc
			st.src = &sc
		}
		return st
	}
	parent := ctx
	switch {
	case p.pctx != nil:
		parent = p.pctx
	case p.sc.IsValid():
		parent = trace.ContextWithSpanContext(ctx, p.sc)
	}
	ctx, span := o.tracer.Start(parent, st.pa.name, st.pa.startOpts...)
	if span.IsRecording() {
		var buf [4]attribute.KeyValue
		kvs := append(buf[:0], semconv.MessagingKafkaOffset(int(r.Offset)), AttrAttempt.Int(a.Number))
		if r.Key != nil && utf8.Valid(r.Key) {
			kvs = append(kvs, semconv.MessagingKafkaMessageKey(string(r.Key)))
		}
		if r.Value == nil {
			kvs = append(kvs, semconv.MessagingKafkaMessageTombstone(true))
		}
		span.SetAttributes(kvs...)
	}
	st.Context = ctx
	if !o.sampledOnly || span.IsRecording() {
		st.start = nanotime()
	}
	return st
}

// partAttrs is what every attempt of one partition (and group) shares.
type partAttrs struct {
	tp        trace.TracerProvider    // the Observer's
	name      string                  // the span's
	startOpts []trace.SpanStartOption // kind and the partition's attributes
	// The metrics' attribute sets: ok, then one per error type.
	rec      [1 + len(errorTypes)][]metric.RecordOption
	obs      [1 + len(errorTypes)]metric.ObserveOption
	consumed [1 + len(errorTypes)]atomic.Int64 // messaging.client.consumed.messages
}

type partKey struct {
	topic string
	part  int32
	group string
}

// errorTypes are the values of error.type (errorType).
var errorTypes = [...]string{"permanent", "panic", "timeout", "_OTHER"}

// partAttrs returns the partition's shared attributes, built on first use.
func (o *Observer) partAttrs(topic string, part int32, group string) *partAttrs {
	k := partKey{topic, part, group}
	if v, ok := o.parts.Load(k); ok {
		return v.(*partAttrs)
	}
	pid := strconv.Itoa(int(part))
	span := []attribute.KeyValue{
		semconv.MessagingSystemKafka,
		semconv.MessagingOperationTypeProcess,
		semconv.MessagingOperationName("process"),
		semconv.MessagingDestinationName(topic),
		semconv.MessagingDestinationPartitionID(pid),
	}
	met := []attribute.KeyValue{
		semconv.MessagingSystemKafka,
		semconv.MessagingOperationName("process"),
		semconv.MessagingDestinationName(topic),
		semconv.MessagingDestinationPartitionID(pid),
	}
	if group != "" {
		span = append(span, semconv.MessagingConsumerGroupName(group))
		met = append(met, semconv.MessagingConsumerGroupName(group))
	}
	pa := &partAttrs{tp: o.tp, name: "process " + topic,
		startOpts: []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(span...)}}
	for i := range pa.rec {
		kvs := met
		if i > 0 {
			kvs = append(slices.Clip(met), semconv.ErrorTypeKey.String(errorTypes[i-1]))
		}
		set := metric.WithAttributeSet(attribute.NewSet(kvs...))
		pa.rec[i], pa.obs[i] = []metric.RecordOption{set}, set
	}
	v, _ := o.parts.LoadOrStore(k, pa)
	return v.(*partAttrs)
}

func (o *Observer) startBatch(ctx context.Context, a parallel.Attempt, start time.Time) context.Context {
	ctx = &state{Context: ctx}
	name, topic := "process", ""
	links := make([]trace.Link, 0, len(a.Batch))
	for i, r := range a.Batch {
		if i == 0 {
			topic = r.Topic
		} else if r.Topic != topic {
			topic = ""
		}
		sc := trace.SpanContextFromContext(o.prop.Extract(context.Background(), carrier{r}))
		if sc.IsValid() {
			links = append(links, trace.Link{SpanContext: sc})
		}
	}
	attrs := []attribute.KeyValue{
		semconv.MessagingSystemKafka,
		semconv.MessagingOperationTypeProcess,
		semconv.MessagingOperationName("process"),
		semconv.MessagingBatchMessageCount(len(a.Batch)),
	}
	if topic != "" {
		name += " " + topic
		attrs = append(attrs, semconv.MessagingDestinationName(topic))
	}
	if a.Group != "" {
		attrs = append(attrs, semconv.MessagingConsumerGroupName(a.Group))
	}
	ctx, _ = o.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindConsumer), trace.WithNewRoot(),
		trace.WithTimestamp(start), trace.WithLinks(links...), trace.WithAttributes(attrs...))
	return ctx
}

// Forward implements parallel.Observer: out, the retry-topic or dead-letter
// copy, carries the attempt's span context in its headers.
func (o *Observer) Forward(ctx context.Context, _ parallel.Attempt, out *kgo.Record) {
	o.prop.Inject(ctx, carrier{out})
}

// AttemptEnd implements parallel.Observer: it ends the span and records the
// metrics.
func (o *Observer) AttemptEnd(ctx context.Context, a parallel.Attempt, err error) {
	et := 0 // index into errorTypes, plus one; 0: no error
	if err != nil {
		et = errorType(err)
	}
	if st, ok := ctx.(*state); ok && st.skipped() && st.r == a.Record {
		// SampledOnly gave it no span: counted only.
		if a.Route != parallel.RouteRetry {
			st.pa.consumed[et].Add(1)
		}
		return
	}
	span := trace.SpanFromContext(ctx)
	if span.IsRecording() {
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
			span.SetAttributes(AttrOutcome.String("error"), AttrRoute.String(a.Route.String()),
				semconv.ErrorTypeKey.String(errorTypes[et-1]))
		} else {
			span.SetAttributes(AttrOutcome.String("ok"), AttrRoute.String(a.Route.String()))
		}
	}
	// Metrics first: whoever sees the span ended sees its metrics too.
	defer span.End()
	if a.Record == nil {
		return
	}
	var pa *partAttrs
	var start int64 // 0: no duration
	if st, _ := ctx.Value(stateKey{}).(*state); st != nil && st.r == a.Record {
		pa, start = st.pa, st.start
	} else { // not traced (SampledOnly): counted only
		pa = o.partAttrsFast(a.Record.Topic, a.Record.Partition, a.Group)
	}
	if o.duration != nil && start != 0 {
		o.duration.Record(ctx, float64(nanotime()-start)/1e9, pa.rec[et]...)
	}
	// Once per delivery: an in-place retry is the same delivery.
	if a.Route != parallel.RouteRetry {
		pa.consumed[et].Add(1)
	}
}

// TxnStart implements parallel.TxnObserver: it starts the transaction's
// span, a root linked to the attempt span of each input whose outputs it
// writes.
func (o *Observer) TxnStart(ctx context.Context, t parallel.Txn) context.Context {
	links := make([]trace.Link, 0, len(t.Inputs))
	for _, in := range t.Inputs {
		if in.Context == nil {
			continue
		}
		if sc := trace.SpanContextFromContext(in.Context); sc.IsValid() {
			links = append(links, trace.Link{SpanContext: sc})
		}
	}
	attrs := []attribute.KeyValue{
		semconv.MessagingSystemKafka,
		AttrTransactionalID.String(t.ID),
		AttrTxnPartitions.Int(len(t.Partitions)),
		AttrTxnRecords.Int(len(t.Inputs)),
		AttrTxnOutputs.Int(t.Outputs),
	}
	if t.Group != "" {
		attrs = append(attrs, semconv.MessagingConsumerGroupName(t.Group))
	}
	ctx, _ = o.tracer.Start(ctx, "transaction", trace.WithSpanKind(trace.SpanKindProducer), trace.WithNewRoot(),
		trace.WithLinks(links...), trace.WithAttributes(attrs...))
	return ctx
}

// TxnEnd implements parallel.TxnObserver: it ends the transaction's span
// with its outcome.
func (o *Observer) TxnEnd(ctx context.Context, t parallel.Txn, err error) {
	span := trace.SpanFromContext(ctx)
	span.SetAttributes(AttrTxnOutcome.String(t.Outcome.String()))
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// errorType is error.type, as an index into errorTypes plus one: a few
// kinds, never the message (cardinality).
func errorType(err error) int {
	var pe *parallel.PanicError
	switch {
	case parallel.IsPermanent(err):
		return 1
	case errors.As(err, &pe):
		return 2
	case errors.Is(err, context.DeadlineExceeded):
		return 3
	}
	return 4
}

// carrier reads and writes a record's headers for a propagator, as
// franz-go's plugin/kotel RecordCarrier does: Set replaces the first header
// of that key, or appends one.
type carrier struct{ r *kgo.Record }

func (c carrier) Get(key string) string {
	for _, h := range c.r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func (c carrier) Set(key, val string) {
	for i, h := range c.r.Headers {
		if h.Key == key {
			c.r.Headers[i].Value = []byte(val)
			return
		}
	}
	c.r.Headers = append(c.r.Headers, kgo.RecordHeader{Key: key, Value: []byte(val)})
}

func (c carrier) Keys() []string {
	out := make([]string, len(c.r.Headers))
	for i, h := range c.r.Headers {
		out[i] = h.Key
	}
	return out
}
