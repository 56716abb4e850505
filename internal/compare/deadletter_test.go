package compare

import (
	"context"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/bench/consume"
	"github.com/kpar/kpar/internal/kafka"
	"github.com/kpar/kpar/internal/render"
	"github.com/kpar/kpar/internal/testkit"
	"github.com/kpar/kpar/parallel/sharegroup"
)

// On the real broker (Kafka 4.4+), kpar's share mode dead-letters each
// record that fails for good exactly once either way, to its own topic
// (with its provenance headers) or through the broker's queue (with the
// broker's __dlq.errors headers), key and value kept, nothing else
// dead-lettered; and the document says so.
func TestShareDeadLettersReachTheTopicOnceEitherWay(t *testing.T) {
	seeds := testkit.Brokers(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	const n = 2000
	topic := testkit.TopicName(t)
	adm := testkit.Admin(t, seeds)
	if _, err := consume.Prepare(ctx, seeds, topic, 3, n, 50, 100); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kafka.Delete(context.Background(), adm, topic) })
	ends, err := kafka.EndsOf(ctx, adm, topic)
	if err != nil {
		t.Fatal(err)
	}
	var failing int64
	for _, end := range ends {
		failing += (end + FailEvery - 1) / FailEvery // offsets 0, 100, 200, ... below end
	}
	c := DefaultConfig()
	c.Brokers, c.ValueSize = seeds, 100
	r := &runner{c: c}
	d := &DeadLetters{Topic: topic, FailEvery: FailEvery}
	for _, broker := range []bool{false, true} {
		run := DLQRun{Way: WayKpar, Tag: "dead letters", Topic: testkit.TopicName(t) + "-dlt"}
		var cfg map[string]*string
		if broker {
			on := "true"
			run.Way, run.Topic, cfg = WayBroker, brokerDLQPrefix+testkit.TopicName(t), map[string]*string{"errors.deadletterqueue.group.enable": &on}
		}
		if _, err := kafka.Create(ctx, adm, []kafka.Topic{{Name: run.Topic, Partitions: 1, RF: -1, Configs: cfg}}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = kafka.Delete(context.Background(), adm, run.Topic) })
		group := testkit.TopicName(t) + "-g"
		if err := sharegroup.FromEarliest(ctx, testkit.Client(t, seeds), group); err != nil {
			t.Fatal(err)
		}
		s, err := runKpar(ctx, KparSpec{Source: Source{Brokers: seeds, Topic: topic, Records: n}, Concurrency: 16, ShareGroup: group, Members: 2,
			FailEvery: FailEvery, DeadLetter: run.Topic, BrokerDeadLetter: broker})
		if err != nil {
			t.Fatalf("%s: %v", run.Way, err)
		}
		run.Side, run.Failed = s, s.Failed
		adm := testkit.Admin(t, seeds)
		if err := r.inspectDLQ(ctx, adm, &run); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %+v", run.Way, run)
		if run.Failed < failing || run.DeadLetters != failing || run.Distinct != failing || run.Wrong != 0 || run.NoOrigin != 0 ||
			run.KeyKept != failing || run.ValueKept != failing {
			t.Errorf("%s: %d failed calls, %d dead letters (%d distinct, %d wrong, %d without origin, %d with a key); want each of the %d failing records once",
				run.Way, run.Failed, run.DeadLetters, run.Distinct, run.Wrong, run.NoOrigin, run.KeyKept, failing)
		}
		d.Runs = append(d.Runs, run)
		d.Ways = append(d.Ways, run.Side)
	}
	md := render.Markdown(Doc(Result{DeadLetters: d}))
	testkit.Contains(t, "compare.md", md, "Dead letters by kpar's topic: each record that failed for good dead-lettered once, nothing else, in 1 of 1 run",
		"Dead letters by broker's queue: each record that failed for good dead-lettered once, nothing else, in 1 of 1 run",
		"kpar-origin-offset", "__dlq.errors.offset")
}
