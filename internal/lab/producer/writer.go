package producer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/kafka"
	"github.com/kpar/kpar/internal/lab/workload"
)

// writers are the cell's producers: in this process, one franz-go client
// each, paced to a shared rate. In-process rather than a child process:
// the faults hit brokers, never the producer, and the promise of every
// record is read directly, with nothing lost in a pipe.
type writers struct {
	cfg     Config
	seed    int64
	clients []*kgo.Client

	mu   sync.Mutex
	sent [][]Sent // per producer, in send order
	// closed: the flush deadline passed; later answers leave a record Unreported.
	closed bool

	produced atomic.Int64
	stop     chan struct{}
	// abort releases a Produce blocked on a full buffer once the flush
	// deadline passed; until then records are never cancelled one by one.
	abort     context.Context
	cancelAll context.CancelFunc
	wg        sync.WaitGroup
}

func startWriters(cfg Config, seed int64, seeds []string, topic string, s Setting) (*writers, error) {
	w := &writers{cfg: cfg, seed: seed, stop: make(chan struct{}), sent: make([][]Sent, cfg.Producers)}
	w.abort, w.cancelAll = context.WithCancel(context.Background())
	opts := []kgo.Opt{kgo.SeedBrokers(seeds...), kgo.DefaultProduceTopic(topic), kgo.RecordDeliveryTimeout(cfg.DeliveryTimeout),
		kgo.ProducerLinger(5 * time.Millisecond), kgo.RequiredAcks(kafka.Acks[s.Acks])}
	if !s.Idempotent {
		opts = append(opts, kgo.DisableIdempotentWrite(), kgo.MaxProduceRequestsInflightPerBroker(s.MaxInFlight))
	}
	for p := 0; p < cfg.Producers; p++ {
		cl, err := kgo.NewClient(slices.Concat(opts, []kgo.Opt{kgo.ClientID(fmt.Sprintf("kpar-lab-producer-%d", p))}, cfg.Opts())...)
		if err != nil {
			w.closeClients()
			return nil, err
		}
		w.clients = append(w.clients, cl)
	}
	for p := range w.clients {
		w.wg.Go(func() { w.run(p) })
	}
	return w, nil
}

// keyOf is producer p's i-th record's key: a function of the seed only.
func keyOf(seed int64, p, i, keys int) int {
	return int(workload.Uint64(seed, 2, uint64(p), uint64(i)) % uint64(keys))
}

// run paces producer p at rate/producers records/s in 10 ms ticks. Ticks
// missed while Produce blocks (buffer full during an outage) are dropped,
// not caught up, so a recovery is not a burst.
func (w *writers) run(p int) {
	per := float64(w.cfg.Rate) / float64(w.cfg.Producers) / 100
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	next := map[int]int{}
	owed := 0.0
	for i := 0; ; {
		select {
		case <-w.stop:
			return
		case <-tick.C:
		}
		for owed += per; owed >= 1; owed-- {
			select {
			case <-w.stop: // no record may start after finish began waiting
				return
			default:
			}
			k := keyOf(w.seed, p, i, w.cfg.Keys)
			id := ID{Producer: p, Index: i}
			rec := &kgo.Record{Key: Key(k), Value: Value(id, k, next[k], w.cfg.ValueBytes)}
			w.mu.Lock()
			w.sent[p] = append(w.sent[p], Sent{ID: id, Key: k, Seq: next[k]})
			w.mu.Unlock()
			next[k]++
			i++
			w.clients[p].Produce(w.abort, rec, func(_ *kgo.Record, err error) { w.answer(id, err) })
			w.produced.Add(1)
		}
	}
}

func (w *writers) answer(id ID, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch s := &w.sent[id.Producer][id.Index]; {
	case w.closed:
	case err == nil:
		s.Status = Acked
	default:
		s.Status, s.Err = Failed, errName(err)
	}
}

// errName names an error by its Kafka error code when it has one, so the
// counts group by cause rather than by message text.
func errName(err error) string {
	var ke *kerr.Error
	switch {
	case errors.As(err, &ke):
		return ke.Message
	case errors.Is(err, kgo.ErrRecordTimeout):
		return "record delivery timeout"
	case errors.Is(err, kgo.ErrRecordRetries):
		return "record retries exhausted"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline exceeded"
	}
	return trunc(err.Error(), 80)
}

// finish stops producing, waits up to flush for every answer, then closes
// the clients. It returns what each record was told, and whether the flush
// finished in time.
func (w *writers) finish(flush time.Duration) ([]Sent, bool) {
	// Stop the senders first, so that every record Flush waits for was
	// handed to the client. A sender blocked on a full buffer is released
	// at the flush deadline (its record fails with the context's error).
	close(w.stop)
	ctx, cancel := context.WithTimeout(context.Background(), flush)
	defer cancel()
	stopped := make(chan struct{})
	go func() { w.wg.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-ctx.Done():
		w.cancelAll()
		<-stopped
	}
	var wg sync.WaitGroup
	var late atomic.Bool
	for _, cl := range w.clients {
		wg.Go(func() {
			if cl.Flush(ctx) != nil {
				late.Store(true)
			}
		})
	}
	wg.Wait()
	w.mu.Lock()
	w.closed = true
	out := slices.Concat(w.sent...)
	w.mu.Unlock()
	w.closeClients()
	return out, !late.Load()
}

func (w *writers) closeClients() {
	w.cancelAll()
	for _, cl := range w.clients {
		cl.Close()
	}
}
