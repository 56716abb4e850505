// Package kafka holds the admin and read steps every experiment shares:
// creating topics and waiting until they can be used, deleting them, end
// offsets (the high watermark and the last stable offset, per partition and
// summed, and the settled end of a replicated topic) and reading a topic to
// its end.
//
// A created topic is ready once every partition has a leader that answers
// an end-offset request: the create answers before the topic reaches the
// brokers' metadata, and with replicas the leaders are elected later still.
// The high watermark of a replicated partition moves only once its
// followers fetched, so after a write its end is read when it has held
// still (Settle), not at once.
package kafka

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Topic is a topic to create.
type Topic struct {
	Name       string
	Partitions int
	// RF is the replication factor; 0 means 1, -1 the broker's default.
	RF      int
	Configs map[string]*string
}

// CreateOpt changes what Create accepts and waits for.
type CreateOpt func(*createCfg)

type createCfg struct {
	existing, fullISR, preferred bool
	wait                         time.Duration
}

func newCreateCfg(opts []CreateOpt) createCfg {
	cfg := createCfg{wait: 30 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

// Existing accepts a topic that exists already, as it is (its partition
// count, which Create returns, may differ from the one asked for).
func Existing() CreateOpt { return func(c *createCfg) { c.existing = true } }

// FullISR waits also until each partition's in-sync replicas are all its
// replicas.
func FullISR() CreateOpt { return func(c *createCfg) { c.fullISR = true } }

// PreferredLeaders waits also until each partition is led by its first
// replica.
func PreferredLeaders() CreateOpt { return func(c *createCfg) { c.preferred = true } }

// Wait bounds the wait for the topics to be ready (30 s by default); d <= 0
// waits as long as the context allows.
func Wait(d time.Duration) CreateOpt { return func(c *createCfg) { c.wait = d } }

// Create creates topics and waits until they are ready (Ready). It returns
// every topic's partition count. Errors name the topic.
func Create(ctx context.Context, adm *kadm.Client, topics []Topic, opts ...CreateOpt) (map[string]int, error) {
	cfg := newCreateCfg(opts)
	names := make([]string, len(topics))
	for i, t := range topics {
		names[i] = t.Name
		rf := int16(t.RF)
		if rf == 0 {
			rf = 1
		}
		resp, err := adm.CreateTopic(ctx, int32(t.Partitions), rf, t.Configs, t.Name)
		if err == nil {
			err = resp.Err
		}
		if err != nil && !(cfg.existing && errors.Is(err, kerr.TopicAlreadyExists)) {
			return nil, fmt.Errorf("create topic %s: %w", t.Name, err)
		}
	}
	return Ready(ctx, adm, names, opts...)
}

// Ready waits until every partition of topics has a leader that answers
// an end-offset request (and, with FullISR or PreferredLeaders, their
// replicas are so), for at most the Wait option (30 s by default), and
// returns every topic's partition count.
func Ready(ctx context.Context, adm *kadm.Client, topics []string, opts ...CreateOpt) (map[string]int, error) {
	cfg := newCreateCfg(opts)
	what := "every partition of " + strings.Join(topics, ", ") + " to have a leader"
	if cfg.preferred {
		what = "every partition of " + strings.Join(topics, ", ") + " led by its preferred replica"
	}
	if cfg.fullISR {
		what += " with a full ISR"
	}
	counts := map[string]int{}
	err := WaitFor(ctx, adm, topics, cfg.wait, what, func(td kadm.TopicDetail) bool {
		for _, p := range td.Partitions {
			if p.Err != nil || p.Leader < 0 || cfg.preferred && (len(p.Replicas) == 0 || p.Leader != p.Replicas[0]) ||
				cfg.fullISR && len(p.ISR) != len(p.Replicas) {
				return false
			}
		}
		lctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		lo, err := adm.ListEndOffsets(lctx, td.Topic)
		counts[td.Topic] = len(td.Partitions)
		return len(td.Partitions) > 0 && err == nil && lo.Error() == nil
	})
	if err != nil {
		return nil, err
	}
	return counts, nil
}

// WaitFor polls the metadata of topics every 100 ms until ok holds for each
// of them, for at most limit (limit <= 0: as long as ctx allows). Each
// metadata request gets a deadline of its own: a frozen node must not hold
// the wait. The error says what it waited for (what) and what it saw last.
func WaitFor(ctx context.Context, adm *kadm.Client, topics []string, limit time.Duration, what string, ok func(kadm.TopicDetail) bool) error {
	var deadline time.Time
	if limit > 0 {
		deadline = time.Now().Add(limit)
	}
	for {
		last := check(ctx, adm, topics, ok)
		if last == "" {
			return nil
		}
		if !deadline.IsZero() && time.Now().After(deadline) {
			return fmt.Errorf("waiting %s for %s: %s", limit, what, last)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %s: %w", what, last, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// check returns "" when ok holds for every topic, else what it saw.
func check(ctx context.Context, adm *kadm.Client, topics []string, ok func(kadm.TopicDetail) bool) string {
	mctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	md, err := adm.Metadata(mctx, topics...)
	if err != nil {
		return err.Error()
	}
	for _, t := range topics {
		td, found := md.Topics[t]
		switch {
		case !found:
			return "topic " + t + " not in metadata"
		case td.Err != nil:
			return fmt.Sprintf("topic %s: %v", t, td.Err)
		case !ok(td):
			return describe(td)
		}
	}
	return ""
}

func describe(td kadm.TopicDetail) string {
	var parts []string
	for _, p := range td.Partitions.Sorted() {
		parts = append(parts, fmt.Sprintf("p%d leader %d isr %v", p.Partition, p.Leader, p.ISR))
	}
	return td.Topic + ": " + strings.Join(parts, "; ")
}

// Delete deletes topics, best effort, within 15 s of its own even when ctx
// is already cancelled (it cleans up after a run that ended).
func Delete(ctx context.Context, adm *kadm.Client, topics ...string) error {
	if len(topics) == 0 {
		return nil
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	resp, err := adm.DeleteTopics(dctx, topics...)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		return fmt.Errorf("delete topics %s: %w", strings.Join(topics, ", "), err)
	}
	return nil
}
