package parallel_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kpar/kpar/parallel"
	"github.com/kpar/kpar/parallel/internal/testkit"
)

// txnLog is a TxnObserver that keeps every transaction's end: its outcome,
// error and input values.
type txnLog struct{ list[txnEnd] }

type txnEnd struct {
	outcome parallel.TxnOutcome
	err     error
	inputs  []string
}

func (l *txnLog) AttemptStart(ctx context.Context, _ parallel.Attempt) context.Context { return ctx }
func (l *txnLog) Forward(context.Context, parallel.Attempt, *kgo.Record)               {}
func (l *txnLog) AttemptEnd(context.Context, parallel.Attempt, error)                  {}
func (l *txnLog) TxnStart(ctx context.Context, _ parallel.Txn) context.Context         { return ctx }

func (l *txnLog) TxnEnd(_ context.Context, t parallel.Txn, err error) {
	e := txnEnd{outcome: t.Outcome, err: err}
	for _, in := range t.Inputs {
		e.inputs = append(e.inputs, string(in.Record.Value))
	}
	l.add(e)
}

// first returns the index of the first end with outcome o holding input v
// ("" for any input), or -1.
func (l *txnLog) first(o parallel.TxnOutcome, v string) int {
	for i, e := range l.all() {
		if e.outcome != o {
			continue
		}
		if v == "" {
			return i
		}
		for _, in := range e.inputs {
			if in == v {
				return i
			}
		}
	}
	return -1
}

// A transaction refused for one output's size is aborted and its inputs go
// into the next one: the observer sees that transaction end aborted, with
// its error, and a later one committed that carries the refused input
// again (dead-lettered this time).
func TestATxnObserverSeesARefusedTransactionAbortedAndItsInputsCommittedInTheNext(t *testing.T) {
	const n = 20
	_, seeds := testkit.KfakeCluster(t, "in", 1)
	if _, err := testkit.Admin(t, seeds).CreateTopics(context.Background(), 1, 1, nil, "out", "dlq"); err != nil {
		t.Fatal(err)
	}
	testkit.Produce(t, seeds, "in", n, 1)
	h := func(ctx context.Context, r *kgo.Record) ([]*kgo.Record, error) {
		v := []byte("out-" + string(r.Value))
		if string(r.Value) == "7" {
			v = make([]byte, 100<<10)
		}
		return []*kgo.Record{{Topic: "out", Value: v}}, nil
	}
	log := &txnLog{}
	c, err := parallel.NewTransform(h, parallel.Observe(log),
		parallel.ClientOpts(kgo.SeedBrokers(seeds...), kgo.ConsumerGroup("g"), kgo.ConsumeTopics("in"),
			kgo.TransactionalID("tx"), kgo.ProducerBatchMaxBytes(64<<10)),
		parallel.DeadLetterTopic("dlq"), parallel.CommitInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	stop := testkit.Run(t, c)
	testkit.WaitFor(t, time.Minute, "a committed transaction holding input 7", func() bool {
		return log.first(parallel.TxnCommitted, "7") >= 0
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	aborted, committed := log.first(parallel.TxnAborted, "7"), log.first(parallel.TxnCommitted, "7")
	if aborted < 0 || aborted > committed {
		t.Fatalf("transaction ends %+v: want one aborted holding input 7 before the committed one", log.all())
	}
	if e := log.all()[aborted]; e.err == nil {
		t.Errorf("the aborted transaction ended with a nil error")
	}
	for _, e := range log.all() {
		if e.outcome == parallel.TxnCommitted && e.err != nil {
			t.Errorf("a committed transaction ended with error %v", e.err)
		}
	}
}

// A takeover of the transactional ID during a commit (the cluster holds
// the EndTxn until a second producer has the ID) ends that transaction
// fenced, with an error wrapping ErrFenced, as Run's own error does, and
// is the last transaction the consumer begins.
func TestATxnObserverSeesATakeoverDuringTheCommitAsFenced(t *testing.T) {
	kc, seeds := inAndOut(t, 30)
	usurper := testkit.Client(t, seeds, kgo.TransactionalID("same"))
	var once sync.Once
	took := make(chan error, 1)
	kc.ControlKey(int16(kmsg.EndTxn), func(req kmsg.Request) (kmsg.Response, error, bool) {
		kc.KeepControl()
		if !req.(*kmsg.EndTxnRequest).Commit {
			return nil, nil, false
		}
		once.Do(func() {
			kc.SleepControl(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				_, _, err := usurper.ProducerID(ctx)
				took <- err
			})
		})
		return nil, nil, false
	})
	log := &txnLog{}
	h := func(ctx context.Context, r *kgo.Record) ([]*kgo.Record, error) {
		return []*kgo.Record{{Topic: "out", Value: r.Value}}, nil
	}
	errc := runTransformAsSame(t, seeds, h, parallel.Observe(log))
	runErr := receive(t, errc, time.Minute, "Run went on for a minute after its transactional ID was taken over during a commit")
	if err := <-took; err != nil {
		t.Fatalf("the second producer could not take the ID: %v", err)
	}
	if !errors.Is(runErr, parallel.ErrFenced) {
		t.Fatalf("Run returned %v, want ErrFenced", runErr)
	}
	ends := log.all()
	fenced := log.first(parallel.TxnFenced, "")
	if fenced < 0 {
		t.Fatalf("transaction ends %+v: none fenced", ends)
	}
	if !errors.Is(ends[fenced].err, parallel.ErrFenced) {
		t.Errorf("the fenced transaction ended with %v, want an error wrapping ErrFenced", ends[fenced].err)
	}
	// The fenced producer is dead: the final commit must not begin another
	// transaction on it (each would fail and read as an ordinary abort).
	if after := ends[fenced+1:]; len(after) > 0 {
		t.Errorf("%d transactions ended after the fence: %+v", len(after), after)
	}
}
