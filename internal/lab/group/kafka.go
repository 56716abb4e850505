package group

import (
	"context"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/kafka"
)

// createTopics creates the cell's input topics and lists their partitions.
// Their leaders answer before it returns.
func createTopics(ctx context.Context, adm *kadm.Client, specs []TopicSpec) (topics, partitions []string, err error) {
	var ts []kafka.Topic
	for _, t := range specs {
		ts = append(ts, kafka.Topic{Name: t.Name, Partitions: t.Partitions})
		topics = append(topics, t.Name)
		for n := range t.Partitions {
			partitions = append(partitions, partKey(t.Name, int32(n)))
		}
	}
	if _, err := kafka.Create(ctx, adm, ts); err != nil {
		return nil, nil, err
	}
	return topics, partitions, nil
}

// deleteCell removes the cell's topics and group, even once ctx is done.
func deleteCell(ctx context.Context, adm *kadm.Client, topics []string, group string) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	_ = kafka.Delete(ctx, adm, topics...)
	_, _ = adm.DeleteGroup(dctx, group)
}

// groupType is how the broker lists the group: "consumer" (KIP-848) or
// "classic". kgo falls back to classic on a broker without KIP-848, so a
// cell says which one it got.
func groupType(ctx context.Context, adm *kadm.Client, group string) string {
	for _, t := range []string{"consumer", "classic"} {
		l, err := adm.ListGroupsByType(ctx, []string{t})
		if err != nil {
			return ""
		}
		if _, ok := l[group]; ok {
			return t
		}
	}
	return ""
}

// consumerSessionTimeout reads the broker's group.consumer.session.timeout.ms
// (KIP-848's session timeout), -1 when it cannot.
func consumerSessionTimeout(ctx context.Context, brokers []string, clientOpts ...kgo.Opt) float64 {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, clientOpts...)...)
	if err != nil {
		return -1
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	meta, err := adm.BrokerMetadata(ctx)
	if err != nil || len(meta.Brokers) == 0 {
		return -1
	}
	rc, err := adm.DescribeBrokerConfigs(ctx, meta.Brokers[0].NodeID)
	if err != nil {
		return -1
	}
	for _, r := range rc {
		for _, c := range r.Configs {
			if c.Key == "group.consumer.session.timeout.ms" && c.Value != nil {
				if v, err := strconv.ParseFloat(*c.Value, 64); err == nil {
					return v
				}
			}
		}
	}
	return -1
}
