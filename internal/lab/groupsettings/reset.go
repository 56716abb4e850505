package groupsettings

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/kafka"
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

var resetRepeat = Repeat{
	Exact: []string{"existing", "committed", "deleted_unread", "unread", "seen_old", "skipped", "error"},
	Why:   "new_seen counts records written every 100 ms per partition from the consumer's start until it had seen one on every partition: how many depends on how fast it joined and fetched.",
}

// resetCell (name: case/policy): a topic with cfg.Records seeded records; for the retention case
// a commit at a seeded offset per partition and DeleteRecords above it; then
// a consumer of a group with the policy, while one new record per partition
// is written every 100 ms. A partition's records arrive in offset order, so
// once the consumer saw a new record on every partition it has seen every
// existing record it ever will.
func resetCell(ctx context.Context, k *cellKit, name string) (ResetCell, error) {
	cfg := k.cfg
	cs, policy, _ := strings.Cut(name, "/")
	c := ResetCell{Case: cs, Policy: policy, Existing: cfg.Records}
	topic, err := k.input(ctx, cfg.Partitions, "reset", cs, policy)
	if err != nil {
		return c, err
	}
	if cs == CaseRetention {
		if err := commitBelowLogStart(ctx, k, topic, &c); err != nil {
			return c, err
		}
	}
	c.Unread = c.Existing - c.Committed
	cl, err := k.consumer(topic, topic, kgo.ConsumeResetOffset(resetOffset(policy)))
	if err != nil {
		return c, err
	}
	defer cl.Close()
	cctx, cancel := context.WithTimeout(ctx, cfg.CellTimeout)
	defer cancel()
	probes := writeNew(cctx, k, topic)
	defer func() { cancel(); probes.Wait() }()
	if err := readReset(ctx, cctx, cl, cfg, &c); err != nil {
		return c, err
	}
	c.Skipped = c.Unread - c.SeenOld
	return c, nil
}

// commitBelowLogStart commits the group named after topic at a seeded
// offset per partition and deletes the records up to a seeded point above
// it, counting both into c.
func commitBelowLogStart(ctx context.Context, k *cellKit, topic string, c *ResetCell) error {
	ends, err := kafka.EndsOf(ctx, k.adm, topic)
	if err != nil {
		return err
	}
	commit, del := kadm.Offsets{}, kadm.Offsets{}
	for p, end := range ends {
		at, below := retentionPoints(k.cfg.Seed, p, end)
		commit.AddOffset(topic, p, at, -1)
		del.AddOffset(topic, p, below, -1)
		c.Committed += int(at)
		c.DeletedUnread += int(below - at)
	}
	if err := k.adm.CommitAllOffsets(ctx, topic, commit); err != nil {
		return fmt.Errorf("commit for %s: %w", topic, err)
	}
	r, err := k.adm.DeleteRecords(ctx, del)
	if err == nil {
		err = r.Error()
	}
	if err != nil {
		return fmt.Errorf("delete records of %s: %w", topic, err)
	}
	return nil
}

// writeNew writes new records, one per partition every 100 ms, numbered
// after the existing ones, until ctx ends; wait on the group for it to stop.
func writeNew(ctx context.Context, k *cellKit, topic string) *sync.WaitGroup {
	cfg := k.cfg
	probes := &sync.WaitGroup{}
	probes.Go(func() {
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
			if k.manual.ProduceSync(ctx, batch...).FirstErr() != nil {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
	return probes
}

// readReset polls cl until it saw a new record on every partition (or, for
// "none", its first error; or cctx's end, a failure), counting into c the
// existing records it received, the new ones and the first error. An error
// is only ctx's.
func readReset(ctx, cctx context.Context, cl *kgo.Client, cfg Config, c *ResetCell) error {
	seen := map[int64]bool{}
	newOn := map[int32]bool{}
	for len(newOn) < cfg.Partitions {
		fs := cl.PollFetches(cctx)
		if cctx.Err() != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			c.Failure = fmt.Sprintf("not done after %s: saw new records on %d of %d partitions", cfg.CellTimeout, len(newOn), cfg.Partitions)
			return nil
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
		if c.Policy == "none" && c.Error != "" {
			return nil
		}
	}
	return nil
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
