// Command member is one process of a consumer group as a deployment runs it:
// several copies, each its own static member, share a topic's partitions and
// process their records with parallel, until SIGTERM. It is the program that
// deploy/compose.consumers.yml runs three times against the 3-node cluster,
// and the shape of the application deploy/k8s describes.
//
// Settings come from flags or, as containers pass them, the environment:
//
//	KAFKA_BROKERS    --brokers       seed brokers
//	GROUP            --group         the consumer group
//	TOPIC            --topic         the topic to consume
//	INSTANCE_ID      --instance      static member id (default: POD_NAME, else the host name)
//	MAX_CONCURRENCY  --concurrency   handlers at once in this process
//	METRICS_ADDR     --listen        /metrics (Prometheus) and /healthz
//
// /healthz answers 503 when records are held but none completed for --stuck,
// the signal a liveness probe wants (a process that is up but stuck), and
// once Run has returned.
//
// With --produce N it is the load instead: it creates the topic with
// --partitions if missing, writes N keyed records and exits.
//
// On SIGTERM a member stops taking records, finishes and commits what it
// holds (parallel's Close), and prints how many records it processed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/examples/internal/demo"
	"github.com/kpar/kpar/parallel"
	"github.com/kpar/kpar/parallel/kprom"
)

// env returns the environment variable name, or def when it is unset.
func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func main() {
	host, _ := os.Hostname()
	conc, _ := strconv.Atoi(env("MAX_CONCURRENCY", "64"))
	var (
		group       = flag.String("group", env("GROUP", "kpar-members"), "the consumer group")
		topic       = flag.String("topic", env("TOPIC", "kpar-members"), "the topic to consume (or, with --produce, to write)")
		instance    = flag.String("instance", env("INSTANCE_ID", env("POD_NAME", host)), "static member id: a restarted member rejoins as itself, without a rebalance")
		concurrency = flag.Int("concurrency", conc, "handlers at once in this process")
		listen      = flag.String("listen", env("METRICS_ADDR", "127.0.0.1:0"), "address of /metrics and /healthz")
		stuck       = flag.Duration("stuck", 30*time.Second, "/healthz fails when held records make no progress this long")
		produce     = flag.Int("produce", -1, "be the load: create --topic if missing, write this many records, exit")
		partitions  = flag.Int("partitions", 6, "with --produce: the topic's partitions when it is created")
	)
	if v := os.Getenv("KAFKA_BROKERS"); v != "" {
		_ = flag.Set("brokers", v) // a --brokers on the command line still wins
	}
	demo.Main("member", demo.Load{Work: 5 * time.Millisecond}, func(ctx context.Context, l demo.Load) error {
		if *produce >= 0 {
			return load(ctx, *topic, *partitions, *produce)
		}
		return member(ctx, *group, *topic, *instance, *concurrency, l.Work, *listen, *stuck)
	})
}

// load creates topic unless it exists (and keeps it: members read it after
// this process is gone) and writes n records over 500 keys.
func load(ctx context.Context, topic string, partitions, n int) error {
	_ = flag.Set("keep", "true")
	if err := demo.CreateTopics(ctx, int32(partitions), topic); err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return err
	}
	if err := demo.Produce(ctx, topic, n, demo.Keyed("k", 500)); err != nil {
		return err
	}
	fmt.Printf("wrote %d records to %s\n", n, topic)
	return nil
}

func member(ctx context.Context, group, topic, instance string, conc int, work time.Duration, listen string, stuck time.Duration) error {
	var processed atomic.Int64
	c, err := parallel.New(func(ctx context.Context, r *kgo.Record) error {
		select {
		case <-time.After(work):
		case <-ctx.Done():
			return ctx.Err()
		}
		processed.Add(1)
		return nil
	},
		parallel.ClientOpts(kgo.SeedBrokers(demo.Brokers()...), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
			kgo.InstanceID(instance)),
		parallel.MaxConcurrency(conc),
	)
	if err != nil {
		return err
	}
	defer c.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(kprom.NewCollector(c))
	var running atomic.Bool
	running.Store(true)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("/healthz", health(c, &running, stuck))
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	defer srv.Close()
	fmt.Printf("member %s of group %s on %s; /metrics and /healthz on %s\n", instance, group, topic, ln.Addr())

	err = c.Run(ctx)
	running.Store(false)
	if errors.Is(err, context.Canceled) {
		err = nil // SIGTERM: Run finished and committed what it held
	}
	fmt.Printf("member %s: processed %d records\n", instance, processed.Load())
	return err
}

// health is /healthz from Stats: progress, not just "the process is up".
func health(c *parallel.Consumer, running *atomic.Bool, stuck time.Duration) http.HandlerFunc {
	var last atomic.Uint64
	var since atomic.Int64
	since.Store(time.Now().UnixNano())
	return func(w http.ResponseWriter, _ *http.Request) {
		s := c.Stats()
		if s.Completed != last.Swap(s.Completed) || s.Held == 0 {
			since.Store(time.Now().UnixNano())
		}
		idle := time.Since(time.Unix(0, since.Load()))
		switch {
		case !running.Load():
			http.Error(w, "stopped", http.StatusServiceUnavailable)
		case idle > stuck:
			http.Error(w, fmt.Sprintf("%d records held, none completed for %s", s.Held, idle.Round(time.Second)), http.StatusServiceUnavailable)
		default:
			fmt.Fprintf(w, "ok: %d completed, %d held\n", s.Completed, s.Held)
		}
	}
}
