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

var (
	levels    = []string{readUncommitted, readCommitted}
	isolation = map[string]kgo.IsolationLevel{readCommitted: kgo.ReadCommitted(), readUncommitted: kgo.ReadUncommitted()}
)

// The markers: endKey marks the last record of a partition (once a
// consumer saw it on every partition, it has seen everything before it, a
// partition being read in offset order); warmKey the records that show a
// consumer reads a partition.
const (
	endKey  = "end"
	warmKey = "warm"
)

// aborts is the seeded choice of which of n transactions abort.
func aborts(seed int64, n int, share float64) []bool {
	out := make([]bool, n)
	for i := range out {
		out[i] = workload.Float(seed, streamAbort, uint64(i)) < share
	}
	return out
}

var isolationRepeat = Repeat{
	Exact: []string{"transactions", "aborted", "aborted_records", "committed_records", "levels"},
	Why:   "the lso part is timing: how late a record is delivered depends on fetch waits and the scheduler; only that read_committed holds records back while the transaction is open is the lesson.",
}

// isolationCell is the aborts part, then the lso part when it finished.
func isolationCell(ctx context.Context, k *cellKit, _ string) (IsolationResult, error) {
	r := IsolationResult{Transactions: k.cfg.Transactions, RecordsPerTransaction: max(1, k.cfg.Records/k.cfg.Transactions)}
	if err := isolationAborts(ctx, k, &r); err != nil || r.Failure != "" {
		return r, err
	}
	return r, isolationLSO(ctx, k, &r)
}

// isolationAborts: a transactional producer writes cfg.Transactions
// transactions of seeded records and aborts a seeded share; then an end
// marker per partition; a consumer per level counts what it received.
func isolationAborts(ctx context.Context, k *cellKit, r *IsolationResult) error {
	cfg := k.cfg
	topic, err := k.topic(ctx, cfg.Partitions, "isolation")
	if err != nil {
		return err
	}
	aborted, err := writeTransactions(ctx, k, topic, r)
	if err != nil {
		return err
	}
	if err := k.markers(ctx, nil, topic, endKey); err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, cfg.CellTimeout)
	defer cancel()
	r.Levels = make([]LevelCount, len(levels))
	seen := make([]map[int64]bool, len(levels))
	fails := k.readLevels(cctx, topic, func(i int, rec *kgo.Record, _ time.Time) {
		if seq := seqOf(rec); seq >= 0 && !seen[i][seq] {
			seen[i][seq] = true
			r.Levels[i].Seen++
			if aborted[seq] {
				r.Levels[i].AbortedSeen++
			} else {
				r.Levels[i].CommittedSeen++
			}
		}
	}, func(i int) { r.Levels[i].Level, seen[i] = levels[i], map[int64]bool{} })()
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
func writeTransactions(ctx context.Context, k *cellKit, topic string, r *IsolationResult) (map[int64]bool, error) {
	txn, err := k.client(kgo.TransactionalID(topic), kgo.DefaultProduceTopic(topic))
	if err != nil {
		return nil, err
	}
	defer txn.Close()
	recs := workload.Generate(k.cfg.Seed+streamRecords, r.Transactions*r.RecordsPerTransaction, keys)
	aborted := map[int64]bool{}
	for t, abort := range aborts(k.cfg.Seed, r.Transactions, k.cfg.AbortShare) {
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

// markers writes one record with key to every partition of topic, with cl
// (the manual producer when nil).
func (k *cellKit) markers(ctx context.Context, cl *kgo.Client, topic, key string) error {
	batch := make([]*kgo.Record, k.cfg.Partitions)
	for p := range batch {
		batch[p] = &kgo.Record{Topic: topic, Partition: int32(p), Key: []byte(key)}
	}
	if cl == nil {
		cl = k.manual
	}
	if err := cl.ProduceSync(ctx, batch...).FirstErr(); err != nil {
		return fmt.Errorf("%s markers of %s: %w", key, topic, err)
	}
	return nil
}

// readLevels starts a consumer per isolation level (level i after init(i)),
// each reading topic from the start until it saw the end marker on every
// partition and calling each for every other record with the time the poll
// returned it; the function returned waits for them and returns each one's
// error.
func (k *cellKit) readLevels(ctx context.Context, topic string, each func(i int, rec *kgo.Record, at time.Time), init func(i int)) func() []error {
	var wg sync.WaitGroup
	fails := make([]error, len(levels))
	for i, lvl := range levels {
		init(i)
		cl, err := k.consumer(topic+"-"+lvl, topic, kgo.FetchIsolationLevel(isolation[lvl]), kgo.FetchMaxWait(100*time.Millisecond))
		if err != nil {
			fails[i] = err
			continue
		}
		wg.Go(func() {
			defer cl.Close()
			fails[i] = readToEnd(ctx, cl, k.cfg.Partitions, func(rec *kgo.Record, at time.Time) { each(i, rec, at) })
			if fails[i] != nil {
				fails[i] = fmt.Errorf("%s: read of %s: %w", lvl, topic, fails[i])
			}
		})
	}
	return func() []error {
		wg.Wait()
		return fails
	}
}

// readToEnd polls cl until it saw the end marker on each of the
// partitions, calling each for every other record with the time the poll
// returned it.
func readToEnd(ctx context.Context, cl *kgo.Client, partitions int, each func(*kgo.Record, time.Time)) error {
	ended := map[int32]bool{}
	for len(ended) < partitions {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			var missing []string
			for p := range partitions {
				if !ended[int32(p)] {
					missing = append(missing, fmt.Sprint(p))
				}
			}
			return fmt.Errorf("no end marker yet on partitions %s (seen on %d of %d): %w", strings.Join(missing, ", "), len(ended), partitions, err)
		}
		if errs := fs.Errors(); len(errs) > 0 {
			return fmt.Errorf("poll: %w", errs[0].Err)
		}
		now := time.Now()
		fs.EachRecord(func(rec *kgo.Record) {
			if string(rec.Key) == endKey {
				ended[rec.Partition] = true
			} else {
				each(rec, now)
			}
		})
	}
	return nil
}

// isolationLSO: a consumer per level reads a fresh topic; once both read a
// warm-up record on every partition (a partition still being joined or
// listed would pass for a held one), a transactional producer writes one
// record per partition and holds the transaction open for cfg.Hold while a
// plain producer writes one record every 50 ms, round robin over the
// partitions; then it commits, the plain producer goes on for another second
// and writes the end markers. Each level's delay per plain record is poll
// time minus acknowledgement time.
func isolationLSO(ctx context.Context, k *cellKit, r *IsolationResult) error {
	cfg := k.cfg
	topic, err := k.topic(ctx, cfg.Partitions, "lso")
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, cfg.CellTimeout)
	defer cancel()
	l := &lsoRun{k: k, topic: topic, acked: map[int64]time.Time{}, lag: make([]int, len(levels)),
		seenAt: make([]map[int64]time.Time, len(levels)), warm: make([]map[int32]bool, len(levels))}
	wait := k.readLevels(cctx, topic, func(i int, rec *kgo.Record, at time.Time) {
		l.mu.Lock()
		defer l.mu.Unlock()
		if string(rec.Key) == warmKey {
			l.warm[i][rec.Partition] = true
		} else if seq := seqOf(rec); seq >= 0 {
			if _, ok := l.seenAt[i][seq]; !ok {
				l.seenAt[i][seq] = at
			}
		}
	}, func(i int) { l.seenAt[i], l.warm[i] = map[int64]time.Time{}, map[int32]bool{} })
	failure := ""
	if err := k.markers(cctx, nil, topic, warmKey); err != nil {
		failure = err.Error()
	} else if !labrun.Until(cctx, 100*time.Millisecond, func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return len(l.warm[0]) == cfg.Partitions && len(l.warm[1]) == cfg.Partitions
	}) {
		failure = fmt.Sprintf("the consumers had not read the warm-up record of every partition after %s", cfg.CellTimeout)
	} else if failure, err = l.hold(cctx); err != nil {
		return err
	}
	if failure == "" {
		fails := wait()
		r.LSO = lsoSummary(l.acked, l.seenAt, l.lag, l.txnStart, l.txnEnd)
		if err := errors.Join(fails...); err != nil {
			failure = err.Error()
		}
	}
	cancel()
	wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	if failure != "" {
		r.Failure = "lso: " + failure
	}
	return nil
}

// lsoRun is the lso part in progress: when each level's reader first
// received each plain record, and the plain producer's acknowledgements.
type lsoRun struct {
	k     *cellKit
	topic string

	mu     sync.Mutex
	seenAt []map[int64]time.Time // per level
	warm   []map[int32]bool      // per level: partitions whose warm-up record it read

	acked            map[int64]time.Time
	lag              []int // per level: most plain records acknowledged and not yet received
	txnStart, txnEnd time.Time
}

// hold opens the transaction, writes a plain record every 50 ms while it is
// held and for a second after its commit, then the end markers. The failure
// is the cell's (a write that did not land, time up), the error the lab's.
func (l *lsoRun) hold(ctx context.Context) (failure string, err error) {
	cfg := l.k.cfg
	txn, err := l.k.client(kgo.TransactionalID(l.topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return "", err
	}
	defer txn.Close()
	if err := txn.BeginTransaction(); err != nil {
		return "", fmt.Errorf("begin transaction: %w", err)
	}
	if err := l.k.markers(ctx, txn, l.topic, "open"); err != nil {
		return "", fmt.Errorf("open transaction: %w", err)
	}
	l.txnStart = time.Now()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for seq := int64(0); l.txnEnd.IsZero() || time.Since(l.txnEnd) < time.Second; seq++ {
		if l.txnEnd.IsZero() && time.Since(l.txnStart) >= cfg.Hold {
			// The end is when the commit is asked for: the last stable
			// offset can move from then on, possibly before the
			// producer hears back.
			l.txnEnd = time.Now()
			if err := txn.EndTransaction(ctx, kgo.TryCommit); err != nil {
				return "", fmt.Errorf("commit the held transaction: %w", err)
			}
		}
		rec := &kgo.Record{Topic: l.topic, Partition: int32(seq % int64(cfg.Partitions)),
			Value: workload.EncodeRecord(workload.Record{Seq: seq, Key: "plain", KeySeq: seq})}
		if err := l.k.manual.ProduceSync(ctx, rec).FirstErr(); err != nil {
			return "plain producer: " + err.Error(), nil
		}
		l.acked[seq] = time.Now()
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
	if err := l.k.markers(ctx, nil, l.topic, endKey); err != nil {
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
