package checker

import (
	"context"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/kafka"
	"github.com/kpar/kpar/internal/lab/workload"
	"github.com/kpar/kpar/internal/testkit"
	"github.com/twmb/franz-go/pkg/kgo"
)

var t0 = time.Unix(1000, 0)

// perfectLog processes every record once, in input order, one ms apart.
func perfectLog(in []workload.Record) []Processed {
	out := make([]Processed, len(in))
	for i, r := range in {
		out[i] = Processed{Entry: workload.Entry{Record: r, Worker: "w0", Outcome: workload.OK, Attempts: 1},
			At: t0.Add(time.Duration(i+1) * time.Millisecond)}
	}
	return out
}

func TestCheckPassesACleanRun(t *testing.T) {
	in := workload.Generate(7, 500, 10)
	res := Check(in, perfectLog(in), t0)
	if !res.OK() || res.Processed != 500 || res.Entries != 500 {
		t.Fatalf("clean run flagged: %+v", res)
	}
	if res.RecordsPerSec < 999 || res.RecordsPerSec > 1001 {
		t.Fatalf("500 records over 500ms: got %.1f records/s", res.RecordsPerSec)
	}
}

func TestCheckFlagsAPlantedLoss(t *testing.T) {
	in := workload.Generate(7, 500, 10)
	log := perfectLog(in)
	log = append(log[:123], log[124:]...) // record 123 never processed
	res := Check(in, log, t0)
	if res.Lost != 1 || len(res.LostSample) != 1 || res.LostSample[0] != 123 {
		t.Fatalf("want exactly record 123 lost, got %+v", res)
	}
	if res.Duplicated != 0 || res.Reordered != 0 {
		t.Fatalf("a loss alone must not count as duplicate or reorder: %+v", res)
	}
}

func TestCheckFlagsAPlantedDuplicate(t *testing.T) {
	in := workload.Generate(7, 500, 10)
	log := perfectLog(in)
	log = append(log, log[40], log[40], log[41]) // 40 three times, 41 twice
	res := Check(in, log, t0)
	if res.Duplicated != 3 || res.DuplicatedRecords != 2 || res.Lost != 0 {
		t.Fatalf("want 3 extra entries over 2 records, got %+v", res)
	}
	if res.Reordered != 0 {
		t.Fatalf("a replay is a duplicate, not a reorder: %+v", res)
	}
}

func TestCheckFlagsAPlantedReorder(t *testing.T) {
	in := []workload.Record{{Seq: 0, Key: "a", KeySeq: 0}, {Seq: 1, Key: "b", KeySeq: 0},
		{Seq: 2, Key: "a", KeySeq: 1}, {Seq: 3, Key: "a", KeySeq: 2}}
	log := perfectLog(in)
	log[2], log[3] = log[3], log[2] // a/2 processed before a/1
	res := Check(in, log, t0)
	if res.Reordered != 1 || res.Lost != 0 || res.Duplicated != 0 {
		t.Fatalf("want one reorder, got %+v", res)
	}
	// Another key overtaking is not a reorder: order is per key.
	log = perfectLog(in)
	log[0], log[1] = log[1], log[0]
	if res := Check(in, log, t0); res.Reordered != 0 {
		t.Fatalf("cross-key order must not count: %+v", res)
	}
}

func TestCheckCountsDeadLetteredAsProcessed(t *testing.T) {
	in := workload.Generate(7, 20, 3)
	log := perfectLog(in)
	log[5].Outcome = workload.DeadLettered
	res := Check(in, log, t0)
	if res.DeadLettered != 1 || res.Lost != 0 {
		t.Fatalf("dead-lettered record is handled, not lost: %+v", res)
	}
}

func TestCheckCountsEntriesForUnknownRecords(t *testing.T) {
	in := workload.Generate(7, 20, 3)
	log := append(perfectLog(in), Processed{Entry: workload.Entry{Record: workload.Record{Seq: 999, Key: "x"}}})
	if res := Check(in, log, t0); res.Unknown != 1 || res.OK() {
		t.Fatalf("an entry for a record never produced must be flagged: %+v", res)
	}
}

// inputOnKfake creates the topics "in" and "log" with the given partition
// count on kfake and produces n input records of the given number of keys
// (seed 3) to "in".
func inputOnKfake(t *testing.T, ctx context.Context, partitions, n, keys int) ([]string, *kgo.Client, []workload.Record) {
	t.Helper()
	seeds := testkit.Kfake(t)
	cl := testkit.Client(t, seeds)
	for _, topic := range []string{"in", "log"} {
		if _, err := kafka.Create(ctx, testkit.Admin(t, seeds), []kafka.Topic{{Name: topic, Partitions: partitions}}); err != nil {
			t.Fatal(err)
		}
	}
	in := workload.Generate(3, n, keys)
	if err := workload.ProduceInput(ctx, cl, "in", in); err != nil {
		t.Fatal(err)
	}
	return seeds, cl, in
}

// checkTopics reads the topics as the labs do and checks them.
func checkTopics(t *testing.T, ctx context.Context, seeds []string) Result {
	t.Helper()
	input, log, err := ReadTopics(ctx, kafka.Reader{Seeds: seeds}, "in", "log", "")
	if err != nil {
		t.Fatal(err)
	}
	return Check(input, log, time.Time{})
}

// The same planted faults must come out of the topics, not only the slices.
func TestCheckTopicsReadsPlantedFaultsFromKafka(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	seeds, cl, in := inputOnKfake(t, ctx, 4, 200, 8)
	var log []*kgo.Record
	for _, r := range in {
		if r.Seq == 17 {
			continue // planted loss
		}
		e := workload.Entry{Record: r, Worker: "w0", Outcome: workload.OK, Attempts: 1}
		log = append(log, &kgo.Record{Topic: "log", Key: []byte(r.Key), Value: workload.EncodeEntry(e)})
		if r.Seq == 30 {
			log = append(log, log[len(log)-1]) // planted duplicate
		}
	}
	if err := cl.ProduceSync(ctx, log...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	res := checkTopics(t, ctx, seeds)
	if res.Input != 200 || res.Lost != 1 || res.LostSample[0] != 17 || res.Duplicated != 1 || res.Reordered != 0 {
		t.Fatalf("want 200 input, record 17 lost, one duplicate: %+v", res)
	}
}

// The eos strategy writes its entries in transactions. One that commits
// late (its markers land after its writer stopped, or a transaction the
// broker ends on a timeout) makes the processed log slow to become
// readable: the check must wait for it, not count its records lost.
func TestCheckTopicsWaitsForProcessedEntriesThatBecomeReadableLate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	seeds, cl, in := inputOnKfake(t, ctx, 3, 90, 6)
	entries := func(recs []workload.Record) []*kgo.Record {
		out := make([]*kgo.Record, len(recs))
		for i, r := range recs {
			e := workload.Entry{Record: r, Worker: "w0", Outcome: workload.OK, Attempts: 1}
			out[i] = &kgo.Record{Topic: "log", Key: []byte(r.Key), Value: workload.EncodeEntry(e)}
		}
		return out
	}
	if err := cl.ProduceSync(ctx, entries(in[:60])...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	txn := testkit.Client(t, seeds, kgo.TransactionalID("late"))
	if err := txn.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := txn.ProduceSync(ctx, entries(in[60:])...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	committed := make(chan error, 1)
	go func() {
		time.Sleep(3 * time.Second) // twice the checker's old idle limit
		committed <- txn.EndTransaction(context.Background(), kgo.TryCommit)
	}()
	res := checkTopics(t, ctx, seeds)
	if err := <-committed; err != nil {
		t.Fatal(err)
	}
	if res.Input != 90 || res.Lost != 0 || res.Processed != 90 {
		t.Fatalf("the 30 entries committed 3 s into the check must count: %+v", res)
	}
}

func TestCheckTellsACrashReplayFromAReplayInOneProcessAndMeasuresHowFarBackItReaches(t *testing.T) {
	in := workload.Generate(7, 500, 10)
	log := perfectLog(in)
	// w0#0 processes 0..299 and is killed after its entry for 299 (at
	// 300 ms); w0#1 replays 250..299 (first written 50 ms before the kill)
	// and goes on from 300.
	for i := range log {
		if i >= 300 {
			log[i].Incarnation = 1
		}
	}
	for i := 250; i < 300; i++ {
		p := log[i]
		p.Incarnation, p.At = 1, t0.Add(time.Second+time.Duration(i)*time.Millisecond)
		log = append(log, p)
	}
	res := Check(in, log, t0)
	if res.Duplicated != 50 || res.DuplicatedSameProcess != 0 || res.Lost != 0 {
		t.Fatalf("want 50 replays, all by the next incarnation: %+v", res)
	}
	if got := res.ReplaySeconds; got < 0.0489 || got > 0.0491 {
		t.Fatalf("the oldest replayed record was done 49 ms before the kill, got %.4fs", got)
	}
	// The same process writing record 10 again is no crash replay.
	log = append(log, log[10])
	if res = Check(in, log, t0); res.DuplicatedSameProcess != 1 || res.Duplicated != 51 {
		t.Fatalf("want 1 same-process duplicate of 51, got %+v", res)
	}
	if res.ReplaySeconds < 0.289 {
		t.Fatalf("record 10 was done 290 ms before its process's last entry, got %.4fs", res.ReplaySeconds)
	}
}
