package parallel_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/parallel"
	"github.com/kpar/kpar/parallel/internal/testkit"
)

var errMalformed = errors.New("malformed")

// A Permanent failure skips the remaining in-place attempts and the retry
// topic: one handler call, then the dead-letter topic, and the source offset
// is committed. Transient failures of other records still take the retry
// topic.
func TestPermanentFailureSkipsAttemptsAndRetryTopicForTheDeadLetterTopic(t *testing.T) {
	cl := fake(t)
	const n = 60
	topic := testkit.Topic(t, cl.seeds, 3)
	retry := testkit.Topic(t, cl.seeds, 1)
	dlt := testkit.Topic(t, cl.seeds, 1)
	testkit.Produce(t, cl.seeds, topic, n, 6)
	var calls testkit.Attempts
	h := func(ctx context.Context, r *kgo.Record) error {
		v, k := calls.Next(r)
		switch {
		case v%10 == 0:
			return parallel.Permanent(fmt.Errorf("record %d: %w", v, errMalformed))
		case v%10 == 5 && k == 1:
			return errors.New("busy") // one trip through the retry topic, then fine
		}
		return nil
	}
	group := testkit.TopicName(t)
	c := testkit.Consumer(t, cl.seeds, group, h, []string{topic},
		parallel.Retries(1, 0, 0), parallel.RetryTopic(retry, 0, 3), parallel.DeadLetterTopic(dlt))
	stop := testkit.Run(t, c)
	testkit.WaitFor(t, 30*time.Second, "every source offset committed", func() bool {
		at, _ := testkit.CommittedOffsets(t, cl.seeds, group, topic)
		return testkit.SumOffsets(at) == n
	})
	testkit.WaitFor(t, 30*time.Second, "the transient failures to come back through the retry topic", func() bool {
		return c.Stats().RetryTopic == n/10 && c.Stats().Completed == n-n/10
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	dead := consumeAll(t, cl.seeds, dlt, n/10)
	if len(dead) != n/10 {
		t.Fatalf("%d dead-lettered records, want %d", len(dead), n/10)
	}
	for _, r := range dead {
		v, _ := strconv.Atoi(string(r.Value))
		if v%10 != 0 {
			t.Errorf("value %d dead-lettered; only the permanent failures should be", v)
		}
		if k := calls.Of(v); k != 1 {
			t.Errorf("value %d: %d handler calls, want 1 (permanent: no retry)", v, k)
		}
		if got := parallel.Header(r, parallel.HeaderAttempts); got != "1" {
			t.Errorf("value %d: attempts header %q, want 1", v, got)
		}
		if got := parallel.Header(r, parallel.HeaderRetryRound); got != "" {
			t.Errorf("value %d went through the retry topic (round %q)", v, got)
		}
	}
	if st := c.Stats(); st.DeadLettered != n/10 || st.Retried != 0 {
		t.Errorf("stats: dead-lettered %d (want %d), in-place retries %d (want 0: Retries(1))", st.DeadLettered, n/10, st.Retried)
	}
}

// Without a dead-letter topic a Permanent failure stops the consumer after
// one attempt, leaves the record uncommitted, and Run's error still lets
// the caller find the handler's error and its permanence.
func TestPermanentFailureWithoutDeadLetterStopsRunAfterOneAttempt(t *testing.T) {
	_, seeds := testkit.KfakeCluster(t, "t", 1)
	testkit.Produce(t, seeds, "t", 1, 1)
	var calls int
	h := func(ctx context.Context, r *kgo.Record) error {
		calls++ // one record, one partition: never concurrent
		return parallel.Permanent(errMalformed)
	}
	c := testkit.Consumer(t, seeds, "g", h, []string{"t"}, parallel.Retries(5, 0, 0))
	err := c.Run(context.Background())
	if !errors.Is(err, parallel.ErrRecordFailed) || !errors.Is(err, errMalformed) || !parallel.IsPermanent(err) {
		t.Fatalf("Run = %v; want ErrRecordFailed wrapping the permanent handler error", err)
	}
	if calls != 1 {
		t.Fatalf("%d handler calls, want 1", calls)
	}
	if at, _ := testkit.CommittedOffsets(t, seeds, "g", "t"); at[0] != 0 {
		t.Fatalf("committed %v; the failed record must stay uncommitted", at)
	}
	if parallel.Permanent(nil) != nil {
		t.Fatal("Permanent(nil) must be nil")
	}
}

// RetryBackoff is asked once per failed attempt, with the attempt number
// and that attempt's error, and the attempt count still comes from Retries.
func TestRetryBackoffIsAskedAfterEachFailedAttemptWithItsError(t *testing.T) {
	_, seeds := testkit.KfakeCluster(t, "t", 1)
	testkit.Produce(t, seeds, "t", 1, 1)
	var (
		mu    sync.Mutex
		asked []string
		calls int
	)
	h := func(ctx context.Context, r *kgo.Record) error {
		calls++
		if calls <= 3 {
			return fmt.Errorf("fail %d", calls)
		}
		return nil
	}
	backoff := func(attempt int, err error) time.Duration {
		mu.Lock()
		asked = append(asked, fmt.Sprintf("%d:%v", attempt, err))
		mu.Unlock()
		return time.Millisecond
	}
	c := testkit.Consumer(t, seeds, "g", h, []string{"t"}, parallel.Retries(4, time.Hour, time.Hour), parallel.RetryBackoff(backoff))
	testkit.RunUntil(t, c, 20*time.Second, "the record to succeed", func() bool { return c.Stats().Completed == 1 })
	mu.Lock()
	defer mu.Unlock()
	want := []string{"1:fail 1", "2:fail 2", "3:fail 3"}
	if fmt.Sprint(asked) != fmt.Sprint(want) {
		t.Fatalf("backoff asked %v, want %v (the hour-long default backoff must not be used)", asked, want)
	}
}

func TestOrderTextRoundTripsAndRejectsUnknownNames(t *testing.T) {
	for _, tc := range []struct {
		text string
		want parallel.Order
		ok   bool
	}{
		{"key", parallel.OrderKey, true},
		{"partition", parallel.OrderPartition, true},
		{"none", parallel.OrderNone, true},
		{"unordered", parallel.OrderNone, true},
		{"Key", 0, false},
		{"", 0, false},
	} {
		var o parallel.Order
		err := o.UnmarshalText([]byte(tc.text))
		if tc.ok != (err == nil) || (tc.ok && o != tc.want) {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v, ok %v", tc.text, o, err, tc.want, tc.ok)
		}
		if !tc.ok && !errors.Is(err, parallel.ErrInvalidOption) {
			t.Errorf("UnmarshalText(%q) error %v does not wrap ErrInvalidOption", tc.text, err)
		}
	}
	type conf struct{ Order parallel.Order }
	for _, o := range []parallel.Order{parallel.OrderKey, parallel.OrderPartition, parallel.OrderNone} {
		b, err := json.Marshal(conf{o})
		if err != nil {
			t.Fatal(err)
		}
		var back conf
		if err := json.Unmarshal(b, &back); err != nil || back.Order != o {
			t.Errorf("%v -> %s -> %v, %v", o, b, back.Order, err)
		}
	}
	if _, err := json.Marshal(conf{parallel.Order(7)}); err == nil {
		t.Error("an unknown Order must not marshal")
	}
}
