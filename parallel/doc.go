// Package parallel processes the records of a Kafka consumer group with far
// more concurrency than partitions, on top of franz-go, committing only what
// is truly done.
//
//	c, err := parallel.New(handle,
//		parallel.ClientOpts(kgo.SeedBrokers("127.0.0.1:9092"),
//			kgo.ConsumerGroup("billing"), kgo.ConsumeTopics("orders")),
//		parallel.Ordering(parallel.OrderKey),
//		parallel.MaxConcurrency(500),
//	)
//	...
//	err = c.Run(ctx) // until ctx is cancelled or c.Close()
//
// # Guarantees
//
// Delivery is at-least-once. A record is committed only after its handler
// returned nil, or after it was durably written (acknowledged by the broker)
// to the retry or dead-letter topic. No record is ever committed unprocessed,
// including across crashes (kill -9), rebalances and restarts.
//
// Per partition the library commits the lowest offset not yet done, and
// encodes which higher offsets are done into the commit metadata (run-length
// or bitset, whichever is smaller, within MaxMetadataBytes). A consumer that
// is assigned the partition later, after a restart or a rebalance, reads the
// map back and skips those records. When admitting one more record could
// make the map too large, the partition stops taking records (it is paused)
// until its lowest pending record completes; the map is never dropped.
//
// A record can be processed more than once:
//   - after a crash, or a failed commit, for records done since the last
//     successful commit: back to back (the default) about one commit round
//     trip of completions, measured at a third of the records in flight at
//     a kill -9 (see CommitInterval); with an interval, up to that interval
//     of work plus the round trip;
//   - after a rebalance, for records of a revoked partition whose handler
//     was still running when RevokeTimeout expired, and for every record of
//     a lost partition done since the last commit (lost means the group
//     already considers this member gone, so committing is not allowed);
//   - after Close, for records still running when DrainTimeout expired;
//   - when a handler attempt fails and is retried (each attempt is a call);
//   - if a commit's metadata would have to be cut because MaxMetadataBytes
//     was lowered since it was written (cut completions are replayed).
//
// # Exactly once
//
// NewTransform runs a TransformHandler, which returns the records to
// produce for its input instead of producing them. The library produces the
// outputs of exactly the records a commit marks done inside the Kafka
// transaction that commits their offsets and completion maps (KIP-447
// fencing by the group generation), so a read_committed reader sees each
// input's outputs once across crashes, kills, rebalances and restarts.
// Handlers are never blocked by a transaction: outputs wait in memory until
// theirs. Retry and dead-letter records are outputs too. Handlers may still
// run more than once per record, so their other side effects stay
// at-least-once. ClientOpts must set a kgo.TransactionalID per consumer,
// stable across its restarts. See NewTransform for the transaction interval,
// fencing, rebalances and outputs too large.
//
// # Batches
//
// NewBatch runs a BatchHandler on up to BatchSize records per call (a bulk
// write), gathered from records ready at the same moment and waiting at most
// the BatchSize wait. Every guarantee above holds per record. Under OrderKey
// a batch holds at most one record per key and a key's next record joins a
// later batch only once the previous one returned (OrderPartition: per
// partition). A failed batch is split: its records are retried alone, so a
// bad record fails alone and goes to the dead-letter topic while the others
// succeed.
//
// # Ordering
//
// OrderKey (the default) runs one record per key per partition at a time, in
// offset order; records with a nil key are unordered. OrderPartition runs one
// record per partition at a time. OrderNone runs records as workers free up.
// In-place retries keep the order: later records of the same key (or
// partition) wait while a record is retried. Once a record leaves for the
// retry topic, key order is no longer kept for it: later records of its key
// are processed meanwhile and the retried record runs when due. Records read
// from the retry topic are unordered.
//
// # Failures
//
// A handler error or panic is a failed attempt. Attempts are retried in place
// with exponential backoff and full jitter up to the Retries limit; then the
// record goes to the RetryTopic (if set) for up to its rounds, then to the
// DeadLetterTopic (if set) with headers naming origin topic, partition,
// offset, the error, the attempt count and the first and last failure times.
// With no dead-letter topic a record that fails everything stops the
// consumer: Run returns an error wrapping ErrRecordFailed, and that record is
// not committed. A handler error wrapped with Permanent skips the remaining
// in-place attempts and the retry topic. RetryBackoff replaces the backoff
// with the caller's own delay policy.
//
// # Refusals
//
// A broker that refuses the group, a topic, or a write to the retry or
// dead-letter topic by ACL stops Run with an error wrapping
// ErrNotAuthorized that names the group or topic; kgo alone would retry the
// group forever, so Run would never say why nothing is consumed. The record
// whose write was refused is not committed, so nothing is lost.
//
// # Metrics
//
// Stats gives counters and per-partition state at any time. The kprom
// subpackage exports them as Prometheus metrics; the core does not depend
// on Prometheus. Per partition, Stats has two lags (against the committable
// and the committed offset) and the head-of-line wait.
//
// # Tracing
//
// Observe sets an Observer called around every handler attempt; the handler
// runs with the context it returns. An Observer that is also a TxnObserver
// sees each NewTransform transaction too: its partitions, offsets, inputs,
// output count and outcome (committed, aborted, fenced, unconfirmed). The
// kotel subpackage (its own module) is an OpenTelemetry one: a span per
// attempt continuing the producer's trace from the record's headers, and a
// span per transaction linked to the attempts whose outputs it commits. The
// core does not depend on OpenTelemetry.
//
// # Backpressure and memory
//
// At most MaxBuffered records are admitted in total (queued for a worker or
// their key, or running). A poll takes all that kgo has fetched; what does
// not fit waits in per-partition backlogs and is admitted round-robin across
// partitions as room frees, each partition first up to its fair share of
// MaxBuffered, so a small MaxBuffered still spreads over every partition's
// keys. A new poll happens only once the backlog is admitted (or waits on
// completion-map room only), so beyond MaxBuffered at most one poll's records
// wait, plus one fetch response buffered in kgo per broker. Fetch responses
// are bounded by kgo.FetchMaxBytes, which the library adapts unless
// ClientOpts sets it: it measures each fetched record batch (bytes on the
// wire, bytes decoded, plus a kgo.Record each) and sizes the fetch so that
// the responses of all brokers decode to about MaxBuffered x 2.5 KiB (25 MiB
// at the default), within 1 MiB to 50 MiB per response. Well-compressed
// records thus get a small fetch and large or incompressible ones a large
// one, and the size follows the records as they change. So memory is
// bounded by MaxBuffered records, the records of one poll and one fetch
// response per broker, the last two by that decoded-bytes budget. A
// partition holding MaxBufferedPerPartition records (admitted plus backlog)
// is paused alone (PauseFetchPartitions) and resumed when it has drained to
// half; it also caps the partition's fair share at admission, but it is not
// a hard cap (see MaxBufferedPerPartition).
//
// # Dispatch
//
// Records of one key (OrderKey) or one partition (OrderPartition) run back
// to back on one worker, which takes all the key's waiting records at once;
// unordered records are claimed one by one by as many workers as are free.
// A worker reports its completions to the offset tracker every millisecond
// between records; while one of its handlers runs long, a sweeper reports
// for it within about 20 ms. So a record is committable soon after it
// finishes, even when the next record of its key is slow or stuck.
//
// # Rebalances
//
// The library installs the group callbacks. On revoke it stops dispatching
// the partition, waits up to RevokeTimeout for its running handlers, commits
// it synchronously and only then lets the rebalance proceed. On loss it drops
// the partition's state without committing. Each assignment of a partition
// has its own state; a handler finishing for an earlier assignment changes
// nothing that is committed. Works with the cooperative-sticky assignor and,
// with kgo.ServerSideBalancer, with the KIP-848 consumer protocol.
//
// # Share groups
//
// With ShareGroup the same Handler runs over a share group (KIP-932, Kafka
// 4.2+) instead of a consumer group: any number of consumers per partition,
// each record acquired by one member and acknowledged on its own, so no
// offset map, commit or rebalance is involved. Guarantees in share mode:
//   - at-least-once: a record is accepted only after its handler returned
//     nil or it was written to the dead-letter topic; a member that dies, or
//     a handler that outlives its acquisition lock, has its records
//     delivered again, to any member (the library renews locks of running
//     handlers near their deadline, but renewals are best-effort);
//   - no order at all: records of one key run concurrently and complete in
//     any order, on any member; Ordering other than OrderNone is refused;
//   - failures: a delivery that fails its in-place attempts is released and
//     the broker redelivers it; a Permanent failure or a failure on the
//     group's last allowed delivery goes to the DeadLetterTopic, then is
//     accepted, where a bare share group would archive it.
//
// Two places for the records a share group gives up on. DeadLetterTopic:
// the library writes the key, the value, the record's own headers and its
// provenance headers (origin, the handler's error text, attempts, failure
// times, HeaderDeliveryCount) from the consumer's process, then accepts the
// record; a consumer killed between the write and the acknowledgement has
// the record delivered again, so it may be dead-lettered twice.
// BrokerDeadLetter (Kafka 4.4, KIP-1191): the library rejects the record
// and the broker writes it to its dead-letter queue with the origin in
// __dlq.errors.* headers (topic, partition, offset, group, delivery count,
// and the broker's reason instead of the handler's error), the key and the
// value (the library sets the group to copy them), but not the record's own
// headers, and with the write time as its timestamp; nothing is written from
// the consumer's process, so no crash can double it, and a record whose
// deliveries run out without any member holding it lands there too.
//
// See ShareGroup for the details and ShareMembers for concurrency. A new
// member gets its partitions with a heartbeat after it joins (the group's
// share.heartbeat.interval.ms, 5 s by default), so the first records can
// take that long.
package parallel
