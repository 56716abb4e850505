package sharegroup_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/parallel/internal/testkit"
	"github.com/kpar/kpar/parallel/sharegroup"
)

// What Kafka's own dead-letter queue for share groups (KIP-1191, Kafka 4.4)
// writes, checked on the real broker: a record rejected by the client and one
// whose deliveries ran out each land in the group's DLQ topic, which must
// itself allow it (topic config errors.deadletterqueue.group.enable=true,
// else the broker logs an error and archives the record, writing nothing);
// the DLQ record carries the origin in __dlq.errors.* headers, the record's
// key and value only with errors.deadletterqueue.copy.record.enable=true,
// and never the record's own headers.
func TestBrokerShareDLQCarriesOriginHeadersAndCopiesKeyValueOnlyWhenAsked(t *testing.T) {
	seeds := testkit.Brokers(t)
	for _, copyRecord := range []bool{false, true} {
		t.Run(map[bool]string{false: "copy-off", true: "copy-on"}[copyRecord], func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cl := testkit.Client(t, seeds)
			topic := testkit.Topic(t, seeds, 1)
			dlq := "dlq." + topic
			adm := kadm.NewClient(cl)
			resp, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"errors.deadletterqueue.group.enable": kadm.StringPtr("true")}, dlq)
			if err == nil {
				err = resp.Err
			}
			if err != nil {
				t.Fatalf("create %s: %v", dlq, err)
			}
			t.Cleanup(func() { adm.DeleteTopics(context.Background(), dlq) })
			for i := 0; i < 3; i++ {
				r := &kgo.Record{Topic: topic, Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte(fmt.Sprintf("v%d", i)),
					Headers: []kgo.RecordHeader{{Key: "traceparent", Value: []byte("00-abc-def-01")}}}
				if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
					t.Fatal(err)
				}
			}
			group := "dlq-" + topic
			kv := map[string]string{sharegroup.AutoOffsetReset: "earliest", sharegroup.DeadLetterTopic: dlq,
				sharegroup.DeliveryCountLimit: "2", sharegroup.DeadLetterCopyRecord: fmt.Sprint(copyRecord)}
			if err := sharegroup.Set(ctx, cl, group, kv); err != nil {
				t.Fatalf("set group configs: %v", err)
			}
			sc, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ShareGroup(group), kgo.ConsumeTopics(topic))
			if err != nil {
				t.Fatal(err)
			}
			defer sc.Close()
			// v0 rejected once; v1 released on each of its 2 allowed deliveries; v2 accepted.
			for seen := 0; seen < 4 && ctx.Err() == nil; {
				sc.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
					seen++
					switch string(r.Value) {
					case "v0":
						r.Ack(kgo.AckReject)
					case "v1":
						r.Ack(kgo.AckRelease)
					default:
						r.Ack(kgo.AckAccept)
					}
				})
				if err := sc.FlushAcks(ctx); err != nil {
					t.Fatalf("flush acks: %v", err)
				}
			}
			rd, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(dlq), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			if err != nil {
				t.Fatal(err)
			}
			defer rd.Close()
			var got []*kgo.Record
			for len(got) < 2 && ctx.Err() == nil {
				rd.PollFetches(ctx).EachRecord(func(r *kgo.Record) { got = append(got, r) })
			}
			if len(got) != 2 {
				t.Fatalf("%d DLQ records before the deadline, want 2 (the rejected and the exhausted one)", len(got))
			}
			want := []struct{ offset, count, message, key string }{
				{"0", "1", "Offset rejected by client.", "k0"},
				{"1", "2", "Offset delivery count exceeded the threshold.", "k1"},
			}
			for i, r := range got {
				h := map[string]string{}
				for _, x := range r.Headers {
					h[x.Key] = string(x.Value)
				}
				w := want[i]
				if h["__dlq.errors.topic"] != topic || h["__dlq.errors.partition"] != "0" || h["__dlq.errors.offset"] != w.offset ||
					h["__dlq.errors.group"] != group || h["__dlq.errors.delivery.count"] != w.count || h["__dlq.errors.message"] != w.message {
					t.Errorf("DLQ record %d headers %v, want offset %s, delivery count %s, message %q", i, h, w.offset, w.count, w.message)
				}
				if _, ok := h["traceparent"]; ok {
					t.Errorf("DLQ record %d carries the record's own header: %v", i, h)
				}
				if copyRecord && (string(r.Key) != w.key || len(r.Value) == 0) {
					t.Errorf("copy on: DLQ record %d key %q value %q, want the record's", i, r.Key, r.Value)
				}
				if !copyRecord && (len(r.Key) != 0 || len(r.Value) != 0) {
					t.Errorf("copy off: DLQ record %d key %q value %q, want empty", i, r.Key, r.Value)
				}
			}
		})
	}
}
