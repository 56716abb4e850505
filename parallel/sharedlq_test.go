package parallel_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/parallel"
	"github.com/kpar/kpar/parallel/internal/testkit"
	"github.com/kpar/kpar/parallel/sharegroup"
)

// BrokerDeadLetter is refused, before any connection, outside share mode,
// beside DeadLetterTopic and without a topic; with a share group alone it
// is accepted (so the table cannot pass by refusing everything).
func TestBrokerDeadLetterRefusedWhereItCannotApply(t *testing.T) {
	seeds := kgo.SeedBrokers("127.0.0.1:1") // never dialled: New does not connect
	share := []parallel.Opt{parallel.ClientOpts(seeds, kgo.ConsumeTopics("t")), parallel.ShareGroup("g")}
	group := []parallel.Opt{parallel.ClientOpts(seeds, kgo.ConsumeTopics("t"), kgo.ConsumerGroup("g"))}
	for _, tc := range []struct {
		name string
		opts []parallel.Opt
		want string // "" = accepted
	}{
		{"consumer group", append(group, parallel.BrokerDeadLetter("dlq.t")), "BrokerDeadLetter(\"dlq.t\") without ShareGroup"},
		{"with DeadLetterTopic", append(share, parallel.BrokerDeadLetter("dlq.t"), parallel.DeadLetterTopic("dlt")), "choose one"},
		{"empty topic", append(share, parallel.BrokerDeadLetter("")), "name the dead-letter topic"},
		{"share group", append(share, parallel.BrokerDeadLetter("dlq.t")), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parallel.New(noop, tc.opts...)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				c.Close()
				return
			}
			if !errors.Is(err, parallel.ErrInvalidOption) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want ErrInvalidOption saying %q", err, tc.want)
			}
		})
	}
}

// Run stops with ErrBrokerDeadLetter, naming the topic and the missing
// config, when the DLQ topic does not exist or lacks
// errors.deadletterqueue.group.enable=true, before handling any record
// (the broker would archive rejected records and write none). kfake knows no
// KIP-1191 config, so there the topic is never enabled.
func TestBrokerDeadLetterRunRefusesATopicNotEnabledForIt(t *testing.T) {
	bothClusters(t, func(t *testing.T, cl cluster) {
		topic := testkit.ProducedTopic(t, cl.seeds, 1, 5, 5)
		notEnabled := createTopic(t, cl.seeds, "dlq."+testkit.TopicName(t), nil)
		cases := []struct{ dlq, want string }{
			{notEnabled, "errors.deadletterqueue.group.enable="},
			{"dlq.missing-" + notEnabled, "dlq.missing-" + notEnabled},
		}
		if cl.real {
			// Enabled, but without the broker's prefix (dlq. by default):
			// the broker would take the group config and write nothing.
			unprefixed := createTopic(t, cl.seeds, testkit.TopicName(t), map[string]*string{dlqEnable: kadm.StringPtr("true")})
			cases = append(cases, struct{ dlq, want string }{unprefixed, `errors.deadletterqueue.topic.name.prefix "dlq."`})
		}
		for _, tc := range cases {
			var handled int
			c := newShare(t, cl.seeds, testkit.TopicName(t), topic, nil, func(context.Context, *kgo.Record) error {
				handled++
				return nil
			}, parallel.BrokerDeadLetter(tc.dlq))
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			err := c.Run(ctx)
			cancel()
			if !errors.Is(err, parallel.ErrBrokerDeadLetter) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Run with BrokerDeadLetter(%q): %v, want ErrBrokerDeadLetter naming %q", tc.dlq, err, tc.want)
			}
			if handled != 0 {
				t.Errorf("BrokerDeadLetter(%q): %d records handled before the refusal", tc.dlq, handled)
			}
		}
	})
}

// With BrokerDeadLetter a Permanent failure (on its first delivery) and a
// failure on the group's last allowed delivery are rejected and written by
// the broker to the DLQ topic, with the broker's origin headers and the
// payload (Run set the group's DLQ configs, copy included), and neither is
// handled again; every other record is processed.
func TestBrokerDeadLetterRejectsPermanentAndExhaustedRecordsIntoTheBrokersDLQ(t *testing.T) {
	cl := realBroker(t)
	topic := testkit.Topic(t, cl.seeds, 1)
	dlq := createTopic(t, cl.seeds, "dlq."+topic, map[string]*string{dlqEnable: kadm.StringPtr("true")})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const n = 20
	testkit.Produce(t, cl.seeds, topic, n, n)
	s := newSeen()
	routes := &routeCounter{}
	group := testkit.TopicName(t)
	c := newShare(t, cl.seeds, group, topic, map[string]string{sharegroup.DeliveryCountLimit: "2"},
		func(ctx context.Context, r *kgo.Record) error {
			switch string(r.Value) {
			case "7":
				return parallel.Permanent(errors.New("malformed"))
			case "11":
				return errors.New("always down")
			}
			s.add(r)
			return nil
		}, parallel.BrokerDeadLetter(dlq), parallel.MaxConcurrency(8), parallel.Observe(routes))
	dead := runDeadLettering(t, c, s, cl.seeds, dlq, n-2, 2)
	want := map[string]struct{ count, message string }{
		"7":  {"1", "Offset rejected by client."},
		"11": {"2", "Offset rejected by client."},
	}
	for _, r := range dead {
		w, ok := want[string(r.Value)]
		if !ok {
			t.Errorf("DLQ record with value %q, want 7 or 11 (payload copied)", r.Value)
			continue
		}
		delete(want, string(r.Value))
		off := parallel.Header(r, "__dlq.errors.offset")
		if parallel.Header(r, "__dlq.errors.topic") != topic || parallel.Header(r, "__dlq.errors.group") != group ||
			parallel.Header(r, "__dlq.errors.delivery.count") != w.count || parallel.Header(r, "__dlq.errors.message") != w.message {
			t.Errorf("DLQ record %q: headers %v, want topic %s, group %s, delivery count %s, message %q",
				r.Value, headers(r), topic, group, w.count, w.message)
		}
		if o, err := strconv.Atoi(off); err != nil || o < 0 || o >= n {
			t.Errorf("DLQ record %q: origin offset %q", r.Value, off)
		}
	}
	if st := c.Stats(); st.DeadLettered != 2 {
		t.Errorf("Stats.DeadLettered = %d, want 2", st.DeadLettered)
	}
	// An Observer sees every attempt end, the rejected ones as dead-lettered
	// (a tracer's span of such an attempt would otherwise never end).
	if started, ended, dead := routes.counts(); started != ended || dead != 2 {
		t.Errorf("Observer: %d attempts started, %d ended, %d ended RouteDeadLetter; want every start ended and 2 dead-lettered",
			started, ended, dead)
	}
	cfgs, err := sharegroup.Configs(ctx, testkit.Client(t, cl.seeds), group)
	if err != nil {
		t.Fatal(err)
	}
	if cfgs["errors.deadletterqueue.topic.name"] != dlq || cfgs["errors.deadletterqueue.copy.record.enable"] != "true" {
		t.Errorf("group configs after Run: topic %q copy %q, want %q and true",
			cfgs["errors.deadletterqueue.topic.name"], cfgs["errors.deadletterqueue.copy.record.enable"], dlq)
	}
}

// routeCounter is an Observer counting attempts started, ended, and ended
// with RouteDeadLetter.
type routeCounter struct {
	mu                  sync.Mutex
	started, ended, dlq int
}

func (o *routeCounter) AttemptStart(ctx context.Context, _ parallel.Attempt) context.Context {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.started++
	return ctx
}

func (o *routeCounter) Forward(context.Context, parallel.Attempt, *kgo.Record) {}

func (o *routeCounter) AttemptEnd(_ context.Context, a parallel.Attempt, _ error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ended++
	if a.Route == parallel.RouteDeadLetter {
		o.dlq++
	}
}

func (o *routeCounter) counts() (started, ended, dlq int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.started, o.ended, o.dlq
}

func headers(r *kgo.Record) map[string]string {
	h := map[string]string{}
	for _, x := range r.Headers {
		h[x.Key] = string(x.Value)
	}
	return h
}

const dlqEnable = "errors.deadletterqueue.group.enable"

// createTopic creates a one-partition topic with configs, deleted at cleanup.
func createTopic(t *testing.T, seeds []string, name string, configs map[string]*string) string {
	t.Helper()
	adm := testkit.Admin(t, seeds)
	resp, err := adm.CreateTopic(context.Background(), 1, 1, configs, name)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	t.Cleanup(func() { adm.DeleteTopics(context.Background(), name) })
	return name
}
