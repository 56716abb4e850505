package settings

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/lab/workload"
)

// The reset experiment's cases and policies.
const (
	CaseNewGroup  = "new-group"        // no commit at all
	CaseRetention = "out-of-retention" // the commit is below the log start
)

var resetPolicies = []string{"earliest", "latest", "none"}

// resetOffset is kgo's spelling of auto.offset.reset (see kgo's
// ConsumeResetOffset doc: AtCommitted is "none", it opts into NoResetOffset,
// so a partition without a commit and an out-of-range commit are both fatal).
func resetOffset(policy string) kgo.Offset {
	switch policy {
	case "earliest":
		return kgo.NewOffset().AtStart()
	case "latest":
		return kgo.NewOffset().AtEnd()
	}
	return kgo.NewOffset().AtCommitted()
}

func runReset(ctx context.Context, cfg Config) ([]ResetCell, error) {
	var out []ResetCell
	for _, cs := range []string{CaseNewGroup, CaseRetention} {
		for _, pol := range resetPolicies {
			cfg.cellStart(Reset, cs+"/"+pol)
			start := time.Now()
			c, err := resetCell(ctx, cfg, cs, pol)
			if err != nil {
				return nil, fmt.Errorf("%s/%s: %w", cs, pol, err)
			}
			c.Seconds = time.Since(start).Seconds()
			c.Rerun = cfg.rerun(Reset)
			c.Exact = []string{"existing", "committed", "deleted_unread", "unread", "seen_old", "skipped", "error"}
			c.Why = "new_seen counts records written every 100 ms per partition from the consumer's start until it had seen one on every partition: how many depends on how fast it joined and fetched."
			out = append(out, c)
			cfg.cellDone(c.Line())
		}
	}
	return out, nil
}

// resetCell: a topic with cfg.Records seeded records; for the retention case
// a commit at a seeded offset per partition and DeleteRecords above it; then
// a consumer of a group with the policy, while one new record per partition
// is written every 100 ms. A partition's records arrive in offset order, so
// once the consumer saw a new record on every partition it has seen every
// existing record it ever will.
func resetCell(ctx context.Context, cfg Config, cs, policy string) (ResetCell, error) {
	c := ResetCell{Case: cs, Policy: policy, Existing: cfg.Records}
	k, err := newKit(cfg.Brokers, cfg.clientOpts...)
	if err != nil {
		return c, err
	}
	defer k.close()
	topic := name(cfg.Seed, "reset", cs, policy)
	if _, err := k.input(ctx, topic, cfg.Partitions, cfg.Seed+streamRecords, cfg.Records); err != nil {
		return c, err
	}
	group := k.group(topic)
	if cs == CaseRetention {
		ends, err := k.ends(ctx, topic)
		if err != nil {
			return c, err
		}
		commit, del := kadm.Offsets{}, kadm.Offsets{}
		for p, end := range ends {
			at, below := retentionPoints(cfg.Seed, p, end)
			commit.AddOffset(topic, p, at, -1)
			del.AddOffset(topic, p, below, -1)
			c.Committed += int(at)
			c.DeletedUnread += int(below - at)
		}
		if r, err := k.adm.CommitOffsets(ctx, group, commit); err == nil && r.Error() != nil {
			return c, fmt.Errorf("commit for %s: %w", group, r.Error())
		} else if err != nil {
			return c, fmt.Errorf("commit for %s: %w", group, err)
		}
		if r, err := k.adm.DeleteRecords(ctx, del); err == nil && r.Error() != nil {
			return c, fmt.Errorf("delete records of %s: %w", topic, r.Error())
		} else if err != nil {
			return c, fmt.Errorf("delete records of %s: %w", topic, err)
		}
	}
	c.Unread = c.Existing - c.Committed

	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(cfg.Brokers...), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(resetOffset(policy)), kgo.DisableAutoCommit(), kgo.FetchMaxWait(200 * time.Millisecond)}, cfg.clientOpts...)...)
	if err != nil {
		return c, err
	}
	defer cl.Close()
	cctx, cancel := context.WithTimeout(ctx, cfg.CellTimeout)
	defer cancel()

	// New records, one per partition every 100 ms, numbered after the
	// existing ones; they stop with the cell.
	probes := sync.WaitGroup{}
	probes.Add(1)
	go func() {
		defer probes.Done()
		next := int64(cfg.Records)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			batch := make([]*kgo.Record, cfg.Partitions)
			for p := range batch {
				batch[p] = &kgo.Record{Topic: topic, Partition: int32(p),
					Value: workload.EncodeRecord(workload.Record{Seq: next, Key: "new", KeySeq: next - int64(cfg.Records)})}
				next++
			}
			pcl := k.manual()
			if pcl == nil || pcl.ProduceSync(cctx, batch...).FirstErr() != nil {
				return
			}
			select {
			case <-cctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	defer func() { cancel(); probes.Wait() }()

	seen := map[int64]bool{}
	newOn := map[int32]bool{}
	for len(newOn) < cfg.Partitions {
		fs := cl.PollFetches(cctx)
		if cctx.Err() != nil {
			if ctx.Err() != nil {
				return c, ctx.Err()
			}
			c.Failure = fmt.Sprintf("not done after %s: saw new records on %d of %d partitions", cfg.CellTimeout, len(newOn), cfg.Partitions)
			break
		}
		for _, fe := range fs.Errors() {
			if errors.Is(fe.Err, context.Canceled) || errors.Is(fe.Err, context.DeadlineExceeded) {
				continue
			}
			if c.Error == "" {
				c.Error = fe.Err.Error()
			}
		}
		fs.EachRecord(func(r *kgo.Record) {
			seq := seqOf(r)
			switch {
			case seq < 0:
			case seq >= int64(cfg.Records):
				c.NewSeen++
				newOn[r.Partition] = true
			case !seen[seq]:
				seen[seq] = true
				c.SeenOld++
			}
		})
		// "none" never fetches a partition that failed: its error is the end.
		if policy == "none" && c.Error != "" {
			break
		}
	}
	c.Skipped = c.Unread - c.SeenOld
	return c, nil
}

// manual is a producer that writes to the partition a record names, made
// once per kit.
func (k *cellKit) manual() *kgo.Client {
	k.manualOnce.Do(func() {
		k.manualCl, _ = kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(k.brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner())}, k.opts...)...)
	})
	return k.manualCl
}

// retentionPoints are partition p's committed offset (10-30% into its end)
// and the new log start (30-70% of the way from there to the end): seeded,
// the commit always below the log start when the partition has records.
func retentionPoints(seed int64, p int32, end int64) (commit, logStart int64) {
	if end == 0 {
		return 0, 0
	}
	commit = int64(float64(end) * (0.1 + 0.2*workload.Float(seed, streamCommit, uint64(p))))
	logStart = commit + 1 + int64(float64(end-commit-1)*(0.3+0.4*workload.Float(seed, streamDelete, uint64(p))))
	return commit, logStart
}
