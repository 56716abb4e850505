package groupsettings

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/lab/labrun"
	"github.com/kpar/kpar/internal/lab/workload"
)

const (
	readCommitted   = "read_committed"
	readUncommitted = "read_uncommitted"
)

var levels = []string{readUncommitted, readCommitted}

func isolationOpt(level string) kgo.Opt {
	if level == readCommitted {
		return kgo.FetchIsolationLevel(kgo.ReadCommitted())
	}
	return kgo.FetchIsolationLevel(kgo.ReadUncommitted())
}

// endKey marks the last record of a partition: once a consumer saw it on
// every partition, it has seen everything before it (a partition is read in
// offset order).
const endKey = "end"

// warmKey marks the records that show a consumer reads a partition.
const warmKey = "warm"

// aborts is the seeded choice of which of n transactions abort.
func aborts(seed int64, n int, share float64) []bool {
	out := make([]bool, n)
	for i := range out {
		out[i] = workload.Float(seed, streamAbort, uint64(i)) < share
	}
	return out
}

func runIsolation(ctx context.Context, cfg Config) ([]IsolationResult, error) {
	return runCells(cfg, Isolation, Repeat{
		Exact: []string{"transactions", "aborted", "aborted_records", "committed_records", "levels"},
		Why:   "the lso part is timing: how late a record is delivered depends on fetch waits and the scheduler; only that read_committed holds records back while the transaction is open is the lesson.",
	}, func(string) (IsolationResult, error) {
		r := IsolationResult{Transactions: cfg.Transactions, RecordsPerTransaction: max(1, cfg.Records/cfg.Transactions)}
		if err := isolationAborts(ctx, cfg, &r); err != nil || r.Failure != "" {
			return r, err
		}
		return r, isolationLSO(ctx, cfg, &r)
	})
}

// isolationAborts: a transactional producer writes cfg.Transactions
// transactions of seeded records and aborts a seeded share; then an end
// marker per partition; a consumer per level counts what it received.
func isolationAborts(ctx context.Context, cfg Config, r *IsolationResult) error {
	k, err := newKit(cfg.Brokers, cfg.clientOpts...)
	if err != nil {
		return err
	}
	defer k.close()
	topic := name(cfg.Seed, "isolation")
	if err := k.topic(ctx, topic, cfg.Partitions); err != nil {
		return err
	}
	aborted, err := writeTransactions(ctx, cfg, topic, r)
	if err != nil {
		return err
	}
	if err := k.endMarkers(ctx, topic, cfg.Partitions); err != nil {
		return err
	}
	fails := countLevels(ctx, cfg, k, topic, aborted, r)
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := errors.Join(fails...); err != nil {
		r.Failure = "reading the transactional topic: " + err.Error()
	}
	return nil
}

// writeTransactions writes r's transactions of seeded records to topic,
// aborting the seeded share, and returns the aborted records' seqs.
func writeTransactions(ctx context.Context, cfg Config, topic string, r *IsolationResult) (map[int64]bool, error) {
	txn, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(cfg.Brokers...), kgo.TransactionalID(topic), kgo.DefaultProduceTopic(topic)}, cfg.clientOpts...)...)
	if err != nil {
		return nil, err
	}
	defer txn.Close()
	recs := workload.Generate(cfg.Seed+streamRecords, r.Transactions*r.RecordsPerTransaction, keys)
	aborted := map[int64]bool{}
	for t, abort := range aborts(cfg.Seed, r.Transactions, cfg.AbortShare) {
		if err := txn.BeginTransaction(); err != nil {
			return nil, fmt.Errorf("begin transaction %d: %w", t, err)
		}
		batch := recs[t*r.RecordsPerTransaction : (t+1)*r.RecordsPerTransaction]
		kr := make([]*kgo.Record, len(batch))
		for i, rec := range batch {
			kr[i] = &kgo.Record{Key: []byte(rec.Key), Value: workload.EncodeRecord(rec)}
			if abort {
				aborted[rec.Seq] = true
			}
		}
		// ProduceSync returns once the records are acknowledged, so the
		// abort below drops records that are on the broker.
		if err := txn.ProduceSync(ctx, kr...).FirstErr(); err != nil {
			return nil, fmt.Errorf("transaction %d: %w", t, err)
		}
		commit := kgo.TryCommit
		if abort {
			commit = kgo.TryAbort
			r.Aborted++
		}
		if err := txn.EndTransaction(ctx, commit); err != nil {
			return nil, fmt.Errorf("end transaction %d: %w", t, err)
		}
	}
	r.AbortedRecords = len(aborted)
	r.CommittedRecords = len(recs) - r.AbortedRecords
	return aborted, nil
}

// countLevels reads topic to its end markers with a consumer per isolation
// level at once, counting into r.Levels what each received; it returns each
// reader's error.
func countLevels(ctx context.Context, cfg Config, k *cellKit, topic string, aborted map[int64]bool, r *IsolationResult) []error {
	cctx, cancel := context.WithTimeout(ctx, cfg.CellTimeout)
	defer cancel()
	var wg sync.WaitGroup
	counts := make([]LevelCount, len(levels))
	fails := make([]error, len(levels))
	for i, lvl := range levels {
		group := k.group(topic + "-" + lvl)
		wg.Add(1)
		go func() {
			defer wg.Done()
			seen := map[int64]bool{}
			counts[i] = LevelCount{Level: lvl}
			fails[i] = readToEnd(cctx, cfg, topic, group, lvl, func(rec *kgo.Record, _ time.Time) {
				seq := seqOf(rec)
				if seq < 0 || seen[seq] {
					return
				}
				seen[seq] = true
				counts[i].Seen++
				if aborted[seq] {
					counts[i].AbortedSeen++
				} else {
					counts[i].CommittedSeen++
				}
			})
		}()
	}
	wg.Wait()
	r.Levels = counts
	return fails
}

// endMarkers writes one end marker to every partition of topic.
func (k *cellKit) endMarkers(ctx context.Context, topic string, partitions int) error {
	if err := k.manual.ProduceSync(ctx, markers(topic, partitions, endKey)...).FirstErr(); err != nil {
		return fmt.Errorf("end markers of %s: %w", topic, err)
	}
	return nil
}

// markers is one record with key on every partition of topic.
func markers(topic string, partitions int, key string) []*kgo.Record {
	batch := make([]*kgo.Record, partitions)
	for p := range batch {
		batch[p] = &kgo.Record{Topic: topic, Partition: int32(p), Key: []byte(key)}
	}
	return batch
}

// readToEnd consumes topic in group at level from the start until it saw the
// end marker on every partition, calling each for every other record with
// the time the poll returned it.
func readToEnd(ctx context.Context, cfg Config, topic, group, level string, each func(*kgo.Record, time.Time)) error {
	opts := []kgo.Opt{kgo.SeedBrokers(cfg.Brokers...), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(), isolationOpt(level),
		kgo.FetchMaxWait(100 * time.Millisecond)}
	cl, err := kgo.NewClient(append(opts, cfg.clientOpts...)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	ended := map[int32]bool{}
	for len(ended) < cfg.Partitions {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			var missing []string
			for p := range cfg.Partitions {
				if !ended[int32(p)] {
					missing = append(missing, fmt.Sprint(p))
				}
			}
			return fmt.Errorf("%s: read of %s: no end marker yet on partitions %s (seen on %d of %d): %w",
				level, topic, strings.Join(missing, ", "), len(ended), cfg.Partitions, err)
		}
		if errs := fs.Errors(); len(errs) > 0 {
			return fmt.Errorf("%s: poll: %w", level, errs[0].Err)
		}
		now := time.Now()
		fs.EachRecord(func(rec *kgo.Record) {
			if string(rec.Key) == endKey {
				ended[rec.Partition] = true
				return
			}
			each(rec, now)
		})
	}
	return nil
}

// isolationLSO: a consumer per level reads a fresh topic; once both read a
// warm-up record on every partition, a transactional producer writes one
// record per partition and holds the transaction open for cfg.Hold while a
// plain producer writes one record every 50 ms, round robin over the
// partitions; then it commits, the plain producer goes on for another second
// and writes the end markers. Each level's delay per plain record is poll
// time minus acknowledgement time.
func isolationLSO(ctx context.Context, cfg Config, r *IsolationResult) error {
	k, err := newKit(cfg.Brokers, cfg.clientOpts...)
	if err != nil {
		return err
	}
	defer k.close()
	topic := name(cfg.Seed, "lso")
	if err := k.topic(ctx, topic, cfg.Partitions); err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, cfg.CellTimeout)
	defer cancel()
	l := &lsoRun{cfg: cfg, k: k, topic: topic, acked: map[int64]time.Time{}, lag: make([]int, len(levels))}
	l.startReaders(cctx)
	failure := l.warmUp(cctx)
	if failure == "" {
		if failure, err = l.hold(cctx); err != nil {
			return err
		}
	}
	if failure == "" {
		l.wg.Wait()
		r.LSO = lsoSummary(l.acked, l.seenAt, l.lag, l.txnStart, l.txnEnd)
	}
	cancel()
	l.wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	if failure == "" {
		if err := errors.Join(l.fails...); err != nil {
			failure = err.Error()
		}
	}
	if failure != "" {
		r.Failure = "lso: " + failure
	}
	return nil
}

// lsoRun is the lso part in progress: a reader per level, when each first
// received each plain record, and the plain producer's acknowledgements.
type lsoRun struct {
	cfg   Config
	k     *cellKit
	topic string

	wg     sync.WaitGroup
	mu     sync.Mutex
	seenAt []map[int64]time.Time // per level
	warm   []map[int32]bool      // per level: partitions whose warm-up record it read
	fails  []error               // per level

	acked            map[int64]time.Time
	lag              []int // per level: most plain records acknowledged and not yet received
	txnStart, txnEnd time.Time
}

// startReaders starts a consumer per level, reading until the end markers.
func (l *lsoRun) startReaders(ctx context.Context) {
	l.seenAt, l.warm, l.fails = make([]map[int64]time.Time, len(levels)), make([]map[int32]bool, len(levels)), make([]error, len(levels))
	for i, lvl := range levels {
		l.seenAt[i], l.warm[i] = map[int64]time.Time{}, map[int32]bool{}
		group := l.k.group(l.topic + "-" + lvl)
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			l.fails[i] = readToEnd(ctx, l.cfg, l.topic, group, lvl, func(rec *kgo.Record, at time.Time) {
				l.mu.Lock()
				defer l.mu.Unlock()
				if string(rec.Key) == warmKey {
					l.warm[i][rec.Partition] = true
				} else if seq := seqOf(rec); seq >= 0 {
					if _, ok := l.seenAt[i][seq]; !ok {
						l.seenAt[i][seq] = at
					}
				}
			})
		}()
	}
}

// warmUp has both consumers read every partition before the transaction
// opens: a partition still being joined or listed would pass for a held one.
// It returns why it failed, or "".
func (l *lsoRun) warmUp(ctx context.Context) string {
	if err := l.k.manual.ProduceSync(ctx, markers(l.topic, l.cfg.Partitions, warmKey)...).FirstErr(); err != nil {
		return "warm-up records: " + err.Error()
	}
	if !labrun.Until(ctx, 100*time.Millisecond, func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return len(l.warm[0]) == l.cfg.Partitions && len(l.warm[1]) == l.cfg.Partitions
	}) {
		return fmt.Sprintf("the consumers had not read the warm-up record of every partition after %s", l.cfg.CellTimeout)
	}
	return ""
}

// hold opens the transaction, writes a plain record every 50 ms while it is
// held and for a second after its commit, then the end markers. The failure
// is the cell's (a write that did not land, time up), the error the lab's.
func (l *lsoRun) hold(ctx context.Context) (failure string, err error) {
	txn, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(l.cfg.Brokers...), kgo.TransactionalID(l.topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner())}, l.cfg.clientOpts...)...)
	if err != nil {
		return "", err
	}
	defer txn.Close()
	if err := txn.BeginTransaction(); err != nil {
		return "", fmt.Errorf("begin transaction: %w", err)
	}
	if err := txn.ProduceSync(ctx, markers(l.topic, l.cfg.Partitions, "open")...).FirstErr(); err != nil {
		return "", fmt.Errorf("open transaction: %w", err)
	}
	l.txnStart = time.Now()
	var seq int64
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for l.txnEnd.IsZero() || time.Since(l.txnEnd) < time.Second {
		if l.txnEnd.IsZero() && time.Since(l.txnStart) >= l.cfg.Hold {
			// The end is when the commit is asked for: the last stable
			// offset can move from then on, possibly before the
			// producer hears back.
			l.txnEnd = time.Now()
			if err := txn.EndTransaction(ctx, kgo.TryCommit); err != nil {
				return "", fmt.Errorf("commit the held transaction: %w", err)
			}
		}
		rec := &kgo.Record{Topic: l.topic, Partition: int32(seq % int64(l.cfg.Partitions)),
			Value: workload.EncodeRecord(workload.Record{Seq: seq, Key: "plain", KeySeq: seq})}
		if err := l.k.manual.ProduceSync(ctx, rec).FirstErr(); err != nil {
			return "plain producer: " + err.Error(), nil
		}
		l.acked[seq] = time.Now()
		seq++
		l.mu.Lock()
		for i := range levels {
			l.lag[i] = max(l.lag[i], len(l.acked)-len(l.seenAt[i]))
		}
		l.mu.Unlock()
		select {
		case <-ctx.Done():
			return "the transaction phase did not finish in time", nil
		case <-tick.C:
		}
	}
	if err := l.k.endMarkers(ctx, l.topic, l.cfg.Partitions); err != nil {
		return err.Error(), nil
	}
	return "", nil
}

// lsoSummary turns acknowledgement and delivery times into each level's
// delays; seenAt and lag are per level, in the order of levels.
func lsoSummary(acked map[int64]time.Time, seenAt []map[int64]time.Time, lag []int, txnStart, txnEnd time.Time) LSOResult {
	out := LSOResult{HoldSeconds: txnEnd.Sub(txnStart).Seconds()}
	seqs := make([]int64, 0, len(acked))
	for s, at := range acked {
		seqs = append(seqs, s)
		if at.Before(txnEnd) {
			out.Records++
		}
	}
	slices.Sort(seqs)
	for i, lvl := range levels {
		l := LSOLevel{Level: lvl, MaxLagRecords: lag[i]}
		var delays []float64
		for _, s := range seqs {
			at, ok := seenAt[i][s]
			if !ok {
				l.Missing++
				continue
			}
			d := max(0, at.Sub(acked[s]).Seconds())
			delays = append(delays, d)
			l.MaxDelaySeconds = max(l.MaxDelaySeconds, d)
			if acked[s].Before(txnEnd) && at.After(txnEnd) {
				l.Held++
			}
			out.Samples = append(out.Samples, LSOSample{Level: lvl, AckedSeconds: acked[s].Sub(txnStart).Seconds(), DelaySeconds: d})
		}
		if len(delays) > 0 {
			slices.Sort(delays)
			l.MedianDelaySeconds = delays[len(delays)/2]
		}
		out.Levels = append(out.Levels, l)
	}
	return out
}
