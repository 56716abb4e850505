package kafka_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/kafka"
	"github.com/kpar/kpar/internal/testkit"
	"github.com/twmb/franz-go/pkg/kgo"
)

// openTxn writes 10 plain records to each of partitions 0 and 1 of topic,
// then 10 records to partition 0 in a transaction it leaves open. It returns
// once they are all acknowledged, with the transactional client.
func openTxn(t *testing.T, seeds []string, topic string) (want int, txn *kgo.Client) {
	t.Helper()
	ctx := context.Background()
	plain := testkit.Client(t, seeds, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var batch []*kgo.Record
	for i := range 20 {
		batch = append(batch, &kgo.Record{Topic: topic, Partition: int32(i % 2), Value: []byte("plain")})
	}
	if err := plain.ProduceSync(ctx, batch...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	txn = testkit.Client(t, seeds, kgo.TransactionalID(testkit.TopicName(t)+"-txn"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := txn.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	var in []*kgo.Record
	for range 10 {
		in = append(in, &kgo.Record{Topic: topic, Partition: 0, Value: []byte("txn")})
	}
	if err := txn.ProduceSync(ctx, in...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	return len(batch) + len(in), txn
}

// A transaction still open when the checker starts reading holds the last
// stable offset; once it commits, its records are processed-log entries like
// any other. A reader that stops at the first empty 1.5 s poll counted them
// lost.
func TestReadAllCommittedWaitsForATransactionThatCommitsLate(t *testing.T) {
	testkit.EachCluster(t, func(t *testing.T, seeds []string) {
		topic := testkit.Topic(t, seeds, 2)
		want, txn := openTxn(t, seeds, topic)
		committed := make(chan error, 1)
		go func() {
			time.Sleep(3 * time.Second) // twice the reader's old idle limit
			committed <- txn.EndTransaction(context.Background(), kgo.TryCommit)
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		recs, err := kafka.Reader{Seeds: seeds}.Committed(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		if err := <-committed; err != nil {
			t.Fatal(err)
		}
		if len(recs) != want {
			t.Fatalf("read %d records of %d: the transaction that committed 3 s after the read began is missing", len(recs), want)
		}
	})
}

// A transaction that never ends holds the last stable offset for good: the
// read fails, naming the partition and how far it got, instead of returning
// what it had.
func TestReadAllCommittedFailsNamingThePartitionAnOpenTransactionHolds(t *testing.T) {
	seeds := testkit.Kfake(t)
	topic := testkit.Topic(t, seeds, 2)
	openTxn(t, seeds, topic)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	recs, err := kafka.Reader{Seeds: seeds, Stall: 2 * time.Second}.Committed(ctx, topic)
	var st *kafka.StalledError
	if !errors.As(err, &st) {
		t.Fatalf("want a kafka.StalledError, got %d records and %v", len(recs), err)
	}
	// Partition 0: 10 plain records, then the open transaction's 10.
	want := []kafka.Behind{{Partition: 0, Next: 10, End: 20, LastStable: 10}}
	if st.Topic != topic || !st.Committed || len(st.Behind) != 1 || st.Behind[0] != want[0] {
		t.Fatalf("got %+v, want topic %s, read_committed, %+v", st, topic, want)
	}
	t.Log(err)
}

// A committed or aborted transaction ends in a marker no reader is handed as
// a record; the read must still know it reached the end, and hand back
// only the committed records.
func TestReadEndsOnATransactionMarkerAndSkipsAbortedRecords(t *testing.T) {
	seeds := testkit.Kfake(t)
	topic := testkit.Topic(t, seeds, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	txn := testkit.Client(t, seeds, kgo.TransactionalID(testkit.TopicName(t)+"-txn"), kgo.DefaultProduceTopic(topic))
	for i, commit := range []kgo.TransactionEndTry{kgo.TryCommit, kgo.TryAbort, kgo.TryCommit} {
		if err := txn.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for range 5 {
			if err := txn.ProduceSync(ctx, &kgo.Record{Value: []byte{byte(i)}}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if err := txn.EndTransaction(ctx, commit); err != nil {
			t.Fatal(err)
		}
	}
	// Every read below must end without a stall: the last offset is a
	// commit marker.
	r := kafka.Reader{Seeds: seeds, Stall: 5 * time.Second}
	recs, err := r.Committed(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		if rec.Value[0] == 1 || rec.Attrs.IsControl() {
			t.Fatalf("read_committed handed back %+v", rec)
		}
	}
	if len(recs) != 10 {
		t.Fatalf("read_committed: %d records, want the 10 committed", len(recs))
	}
	if recs, err = r.All(ctx, topic); err != nil || len(recs) != 15 {
		t.Fatalf("read_uncommitted: %d records (want all 15), %v", len(recs), err)
	}
}
