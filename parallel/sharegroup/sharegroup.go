// Package sharegroup sets and reads the configs of a share group (KIP-932,
// Kafka 4.2+), which kadm has no helper for. A share group is configured on
// the broker, per group (resource type GROUP, as `kafka-configs.sh
// --entity-type groups --entity-name <group> --alter --add-config ...`
// does), not by its members' client options:
//
//   - a new share group reads only records produced after its first fetch
//     (share.auto.offset.reset defaults to latest): FromEarliest makes it
//     read the topics from their start;
//   - DeliveryCountLimit bounds the deliveries of one record before the
//     broker gives up on it (archives it, or writes it to the group's
//     dead-letter topic), RecordLockDuration how long a member may hold a
//     record before it is delivered again;
//   - DeadLetterTopic names the broker's dead-letter topic for the group
//     (KIP-1191, Kafka 4.4+); parallel.BrokerDeadLetter sets it, with
//     DeadLetterCopyRecord, and checks the topic accepts those records.
//
// Set the configs before the group's first member starts. A group config
// reaches the brokers through the metadata log, so Set returns only once a
// describe shows every value: a member started after it runs with them.
package sharegroup

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Group config names, as Kafka spells them.
const (
	// AutoOffsetReset is where a share-partition the group has no state
	// for starts: "latest" (the default) or "earliest" (Kafka 4.2+).
	AutoOffsetReset = "share.auto.offset.reset"
	// DeliveryCountLimit is how many times a record is delivered at most
	// (the broker's bounds apply: 2 to 10 by default).
	DeliveryCountLimit = "share.delivery.count.limit"
	// RecordLockDuration is how long, in ms, a member holds a record it
	// acquired before the broker may deliver it again.
	RecordLockDuration = "share.record.lock.duration.ms"
	// SessionTimeout is how long, in ms, a member that stops heartbeating
	// keeps its share-partitions (45 s by default; the broker's
	// group.share.min.session.timeout.ms and max bound it).
	SessionTimeout = "share.session.timeout.ms"
	// DeadLetterTopic names the topic the broker writes the group's
	// rejected and exhausted records to (KIP-1191, Kafka 4.4+). The topic
	// must exist with errors.deadletterqueue.group.enable=true, else the
	// broker archives those records and writes none.
	DeadLetterTopic = "errors.deadletterqueue.topic.name"
	// DeadLetterCopyRecord, "true", makes those dead-letter records carry
	// the record's key and value (without it they carry only headers).
	DeadLetterCopyRecord = "errors.deadletterqueue.copy.record.enable"
)

// appliedWithin bounds Set's wait for its values to show.
const appliedWithin = 15 * time.Second

// ErrNotApplied marks a Set whose values the broker accepted but did not
// show within appliedWithin: setting them again would not help.
var ErrNotApplied = errors.New("not applied")

// Set sets the group's configs with one IncrementalAlterConfigs (the group
// need not exist yet) and returns once a describe shows every value. A
// group config reaches the brokers through the metadata log: under load a
// member started right after the set could still run with the old value
// (read from the start or not, the old delivery limit, no dead-letter copy).
// A value the broker refuses fails with the broker's error (a kerr error:
// kerr.InvalidConfig for a value outside the broker's bounds); one accepted
// but not shown within 15 s fails with ErrNotApplied. Errors name the group.
func Set(ctx context.Context, cl *kgo.Client, group string, kv map[string]string) error {
	if err := set(ctx, cl, group, kv); err != nil {
		return err
	}
	deadline := time.Now().Add(appliedWithin)
	for {
		cs, err := Configs(ctx, cl, group)
		if err != nil {
			return err
		}
		var missing string
		for k, v := range kv {
			if cs[k] != v {
				missing = fmt.Sprintf("%s=%s (describe shows %q)", k, v, cs[k])
				break
			}
		}
		if missing == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("share group %s: set configs: %s %w after %s", group, missing, ErrNotApplied, appliedWithin)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("share group %s: set configs: %s not applied: %w", group, missing, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func set(ctx context.Context, cl *kgo.Client, group string, kv map[string]string) error {
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	res := kmsg.NewIncrementalAlterConfigsRequestResource()
	res.ResourceType = kmsg.ConfigResourceTypeGroupConfig
	res.ResourceName = group
	for k, v := range kv {
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name, c.Value, c.Op = k, kmsg.StringPtr(v), kmsg.IncrementalAlterConfigOpSet
		res.Configs = append(res.Configs, c)
	}
	req.Resources = append(req.Resources, res)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("share group %s: set configs: %w", group, err)
	}
	for _, r := range resp.Resources {
		if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
			msg := ""
			if r.ErrorMessage != nil {
				msg = ": " + *r.ErrorMessage
			}
			return fmt.Errorf("share group %s: set configs: %w%s", group, err, msg)
		}
	}
	return nil
}

// FromEarliest makes the share group read topics from their start: Set of
// AutoOffsetReset to "earliest". Without it a new group reads only the
// records produced after its first fetch.
func FromEarliest(ctx context.Context, cl *kgo.Client, group string) error {
	return Set(ctx, cl, group, map[string]string{AutoOffsetReset: "earliest"})
}

// Configs returns the group's configs as the broker describes them
// (defaults included); a config without a value is absent.
func Configs(ctx context.Context, cl *kgo.Client, group string) (map[string]string, error) {
	req := kmsg.NewPtrDescribeConfigsRequest()
	res := kmsg.NewDescribeConfigsRequestResource()
	res.ResourceType = kmsg.ConfigResourceTypeGroupConfig
	res.ResourceName = group
	req.Resources = append(req.Resources, res)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("share group %s: describe configs: %w", group, err)
	}
	out := map[string]string{}
	for _, r := range resp.Resources {
		if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
			return nil, fmt.Errorf("share group %s: describe configs: %w", group, err)
		}
		for _, c := range r.Configs {
			if c.Value != nil {
				out[c.Name] = *c.Value
			}
		}
	}
	return out, nil
}

// Int returns the group's config name as a positive integer, or def when
// the broker does not say (an old broker, kfake's defaults) or on error.
func Int(ctx context.Context, cl *kgo.Client, group, name string, def int) (int, error) {
	cs, err := Configs(ctx, cl, group)
	if err != nil {
		return def, err
	}
	n, perr := strconv.Atoi(cs[name])
	if perr != nil || n <= 0 {
		return def, nil
	}
	return n, nil
}
