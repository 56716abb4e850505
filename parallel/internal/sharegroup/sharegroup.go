// Package sharegroup holds the admin steps share groups (KIP-932) need and
// kadm does not offer: reading and setting a group's configs (resource type
// GROUP), e.g. share.auto.offset.reset, without which a new share group
// reads only records produced after it joined. The toolkit's
// internal/sharegroup has the same Set and Configs: the library imports
// nothing of the toolkit's module, and the toolkit cannot import this
// internal package, nor should the library export admin steps that are not
// its product.
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

// Group config names (Kafka 4.2+).
const (
	AutoOffsetReset    = "share.auto.offset.reset"
	DeliveryCountLimit = "share.delivery.count.limit"
	RecordLockDuration = "share.record.lock.duration.ms"
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

// Int returns the integer config name of the group, or def when the broker
// does not say (an old broker, kfake's defaults).
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
