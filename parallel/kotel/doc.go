// Package kotel traces and measures a parallel.Consumer with OpenTelemetry.
// It lives apart from package parallel, as franz-go's plugin/kotel does, so
// that the library pulls no OpenTelemetry into builds that do not want it.
//
//	o := kotel.New(kotel.TracerProvider(tp), kotel.MeterProvider(mp))
//	c, err := parallel.New(handle, parallel.Observe(o), ...)
//	...
//	stop, err := o.ObserveStats(c) // lag and head-of-line wait gauges
//	defer stop()
//
// # Spans
//
// One span ("process <topic>", kind consumer) per handler attempt: a record
// retried in place twice gives three. Its parent is the producer's span,
// read from the record's headers with the propagator (W3C trace context by
// default: the traceparent header that franz-go's plugin/kotel, and most
// Kafka clients' OpenTelemetry instrumentation, write), or, when the record's
// Context already holds a span (franz-go's plugin/kotel consumer hooks put a
// "receive" span there), that span. The handler runs with the attempt's span
// in its context, so its own spans are children of it.
//
// With SampledOnly, a record whose parent is not sampled gets no span of
// its own (the tracer is not called; the handler's context carries the
// parent's span context), which is what the SDK's default sampler,
// ParentBased, decides anyway, at a fraction of the cost: see SampledOnly
// for what it keeps and drops.
//
// Attributes follow the OpenTelemetry messaging conventions (the
// partition's are given at the span's start, so a sampler sees them; the
// record's own, offset, key, tombstone and attempt, only to a span that
// records, i.e. one that was sampled):
// messaging.system=kafka, messaging.operation.type=process,
// messaging.operation.name=process, messaging.destination.name (the topic),
// messaging.destination.partition.id, messaging.kafka.offset,
// messaging.kafka.message.key (when valid UTF-8), messaging.kafka.message.tombstone,
// messaging.consumer.group.name; and kpar's own: kpar.attempt (the record's
// handler calls so far, over retry-topic rounds), kpar.outcome (ok or
// error), kpar.route (done, retry, retry_topic, dead_letter, failed,
// released, abandoned; see parallel.Route). A failed attempt has status
// Error, its message, and error.type: permanent, panic, timeout or _OTHER.
//
// A NewBatch consumer also gets one span per batch call ("process" plus the
// topic when all records share one), a root span linked to each record's
// producer span, with messaging.batch.message_count; the handler runs with
// it. Each record's own attempt span covers its wait for the batch.
//
// Retry-topic and dead-letter copies carry the failed attempt's span
// context (the propagator's headers replace the producer's that the copy
// inherited), so the retry round's or the dead-letter reader's spans are
// children of the attempt that sent the record there, which is itself a
// child of the producer's: one trace from produce to dead letter.
//
// A NewTransform consumer also gets one span per transaction
// ("transaction", kind producer): a root linked to the attempt span of each
// input record whose outputs (or retry and dead-letter copies) it writes
// (the first 128 by the SDK's default link limit), with
// messaging.system, messaging.consumer.group.name, kpar.transactional_id,
// kpar.txn.partitions (input partitions whose offsets it commits),
// kpar.txn.records (input records whose outputs it writes; records done
// without outputs are committed by the offsets too), kpar.txn.outputs
// (records produced) and kpar.txn.outcome (committed, aborted, fenced,
// unconfirmed; status Error unless committed). The produce of its records
// runs under it: franz-go's plugin/kotel producer spans are its children.
// Commits that carry no outputs are plain offset commits: no span. A
// retry-topic or dead-letter copy's link is missing: the library keeps no
// attempt context for it (its headers carry the attempt's trace context).
//
// # Metrics
//
// Through the MeterProvider, by the messaging conventions where they name
// one: messaging.process.duration (histogram, seconds, per attempt) and
// messaging.client.consumed.messages (records handed to the handler, once
// per delivery; an asynchronous counter, counted in memory and read at
// collection), both with messaging.system, messaging.operation.name,
// messaging.destination.name, messaging.destination.partition.id,
// messaging.consumer.group.name, and error.type on failures (with
// SampledOnly, the histogram holds the sampled attempts only). The conventions
// name no lag metric; ObserveStats adds kpar's own gauges read from
// Consumer.Stats at collection: kpar.consumer.lag (high watermark minus the
// committed offset, per partition), kpar.consumer.head_wait (seconds the
// oldest record not yet done has waited, per partition), and their maxima
// over the consumer, kpar.consumer.lag.max and kpar.consumer.head_wait.max.
//
// # Cost
//
// For production: sample at the producer (e.g. 1% of traces), give the
// consumer's tracer provider a ParentBased sampler (the SDK's default) and
// use SampledOnly. An attempt SampledOnly gives no span then costs one
// allocation (64 bytes: the handler's context, which is also its span), a
// read of the record's headers and an atomic add; the library's own hook
// allocates nothing (BenchmarkAttemptUnsampled here,
// BenchmarkObservedAttempt in parallel). That is little against a handler
// doing I/O, and much against one doing nothing. In a consumer it costs
// more than in those benchmarks: CPU profiles of the no-op runs below put
// the traced consumer's extra time in reading each record's headers
// (memory the untraced consumer never reads), in that allocation and the
// garbage collection it adds, and in the spans of the sampled records
// (BenchmarkAttempt: 14 allocations, 3.6 KB, per span). Measured on a
// single-broker cluster with a traceparent on every record, the
// configurations run interleaved (bench_ab.sh in this directory,
// KPAR_BROKERS naming the broker), on a shared 2-core machine whose other
// load moved the untraced no-op rate between 0.43 and 2.1 million
// records/s from run to run, so the CPU time per record is the steadier
// figure:
//
//   - No-op handler, 8 workers, 2,000,000 records, two runs of five
//     repeats: the untraced consumer took 475-625 ns of CPU per record, the
//     1% sampled one with SampledOnly 769-946 ns (off's CPU over it: median
//     0.60, range 0.54-0.78; its rate: median 0.67 of the untraced,
//     0.47-2.06, one repeat of ten at 0.90 or more); ParentBased(NeverSample)
//     with SampledOnly: CPU median 0.61 (0.58-0.76). With 600,000 records,
//     five repeats, the 1% sampled one without SampledOnly had a CPU ratio
//     of median 0.25 (0.21-0.27), and every span recorded 0.08 (0.07-0.11).
//   - A handler sleeping 5 ms, 64 workers, 20,000 records, seven repeats: the
//     1% sampled one with SampledOnly ran at a median 1.03 of the untraced
//     rate (0.97-1.11), every span recorded at 0.97 (0.93-1.03); the
//     untraced consumer ran at 9,778-11,148 of the 12,800 records/s its
//     workers allow.
//
// The commands:
//
//	./bench_ab.sh 5 Noop/on=broker 2000000 off 1%+sampledonly never+sampledonly
//	./bench_ab.sh 5 Noop/on=broker 600000 off 1% 1%+sampledonly never+sampledonly all
//	./bench_ab.sh 7 Sleep5ms/on=broker/workers=64 20000 off 1%+sampledonly all
package kotel
