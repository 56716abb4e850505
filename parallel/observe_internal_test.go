package parallel

import (
	"context"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// nopObserver observes nothing: what is left is the library's own cost of
// observing an attempt.
type nopObserver struct{}

func (nopObserver) AttemptStart(ctx context.Context, _ Attempt) context.Context { return ctx }
func (nopObserver) Forward(context.Context, Attempt, *kgo.Record)               {}
func (nopObserver) AttemptEnd(context.Context, Attempt, error)                  {}

// observed is a Consumer with only an Observer (and its group's name).
func observed(o Observer) *Consumer {
	c := &Consumer{obs: &observing{o: o}}
	c.obs.once.Do(func() { c.obs.group = "g" })
	return c
}

// An attempt's number counts the handler calls of earlier rounds, read from
// the record's kpar-attempts header as strconv.Atoi reads the header's
// value, the values the library does not write included.
func TestHeaderIntReadsTheHeaderAsAtoiDoes(t *testing.T) {
	for _, v := range []string{"", "0", "1", "7", "12", "123456789", "1234567890", "+3", "-2", " 4", "4x", "x",
		"99999999999999999999"} {
		r := &kgo.Record{Headers: []kgo.RecordHeader{{Key: "traceparent", Value: []byte("x")}, {Key: HeaderAttempts, Value: []byte(v)}}}
		want, _ := strconv.Atoi(Header(r, HeaderAttempts))
		if got := headerInt(r, HeaderAttempts); got != want {
			t.Errorf("kpar-attempts %q: %d, strconv.Atoi reads %d", v, got, want)
		}
	}
	r := &kgo.Record{Headers: []kgo.RecordHeader{{Key: HeaderAttempts, Value: []byte("2")}, {Key: HeaderAttempts, Value: []byte("5")}}}
	if got := headerInt(r, HeaderAttempts); got != 5 {
		t.Errorf("two kpar-attempts headers, 2 then 5: %d, want the last, 5", got)
	}
	if got := headerInt(&kgo.Record{}, HeaderAttempts); got != 0 {
		t.Errorf("no headers: %d, want 0", got)
	}
}

// Observing an attempt allocates nothing of the library's own: no error
// for an absent kpar-attempts header, no copy of a present one, and the
// attempt itself is the caller's storage.
func TestObservingAnAttemptAllocatesNothing(t *testing.T) {
	c := observed(nopObserver{})
	ctx := context.Background()
	for _, hs := range [][]kgo.RecordHeader{nil, {{Key: HeaderAttempts, Value: []byte("3")}}} {
		r := &kgo.Record{Topic: "t", Headers: hs}
		var at attempt
		got := testing.AllocsPerRun(1000, func() {
			c.finish(c.begin(ctx, r, 1, &at), RouteDone, nil)
		})
		if got > 0 {
			t.Errorf("headers %v: %.1f allocations per observed attempt, want 0", hs, got)
		}
	}
}

// BenchmarkObservedAttempt is the library's own cost per observed attempt
// (begin and finish, an Observer that does nothing), for a record on its
// first delivery (a traceparent, no kpar-attempts) and one from the retry
// topic (kpar-attempts=3).
func BenchmarkObservedAttempt(b *testing.B) {
	c := observed(nopObserver{})
	for _, prior := range []int{0, 3} {
		b.Run("prior="+strconv.Itoa(prior), func(b *testing.B) {
			hs := []kgo.RecordHeader{{Key: "traceparent", Value: []byte("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")}}
			if prior > 0 {
				hs = append(hs, kgo.RecordHeader{Key: HeaderAttempts, Value: []byte(strconv.Itoa(prior))})
			}
			r := &kgo.Record{Topic: "t", Headers: hs}
			ctx := context.Background()
			var at attempt
			b.ReportAllocs()
			for b.Loop() {
				c.finish(c.begin(ctx, r, 1, &at), RouteDone, nil)
			}
		})
	}
}
