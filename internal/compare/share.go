package compare

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// ShareSpec is one run of the bare franz-go share consumer in its own
// process (`kpar child compare-share`): Members clients of one share
// group, each polling at most its share of Concurrency records, handling
// them concurrently, acking each as its handler returns.
type ShareSpec struct {
	Brokers    []string
	ClientOpts []kgo.Opt `json:"-"` // as KparSpec's
	Topic      string
	// Group is a share group the parent made read from the earliest
	// offset (sharegroup.FromEarliest); fresh for every run.
	Group       string
	Records     int64
	Concurrency int // records in flight across all members
	Members     int
	Sleep       time.Duration // 0: no-op handler
	// Trace counts per-key order (Order); io runs only, as it keeps one
	// event per record.
	Trace bool
}

// memberConcurrency splits conc over members, the first conc%members
// taking one more, so the members together hold conc records at most.
func memberConcurrency(conc, members, i int) int {
	n := conc / members
	if i < conc%members {
		n++
	}
	return n
}

// RunShareChild is `kpar child compare-share`: RunShare, its figures as
// one ChildOutput line on stdout.
func RunShareChild(ctx context.Context, spec ShareSpec, stdout io.Writer) error {
	out, err := RunShare(ctx, spec)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(out)
}

// RunShare consumes spec.Records records with a bare share consumer as a
// user would write it with franz-go alone: per member, poll at most its
// concurrency, one goroutine per record, r.Ack(AckAccept) when the handler
// returns, and poll again only once every record of the poll is acked:
// franz-go accepts any record still unacked at the next poll, so polling
// earlier would accept work not done.
func RunShare(ctx context.Context, spec ShareSpec) (ChildOutput, error) {
	members := max(1, min(spec.Members, spec.Concurrency))
	n := spec.Records
	cnt, err := newCounter(ctx, spec.Brokers, spec.ClientOpts, spec.Topic, n)
	if err != nil {
		return ChildOutput{}, err
	}
	var busyNs, redelivered atomic.Int64
	var tr *tracer
	if spec.Trace {
		tr = newTracer(n + n/10 + int64(spec.Concurrency))
	}
	handle := func(r *kgo.Record) {
		t0 := time.Now()
		if spec.Sleep > 0 {
			time.Sleep(spec.Sleep)
		}
		t1 := time.Now()
		if spec.Sleep > 0 {
			busyNs.Add(int64(t1.Sub(t0)))
		}
		if tr != nil {
			tr.record(r, t0, t1)
		}
		if r.DeliveryCount() > 1 {
			redelivered.Add(1)
		}
		cnt.handled(r.Partition, r.Offset)
	}

	clients, err := shareClients(spec, members)
	if err != nil {
		return ChildOutput{}, err
	}
	closeAll := func() {
		for _, cl := range clients {
			cl.Close() // leaves the group, releasing what it still holds
		}
	}
	run := func(rctx context.Context) error {
		errc := make(chan error, members)
		var wg sync.WaitGroup
		for i, cl := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := shareMember(rctx, cl, memberConcurrency(spec.Concurrency, members, i), handle); err != nil {
					errc <- err
				}
			}()
		}
		wg.Wait() // every member's last poll handled and acked: the trace is complete
		select {
		case err := <-errc:
			return err
		default:
			return rctx.Err()
		}
	}
	cpu, err := runUntil(ctx, cnt, run, closeAll)
	if err != nil {
		return ChildOutput{}, fmt.Errorf("share run: %w", err)
	}
	w, err := cnt.window()
	if err != nil {
		return ChildOutput{}, err
	}
	out := ChildOutput{CPUSeconds: cpu, Members: members, Redelivered: redelivered.Load()}
	fromWindow(&out, w)
	if spec.Sleep > 0 {
		out.MeanHandler = float64(busyNs.Load()) / float64(cnt.calls.Load()) / 1e6
	}
	if tr != nil {
		out.Order = tr.order()
	}
	return out, nil
}

// shareClients are the members' clients, each polling at most its part of
// the concurrency.
func shareClients(spec ShareSpec, members int) ([]*kgo.Client, error) {
	clients := make([]*kgo.Client, 0, members)
	for i := range members {
		cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(spec.Brokers...), kgo.ConsumeTopics(spec.Topic),
			kgo.ShareGroup(spec.Group), kgo.ShareMaxRecords(int32(memberConcurrency(spec.Concurrency, members, i)))}, spec.ClientOpts...)...)
		if err != nil {
			for _, c := range clients {
				c.Close()
			}
			return nil, err
		}
		clients = append(clients, cl)
	}
	return clients, nil
}

// shareMember is one member's loop until ctx ends; only a fetch error
// other than the run's own end stops it early.
func shareMember(ctx context.Context, cl *kgo.Client, most int, handle func(*kgo.Record)) error {
	for ctx.Err() == nil {
		fs := cl.PollRecords(ctx, most)
		var err error
		fs.EachError(func(t string, p int32, e error) {
			if err == nil && !errors.Is(e, context.Canceled) && !errors.Is(e, kgo.ErrClientClosed) {
				err = fmt.Errorf("share poll %s[%d]: %w", t, p, e)
			}
		})
		if err != nil {
			return err
		}
		var wg sync.WaitGroup
		fs.EachRecord(func(r *kgo.Record) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				handle(r)
				r.Ack(kgo.AckAccept)
			}()
		})
		wg.Wait() // the next poll would accept anything still unacked
	}
	return nil
}
