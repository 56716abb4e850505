package produce

import (
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// A wrapper is never handed out again while it is still out, and one put
// back comes back zeroed: sends and reports interleaved at random, far
// past a slab and a batch.
func TestRecyclerNeverHandsOutALiveWrapper(t *testing.T) {
	var r recycler
	rng := rand.New(rand.NewPCG(1, 2))
	live := map[*benchRecord]bool{}
	var out []*benchRecord
	reused := 0
	for range 50_000 {
		if len(out) == 0 || rng.IntN(3) > 0 {
			br := r.get()
			if live[br] {
				t.Fatalf("wrapper %p handed out twice", br)
			}
			if br.Topic != "" || br.Value != nil || br.sent != 0 {
				t.Fatalf("wrapper handed out dirty: %+v", br)
			}
			if br.Topic = "t"; len(live) > 0 && rng.IntN(2) == 0 {
				br.Value, br.sent = []byte("v"), time.Second
			}
			live[br] = true
			out = append(out, br)
			continue
		}
		i := rng.IntN(len(out))
		br := out[i]
		out[i] = out[len(out)-1]
		out = out[:len(out)-1]
		delete(live, br)
		r.put(br)
		reused++
	}
	if got := len(live) + reused; got < 10_000 {
		t.Fatalf("only %d wrappers went through", got)
	}
}

// The same across two goroutines, as kgo's promise goroutine puts back
// what the sender got: run it with -race.
func TestRecyclerAcrossGoroutines(t *testing.T) {
	var r recycler
	ch := make(chan *benchRecord, 1000)
	var wg sync.WaitGroup
	wg.Go(func() {
		for br := range ch {
			r.put(br)
		}
	})
	seen := map[*benchRecord]int{}
	for i := range 20_000 {
		br := r.get()
		if br.Partition != 0 {
			t.Fatalf("record %d: wrapper handed out dirty", i)
		}
		br.Partition = int32(i%7 + 1)
		seen[br]++
		ch <- br
	}
	close(ch)
	wg.Wait()
	if len(seen) >= 20_000 {
		t.Fatalf("%d distinct wrappers for 20,000 sends: none was reused", len(seen))
	}
}

// A record's timestamp is its send time cut to the millisecond, set by
// the bench so the client does not read the clock again.
func TestRecordTimestampIsTheSendTimeToTheMillisecond(t *testing.T) {
	d := newReports(nil, nil)
	sl := slice{values: [][]byte{[]byte("a"), []byte("b")}}
	s := Settings{Topics: []string{"t"}, Partitioner: "uniform-bytes"}
	for i := range 2000 {
		br := d.next(nil, sl.values[i%2], i, s, nil)
		want := d.start.Add(br.sent).Truncate(time.Millisecond)
		if !br.Timestamp.Equal(want) {
			t.Fatalf("record %d sent %v after start: timestamp %v, want %v", i, br.sent, br.Timestamp, want)
		}
		if i%500 == 0 {
			time.Sleep(2 * time.Millisecond)
		}
		d.recs.put(br)
	}
}

// An acked record's report time is the client's latest read or write
// (the acknowledgement's arrival), not when its promise ran; a report can
// never come before its send; a failure is timed by the clock.
func TestReportTimeIsTheLatestWireEventNotThePromise(t *testing.T) {
	w := &wireCounter{}
	d := newReports(nil, w)
	s := Settings{Topics: []string{"t"}, Partitioner: "uniform-bytes"}
	br := d.next(nil, []byte("a"), 0, s, nil)
	time.Sleep(2 * time.Millisecond)
	w.mark() // the response arrives
	acked := time.Since(d.start)
	time.Sleep(5 * time.Millisecond) // the promise runs later
	d.promise(&br.Record, nil)
	if lat := time.Duration(d.hist.Max()) * time.Microsecond; lat < 2*time.Millisecond || lat > acked-br.sent {
		t.Fatalf("latency %v: want from the send to the read (%v), not to the promise", lat, acked-br.sent)
	}
	if last := time.Duration(d.lastReport.Load()); last > acked {
		t.Fatalf("last report at %v, after the read at %v", last, acked)
	}
	early := d.next(nil, []byte("b"), 1, s, nil) // sent after the last read
	d.promise(&early.Record, nil)
	if d.hist.Min() != 0 || time.Duration(d.lastReport.Load()) < early.sent {
		t.Fatalf("a report before its send: min latency %d us, last report %v, sent %v", d.hist.Min(), time.Duration(d.lastReport.Load()), early.sent)
	}
	failed := d.next(nil, []byte("c"), 2, s, nil)
	time.Sleep(2 * time.Millisecond)
	d.promise(&failed.Record, errors.New("timed out"))
	if last := time.Duration(d.lastReport.Load()); last < failed.sent+2*time.Millisecond {
		t.Fatalf("failure reported at %v, before the clock at its promise (sent %v + 2ms)", last, failed.sent)
	}
}
