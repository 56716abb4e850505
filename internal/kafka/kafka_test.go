package kafka_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/kafka"
	"github.com/kpar/kpar/internal/testkit"
)

func tctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// produce writes n records to each partition of topic.
func produce(t *testing.T, seeds []string, topic string, partitions, n int) {
	t.Helper()
	cl := testkit.Client(t, seeds, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var recs []*kgo.Record
	for p := range partitions {
		for range n {
			recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(p), Value: []byte("v")})
		}
	}
	if err := cl.ProduceSync(tctx(t), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// Create waits until every partition answers, so the first produce and
// end-offset request after it succeed; a topic that exists is refused
// unless Existing is given, and then its own partition count comes back.
func TestCreateWaitsForLeadersAndTellsExistingTopicsApart(t *testing.T) {
	seeds := testkit.Kfake(t)
	adm := testkit.Admin(t, seeds)
	ctx := tctx(t)
	counts, err := kafka.Create(ctx, adm, []kafka.Topic{{Name: "a", Partitions: 3}, {Name: "b", Partitions: 2}})
	if err != nil || counts["a"] != 3 || counts["b"] != 2 {
		t.Fatalf("create: %v %v", counts, err)
	}
	ends, err := kafka.Ends(ctx, adm, "a", "b")
	if err != nil || len(ends["a"]) != 3 || len(ends["b"]) != 2 || ends.Sum() != 0 {
		t.Fatalf("end offsets of new topics: %v %v", ends, err)
	}
	_, err = kafka.Create(ctx, adm, []kafka.Topic{{Name: "a", Partitions: 5}})
	if !errors.Is(err, kerr.TopicAlreadyExists) || !strings.Contains(err.Error(), "create topic a") {
		t.Fatalf("creating an existing topic: %v, want TopicAlreadyExists naming it", err)
	}
	counts, err = kafka.Create(ctx, adm, []kafka.Topic{{Name: "a", Partitions: 5}}, kafka.Existing())
	if err != nil || counts["a"] != 3 {
		t.Fatalf("existing topic: %v %v, want its 3 partitions", counts, err)
	}
	if err := kafka.Delete(ctx, adm, "a", "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := kafka.Ends(ctx, adm, "a"); err == nil || !strings.Contains(err.Error(), "end offsets of a") {
		t.Fatalf("end offsets of a deleted topic: %v, want an error naming it", err)
	}
}

// An unreachable broker fails the wait within its bound, naming the topic.
func TestReadyGivesUpAfterItsWaitNamingTheTopic(t *testing.T) {
	adm := testkit.Admin(t, []string{"127.0.0.1:1"})
	_, err := kafka.Ready(tctx(t), adm, []string{"nowhere"}, kafka.Wait(500*time.Millisecond))
	if err == nil || !strings.Contains(err.Error(), "every partition of nowhere") {
		t.Fatalf("got %v, want the wait's failure naming the topic", err)
	}
}

func TestEndOffsetsPerPartitionSummedAndSettled(t *testing.T) {
	seeds := testkit.Kfake(t)
	adm := testkit.Admin(t, seeds)
	topic := testkit.Topic(t, seeds, 3)
	produce(t, seeds, topic, 3, 4)
	one, err := kafka.EndsOf(tctx(t), adm, topic)
	if err != nil || len(one) != 3 || one[0] != 4 || one[2] != 4 {
		t.Fatalf("ends of %s: %v %v, want 4 on each of 3", topic, one, err)
	}
	settled, err := kafka.Settle(tctx(t), adm, []string{topic}, 300*time.Millisecond, 10*time.Second)
	if err != nil || settled.Sum() != 12 {
		t.Fatalf("settled: %v %v, want 12", settled, err)
	}
	stable, err := kafka.Stable(tctx(t), adm, topic)
	if err != nil || stable.Sum() != 12 {
		t.Fatalf("last stable offsets without transactions: %v %v, want the high watermarks", stable, err)
	}
}

// Ends that keep moving are returned with kafka.ErrUnsettled once the limit
// passed.
func TestSettleGivesUpOnEndsThatKeepMoving(t *testing.T) {
	seeds := testkit.Kfake(t)
	adm := testkit.Admin(t, seeds)
	topic := testkit.Topic(t, seeds, 1)
	ctx, cancel := context.WithCancel(tctx(t))
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		cl := testkit.Client(t, seeds, kgo.DefaultProduceTopic(topic))
		for ctx.Err() == nil {
			_ = cl.ProduceSync(ctx, &kgo.Record{Value: []byte("v")}).FirstErr()
			time.Sleep(20 * time.Millisecond)
		}
	}()
	ends, err := kafka.Settle(ctx, adm, []string{topic}, time.Second, 1500*time.Millisecond)
	cancel()
	<-done
	if !errors.Is(err, kafka.ErrUnsettled) || ends.Sum() == 0 {
		t.Fatalf("got %v %v, want the last ends with kafka.ErrUnsettled", ends, err)
	}
}

// Partition 0: 5 plain records, an aborted transaction of 5 and its marker,
// then a transaction left open. kafka.ToStable stops before the open one without
// waiting; every record handed over is committed.
func TestReadToTheLastStableOffsetSkipsAbortedAndStopsBeforeOpenTransactions(t *testing.T) {
	testkit.EachCluster(t, func(t *testing.T, seeds []string) {
		topic := testkit.Topic(t, seeds, 1)
		ctx := tctx(t)
		produce(t, seeds, topic, 1, 5)
		txn := testkit.Client(t, seeds, kgo.TransactionalID(testkit.TopicName(t)+"-txn"), kgo.DefaultProduceTopic(topic))
		for _, abort := range []bool{true, false} {
			if err := txn.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			for range 5 {
				if err := txn.ProduceSync(ctx, &kgo.Record{Value: []byte("txn")}).FirstErr(); err != nil {
					t.Fatal(err)
				}
			}
			if abort {
				if err := txn.EndTransaction(ctx, kgo.TryAbort); err != nil {
					t.Fatal(err)
				}
			}
		}
		stable, err := kafka.Stable(ctx, testkit.Admin(t, seeds), topic)
		if err != nil || stable[topic][0] != 11 {
			t.Fatalf("last stable offset %v (%v), want 11: 5 records, 5 aborted, their marker", stable, err)
		}
		var got []*kgo.Record
		start := time.Now()
		reached, err := kafka.Reader{Seeds: seeds, Stall: 20 * time.Second}.Read(ctx, topic, kafka.ToStable, nil, func(r *kgo.Record) { got = append(got, r) })
		if err != nil {
			t.Fatal(err)
		}
		if time.Since(start) >= 20*time.Second {
			t.Fatal("the read waited out its stall")
		}
		for _, r := range got {
			if string(r.Value) != "v" {
				t.Fatalf("read to the last stable offset handed over %q at %d", r.Value, r.Offset)
			}
		}
		if len(got) != 5 || reached[0] != 11 {
			t.Fatalf("%d records, reached %v: want the 5 plain ones and offset 11", len(got), reached)
		}
		all, err := kafka.Reader{Seeds: seeds}.All(ctx, topic)
		if err != nil || len(all) != 15 {
			t.Fatalf("read_uncommitted: %d records (%v), want 15", len(all), err)
		}
		_ = txn.EndTransaction(ctx, kgo.TryAbort)
	})
}

// On the real broker with every node's replica: Create waits for a full
// ISR, and the settled ends count what was written.
func TestCreateWithReplicasAndSettleOnTheBroker(t *testing.T) {
	seeds := testkit.Brokers(t)
	adm := testkit.Admin(t, seeds)
	ctx := tctx(t)
	md, err := adm.BrokerMetadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rf := min(3, len(md.Brokers))
	topic := testkit.TopicName(t)
	t.Cleanup(func() { _ = kafka.Delete(context.Background(), adm, topic) })
	if _, err := kafka.Create(ctx, adm, []kafka.Topic{{Name: topic, Partitions: 4, RF: rf}}, kafka.FullISR(), kafka.PreferredLeaders()); err != nil {
		t.Fatal(err)
	}
	produce(t, seeds, topic, 4, 25)
	ends, err := kafka.Settle(ctx, adm, []string{topic}, 700*time.Millisecond, 30*time.Second)
	if err != nil || ends.Sum() != 100 {
		t.Fatalf("settled ends %v (%v), want 100", ends, err)
	}
	n := 0
	reached, err := kafka.Reader{Seeds: seeds}.Read(ctx, topic, kafka.ToEnd, nil, func(*kgo.Record) { n++ })
	if err != nil || n != 100 || reached[3] != 25 {
		t.Fatalf("read %d records, reached %v (%v), want 100 and 25 on partition 3", n, reached, err)
	}
}
