package parallel

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/kpar/kpar/parallel/sharegroup"
)

// The broker's dead-letter queue for share groups (KIP-1191, Kafka 4.4):
// the record is rejected (AckReject) and the broker writes it to the
// group's DLQ topic (the group configs sharegroup.DeadLetterTopic and
// sharegroup.DeadLetterCopyRecord). Topic and broker configs it needs, as
// named by Kafka.
const (
	dlqTopicEnabled = "errors.deadletterqueue.group.enable"      // topic: accepts share-group DLQ records
	dlqPrefix       = "errors.deadletterqueue.topic.name.prefix" // broker: every DLQ topic's name starts with it ("dlq.")
)

// ErrBrokerDeadLetter: BrokerDeadLetter's topic cannot take the broker's
// dead-letter records (missing, not enabled for them, or a broker without
// KIP-1191). Run stops with it before consuming anything.
var ErrBrokerDeadLetter = errors.New("parallel: broker dead-letter queue not usable")

// BrokerDeadLetter hands the records a share group gives up on to the
// broker's own dead-letter queue (KIP-1191, Kafka 4.4+) instead of a
// dead-letter topic the library writes: a Permanent failure, or a failure on
// the group's last allowed delivery, is acknowledged with a reject, and the
// broker writes the record to topic. Only with ShareGroup, and not with
// DeadLetterTopic (ErrInvalidOption otherwise).
//
// At Run the library sets the group's configs
// errors.deadletterqueue.topic.name=topic and
// errors.deadletterqueue.copy.record.enable=true (so the payload is kept),
// and checks that topic exists with the topic config
// errors.deadletterqueue.group.enable=true, which only its owner should set,
// and that its name starts with the broker's
// errors.deadletterqueue.topic.name.prefix ("dlq." by default); otherwise
// the broker would archive rejected records and write nothing, so Run stops
// first with an error wrapping ErrBrokerDeadLetter. The broker does not
// create the topic (errors.deadletterqueue.auto.create.topics.enable is
// false by default).
//
// What each choice keeps (see the package doc, Share groups):
// DeadLetterTopic writes the key, the value, the record's own headers and
// the library's provenance headers (origin, error text, attempts, failure
// times, HeaderDeliveryCount), from the consumer's process: a consumer that
// dies between the write and the acknowledgement has the record delivered
// again and possibly dead-lettered twice. BrokerDeadLetter's records carry
// the key, the value and the broker's __dlq.errors.{topic, partition,
// offset, group, delivery.count, message} headers, where message is the
// broker's reason ("Offset rejected by client." or "Offset delivery count
// exceeded the threshold."), not the handler's error; the record's own
// headers (trace context included) are not copied and the timestamp is the
// write time. The broker writes it after the reject is acknowledged, so a
// consumer crash cannot lose or double it, and records whose deliveries run
// out while no consumer holds them (a member dying on the last delivery)
// land there too, which a library-written topic never sees.
func BrokerDeadLetter(topic string) Opt {
	return opt(func(c *cfg) { c.brokerDLQ, c.given = topic, c.given|givenBrokerDLQ })
}

// validateBrokerDLQ refuses BrokerDeadLetter where it cannot apply.
func (c *cfg) validateBrokerDLQ() error {
	if c.given&givenBrokerDLQ == 0 {
		return nil
	}
	switch {
	case c.shareGroup == "":
		return invalid("BrokerDeadLetter(%q) without ShareGroup: the broker's dead-letter queue is a share group's", c.brokerDLQ)
	case c.brokerDLQ == "":
		return invalid("BrokerDeadLetter(\"\"): name the dead-letter topic")
	case c.deadLetter != "":
		return invalid("BrokerDeadLetter(%q) with DeadLetterTopic(%q): choose one", c.brokerDLQ, c.deadLetter)
	}
	return nil
}

// setupBrokerDLQ checks the DLQ topic and sets the group's DLQ configs.
func (c *Consumer) setupBrokerDLQ(ctx context.Context) error {
	topic, group := c.cfg.brokerDLQ, c.cfg.shareGroup
	adm := kadm.NewClient(c.cl)
	// The broker accepts any name in the group config but writes only to a
	// topic with its prefix: it logs a ConfigException and archives the
	// record otherwise.
	if prefix, err := brokerDLQPrefix(ctx, adm); err != nil {
		c.cfg.logf("parallel: BrokerDeadLetter(%q): broker config %s unknown, not checked: %v", topic, dlqPrefix, err)
	} else if !strings.HasPrefix(topic, prefix) {
		return fmt.Errorf("%w: topic %q does not start with the broker's %s %q, so the broker would archive rejected records and write none",
			ErrBrokerDeadLetter, topic, dlqPrefix, prefix)
	}
	rcs, err := adm.DescribeTopicConfigs(ctx, topic)
	if err == nil && len(rcs) == 1 {
		err = rcs[0].Err
	}
	if err != nil {
		if c.failRefused(group, topic, err) {
			return c.fatal()
		}
		return fmt.Errorf("%w: topic %q: %w", ErrBrokerDeadLetter, topic, err)
	}
	enabled := ""
	for _, cf := range rcs[0].Configs {
		if cf.Key == dlqTopicEnabled && cf.Value != nil {
			enabled = *cf.Value
		}
	}
	if enabled != "true" {
		if enabled == "" {
			enabled = "absent (a broker before Kafka 4.4?)"
		}
		return fmt.Errorf("%w: topic %q has %s=%s; the broker would archive rejected records and write none "+
			"(its owner sets it to true, e.g. kafka-configs --alter --entity-type topics --entity-name %s --add-config %s=true)",
			ErrBrokerDeadLetter, topic, dlqTopicEnabled, enabled, topic, dlqTopicEnabled)
	}
	if err := sharegroup.Set(ctx, c.cl, group, map[string]string{sharegroup.DeadLetterTopic: topic, sharegroup.DeadLetterCopyRecord: "true"}); err != nil {
		if c.failRefused(group, "", err) {
			return c.fatal()
		}
		return fmt.Errorf("%w: %w", ErrBrokerDeadLetter, err)
	}
	return nil
}

// brokerDLQPrefix reads the DLQ topic name prefix of one broker.
func brokerDLQPrefix(ctx context.Context, adm *kadm.Client) (string, error) {
	md, err := adm.BrokerMetadata(ctx)
	if err != nil {
		return "", err
	}
	if len(md.Brokers) == 0 {
		return "", errors.New("no broker in the metadata")
	}
	rcs, err := adm.DescribeBrokerConfigs(ctx, md.Brokers[0].NodeID)
	if err == nil && len(rcs) == 1 {
		err = rcs[0].Err
	}
	if err != nil {
		return "", err
	}
	for _, cf := range rcs[0].Configs {
		if cf.Key == dlqPrefix && cf.Value != nil {
			return *cf.Value, nil
		}
	}
	return "", nil // no such config: a broker without KIP-1191, refused by the topic check
}
