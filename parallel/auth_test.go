package parallel_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/kpar/kpar/parallel"
	"github.com/kpar/kpar/parallel/internal/testkit"
)

// aclCluster starts kfake with SASL and ACLs on: admin is a super user,
// alice has the given rights only. It returns the seeds and the SASL
// options of each user.
func aclCluster(t *testing.T, topics []string, alice ...kfake.ACL) (seeds []string, admin, user kgo.Opt) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topics...), kfake.EnableSASL(), kfake.EnableACLs(),
		kfake.Superuser("SCRAM-SHA-256", "admin", "admin"), kfake.User("SCRAM-SHA-256", "alice", "secret", alice...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	login := func(u, p string) kgo.Opt {
		return kgo.SASL(scram.Auth{User: u, Pass: p}.AsSha256Mechanism())
	}
	return c.ListenAddrs(), login("admin", "admin"), login("alice", "secret")
}

func allow(res kmsg.ACLResourceType, name string, ops ...kmsg.ACLOperation) []kfake.ACL {
	var out []kfake.ACL
	for _, op := range ops {
		out = append(out, kfake.ACL{Resource: res, Name: name, Pattern: kmsg.ACLResourcePatternTypeLiteral, Operation: op, Allow: true})
	}
	return out
}

// A consumer whose group is not authorized stops with ErrNotAuthorized
// naming the group, instead of waiting forever, and commits nothing.
func TestRunFailsNamingTheGroupItMayNotJoin(t *testing.T) {
	seeds, admin, alice := aclCluster(t, []string{"orders"},
		allow(kmsg.ACLResourceTypeTopic, "orders", kmsg.ACLOperationRead, kmsg.ACLOperationDescribe)...)
	testkit.Produce(t, seeds, "orders", 10, 10, admin)
	handled := 0
	c, err := parallel.New(func(context.Context, *kgo.Record) error { handled++; return nil },
		parallel.ClientOpts(kgo.SeedBrokers(seeds...), alice, kgo.ConsumerGroup("billing"), kgo.ConsumeTopics("orders")))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = c.Run(ctx)
	if !errors.Is(err, parallel.ErrNotAuthorized) || !strings.Contains(err.Error(), `group "billing"`) {
		t.Fatalf("Run = %v, want ErrNotAuthorized naming group \"billing\"", err)
	}
	if handled != 0 {
		t.Errorf("%d records handled without the group", handled)
	}
}

// A record whose dead-letter write is refused stops Run with
// ErrNotAuthorized naming the topic, and stays uncommitted: the group's
// offset does not pass it.
func TestRunFailsNamingTheDeadLetterTopicItMayNotWriteAndKeepsTheRecord(t *testing.T) {
	acls := append(allow(kmsg.ACLResourceTypeTopic, "orders", kmsg.ACLOperationRead, kmsg.ACLOperationDescribe),
		allow(kmsg.ACLResourceTypeGroup, "billing", kmsg.ACLOperationRead, kmsg.ACLOperationDescribe)...)
	seeds, admin, alice := aclCluster(t, []string{"orders", "orders-dlt"}, acls...)
	testkit.Produce(t, seeds, "orders", 10, 10, admin)
	c, err := parallel.New(func(_ context.Context, r *kgo.Record) error {
		if string(r.Value) == "4" {
			return parallel.Permanent(errors.New("malformed"))
		}
		return nil
	},
		parallel.ClientOpts(kgo.SeedBrokers(seeds...), alice, kgo.ConsumerGroup("billing"), kgo.ConsumeTopics("orders")),
		parallel.DeadLetterTopic("orders-dlt"), parallel.Ordering(parallel.OrderPartition))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = c.Run(ctx)
	if !errors.Is(err, parallel.ErrNotAuthorized) || !strings.Contains(err.Error(), "topic orders-dlt") {
		t.Fatalf("Run = %v, want ErrNotAuthorized naming topic orders-dlt", err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), admin)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	offs, err := kadm.NewClient(cl).FetchOffsets(ctx, "billing")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := offs.Lookup("orders", 0); ok && o.At > 4 {
		t.Errorf("committed offset %d passes the record whose dead-letter write was refused (offset 4)", o.At)
	}
}
