package compare

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/bench/consume"
	"github.com/kpar/kpar/internal/kafka"
	"github.com/kpar/kpar/internal/testkit"
	"github.com/kpar/kpar/parallel/sharegroup"
)

func ev(p int32, off int64, key string, start, end int64) event {
	return event{partition: p, offset: off, key: key, start: start, end: end}
}

// Order's definition, case by case: a record is reordered when it started
// before a lower offset of its partition and key finished.
func TestCountOrderFollowsTheDefinition(t *testing.T) {
	cases := []struct {
		name          string
		evs           []event
		reordered     int64
		records, dups int64
		keys          int
	}{
		{"one after another", []event{ev(0, 1, "a", 0, 10), ev(0, 2, "a", 10, 20), ev(0, 3, "a", 25, 30)}, 0, 3, 0, 1},
		{"overlapping", []event{ev(0, 1, "a", 0, 10), ev(0, 2, "a", 5, 20)}, 1, 2, 0, 1},
		{"a higher offset first", []event{ev(0, 2, "a", 0, 10), ev(0, 1, "a", 20, 30)}, 1, 2, 0, 1},
		// offset 3 started after 2 finished but before 1 did: the latest
		// finish of every lower offset counts, not only the next lower one.
		{"behind a slow lower offset", []event{ev(0, 1, "a", 0, 100), ev(0, 2, "a", 1, 2), ev(0, 3, "a", 3, 4)}, 2, 3, 0, 1},
		{"other keys and partitions are free", []event{ev(0, 1, "a", 0, 10), ev(0, 2, "b", 0, 10), ev(1, 3, "a", 0, 10)}, 0, 3, 0, 3},
		// A redelivered offset counts once, at its earliest start.
		{"duplicates apart", []event{ev(0, 1, "a", 0, 10), ev(0, 2, "a", 10, 20), ev(0, 1, "a", 30, 40)}, 0, 2, 1, 1},
	}
	for _, tc := range cases {
		o := countOrder(tc.evs, 0)
		if o.Reordered != tc.reordered || o.Records != tc.records || o.Duplicates != tc.dups || o.Keys != tc.keys {
			t.Errorf("%s: %+v, want reordered %d of %d, %d duplicates, %d keys", tc.name, o, tc.reordered, tc.records, tc.dups, tc.keys)
		}
	}
}

// The bare share consumer's loop on kfake and on the real broker: every
// record of the topic is handled (at least once), by the members asked
// for, and its trace covers them. No rate is checked.
func TestShareChildHandlesEveryRecordWithItsMembers(t *testing.T) {
	for _, cl := range []struct {
		name  string
		seeds func(testing.TB) []string
	}{{"kfake", func(t testing.TB) []string { return testkit.Kfake(t) }}, {"real", testkit.Brokers}} {
		t.Run(cl.name, func(t *testing.T) {
			seeds := cl.seeds(t)
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			topic, group := testkit.TopicName(t), testkit.TopicName(t)
			const n = 1500
			if _, err := consume.Prepare(ctx, seeds, topic, 4, n, 40, 10); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = kafka.Delete(context.Background(), testkit.Admin(t, seeds), topic) })
			if err := sharegroup.FromEarliest(ctx, testkit.Client(t, seeds), group); err != nil {
				t.Fatal(err)
			}
			out, err := RunShare(ctx, ShareSpec{Source: Source{Brokers: seeds, Topic: topic, Records: n}, Group: group,
				Concurrency: 33, Members: 2, Sleep: time.Millisecond, Trace: true})
			if err != nil {
				t.Fatal(err)
			}
			o := out.Order
			if out.Records != n || out.Members != 2 || out.SteadyPerS <= 0 || out.MeanHandlerMs < 1 || o == nil ||
				o.Records+o.Duplicates < n || o.Records > n || o.Keys != 40 || o.Untraced != 0 {
				t.Fatalf("output %+v, order %+v: want %d records handled by 2 members over 40 keys, all traced", out, o, n)
			}
		})
	}
}

// The run's concurrency is split over the members and never exceeded.
func TestMemberConcurrencySplitsTheRunsConcurrency(t *testing.T) {
	for _, tc := range []struct{ conc, members int }{{16, 2}, {500, 3}, {5, 5}, {7, 2}} {
		sum, lo, hi := 0, tc.conc, 0
		for i := range tc.members {
			m := memberConcurrency(tc.conc, tc.members, i)
			sum, lo, hi = sum+m, min(lo, m), max(hi, m)
		}
		if sum != tc.conc || hi-lo > 1 || lo < 1 {
			t.Errorf("%d over %d members: sum %d, min %d, max %d", tc.conc, tc.members, sum, lo, hi)
		}
	}
}

// ShareConsumerPerformance's summary is read by column name (its columns
// are ordered unlike ConsumerPerformance's); the output below is the
// tool's (kafka-tools 4.3.1) as printed on our broker.
func TestParseSharePerfReadsColumnsByName(t *testing.T) {
	out := "WARN some log line\n" +
		"start.time, end.time, data.consumed.in.MB, MB.sec, nMsg.sec, data.consumed.in.nMsg, fetch.time.ms\n" +
		"2026-11-30 05:41:15:356, 2026-11-30 05:41:22:993, 19.0735, 2.4975, 26188.2938, 200000, 7637\n"
	j, err := parseSharePerf([]byte(out))
	if err != nil || j.Records != 200000 || j.RecordsPerS != 26188.2938 || j.MBPerS != 2.4975 || j.FetchTimeMs != 7637 {
		t.Fatalf("parsed %+v, %v", j, err)
	}
	// Columns swapped: still read by name.
	swapped := "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, fetch.time.ms\n" +
		"a, b, 19.0735, 2.4975, 200000, 26188.2938, 7637\n"
	if j, err := parseSharePerf([]byte(swapped)); err != nil || j.Records != 200000 || j.RecordsPerS != 26188.2938 {
		t.Fatalf("swapped columns parsed %+v, %v", j, err)
	}
	// A German-locale JVM's decimal commas give no line of the header's width.
	for _, bad := range []string{"no summary at all\n",
		"start.time, end.time, data.consumed.in.MB, MB.sec, nMsg.sec, data.consumed.in.nMsg, fetch.time.ms\n" +
			"a, b, 19,0735, 2,4975, 26188,2938, 200000, 7637\n"} {
		if _, err := parseSharePerf([]byte(bad)); !errors.Is(err, ErrNoShareSummary) {
			t.Errorf("%q: %v, want ErrNoShareSummary", bad, err)
		}
	}
}

// The recorded command line names the jars by $KPAR_CACHE, never by the
// directory of the machine that ran it; other arguments stay as they are.
func TestRecordedArgsNameTheJarsUnderKPARCACHE(t *testing.T) {
	t.Setenv("KPAR_CACHE", "/somewhere/cache")
	args := javaShareArgs("/somewhere/cache/kafka-4.4.0/libs/*", []string{"127.0.0.1:9092"}, "t", "g", 10, 2)
	got := recordedArgs(args)
	if got[1] != "$KPAR_CACHE/kafka-4.4.0/libs/*" {
		t.Errorf("classpath recorded as %q, want $KPAR_CACHE/kafka-4.4.0/libs/*", got[1])
	}
	if args[1] != "/somewhere/cache/kafka-4.4.0/libs/*" {
		t.Errorf("the command run changed: classpath %q", args[1])
	}
	for i := 2; i < len(args); i++ {
		if got[i] != args[i] {
			t.Errorf("argument %d recorded as %q, want %q", i, got[i], args[i])
		}
	}
}
