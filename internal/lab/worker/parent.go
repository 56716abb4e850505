package worker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/kpar/kpar/internal/sharegroup"
	groupcfg "github.com/kpar/kpar/parallel/sharegroup"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// What the labs' parent processes ask of a group their workers form.

// Acknowledged is how many records of topic (ends: each partition's end) the
// group is done with, and whether that is all of them: its committed
// offsets, or for a share group the records the broker reports in a
// terminal state.
func Acknowledged(ctx context.Context, cl *kgo.Client, share bool, group, topic string, ends map[int32]int64) (n int64, all bool, err error) {
	var acked func(part int32, end int64) (int64, bool)
	if share {
		st, err := sharegroup.Offsets(ctx, cl, group, topic)
		if err != nil {
			return 0, false, err
		}
		acked = func(part int32, end int64) (int64, bool) {
			sp, ok := st[part]
			return sharegroup.Acknowledged(sp, ok, end)
		}
	} else {
		offs, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
		if err != nil {
			return 0, false, fmt.Errorf("committed offsets of %s: %w", group, err)
		}
		acked = func(part int32, end int64) (int64, bool) {
			at := int64(0)
			if c, ok := offs.Lookup(topic, part); ok && c.Err == nil {
				at = c.At
			}
			return max(at, 0), at >= end
		}
	}
	all = true
	for part, end := range ends {
		k, done := acked(part, end)
		n, all = n+k, all && done
	}
	return n, all, nil
}

// ShareLockDuration is the acquisition lock the labs give their share
// groups: the broker's minimum (group.share.min.record.lock.duration.ms,
// 15 s by default; the group default is 30 s), so that a record held by a
// dead member comes back as soon as the broker allows.
const ShareLockDuration = 15 * time.Second

// ShareSessionTimeout is the session the labs give their share groups, so
// that a killed member's partitions move in 15 s rather than the group
// default's 45 s: three of the broker's 5 s heartbeats. A broker kpar
// starts allows it (group.share.min.session.timeout.ms); one whose minimum
// is higher keeps its own, and the labs report what the group describes.
const ShareSessionTimeout = 15 * time.Second

// SetUpShareGroup makes a share group read from the start with
// ShareLockDuration and ShareSessionTimeout, before any member starts, and
// returns the group's configs as the broker then describes them. A broker
// that refuses the session or the lock duration (a higher minimum) keeps
// its own.
func SetUpShareGroup(ctx context.Context, cl *kgo.Client, group string) (map[string]string, error) {
	ms := func(d time.Duration) string { return strconv.Itoa(int(d.Milliseconds())) }
	// Each refused (InvalidConfig) set tries the next, with one value less.
	wants := []map[string]string{
		{groupcfg.AutoOffsetReset: "earliest", groupcfg.RecordLockDuration: ms(ShareLockDuration), groupcfg.SessionTimeout: ms(ShareSessionTimeout)},
		{groupcfg.AutoOffsetReset: "earliest", groupcfg.RecordLockDuration: ms(ShareLockDuration)},
		{groupcfg.AutoOffsetReset: "earliest"},
	}
	var err error
	for _, want := range wants {
		if err = setShareGroup(ctx, cl, group, want); !errors.Is(err, kerr.InvalidConfig) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	return groupcfg.Configs(ctx, cl, group)
}

// setShareGroup is groupcfg.Set retried: the coordinator of a new group
// may not be ready yet; only a refused value, or one accepted and never
// shown, is a verdict.
func setShareGroup(ctx context.Context, cl *kgo.Client, group string, want map[string]string) error {
	var err error
	for try := 0; try < 20; try++ {
		if err = groupcfg.Set(ctx, cl, group, want); err == nil || errors.Is(err, kerr.InvalidConfig) ||
			errors.Is(err, groupcfg.ErrNotApplied) || ctx.Err() != nil {
			return err
		}
		time.Sleep(250 * time.Millisecond)
	}
	return err
}
