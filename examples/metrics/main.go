// Command metrics serves the parallel consumer's Prometheus metrics on
// /metrics while it consumes: in-flight and queued records, completed,
// failed, retried and dead-lettered counts, paused partitions, commit
// latency and per-partition lag.
//
// It produces --records records into a fresh topic and consumes them with a
// handler that sleeps --work (1 in 50 records fails once and is retried in
// place). Scrape it meanwhile:
//
//	kpar broker up                      # 127.0.0.1:9092
//	go run ./examples/metrics           # or --brokers host:port,...
//	curl -s localhost:2112/metrics | grep kpar_parallel
//
// It runs until Ctrl-C, or for --duration, and at the end prints the
// kpar_parallel counters as scraped from its own endpoint. The topic is
// deleted at exit unless --keep.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/examples/internal/demo"
	"github.com/kpar/kpar/parallel"
	"github.com/kpar/kpar/parallel/kprom"
)

func main() {
	var (
		listen   = flag.String("listen", "127.0.0.1:2112", "address to serve /metrics on")
		duration = flag.Duration("duration", 0, "stop after this long (0: until Ctrl-C)")
	)
	demo.Main("metrics", demo.Load{Records: 50000, Work: 5 * time.Millisecond}, func(ctx context.Context, load demo.Load) error {
		if *duration > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, *duration)
			defer cancel()
		}
		return run(ctx, *listen, load)
	})
}

func run(ctx context.Context, listen string, load demo.Load) error {
	n, work := load.Records, load.Work
	load.Keys = 500 // the sample records' keys (no --keys flag here)
	topic, err := demo.Topic(ctx, "metrics", "k", load)
	if err != nil {
		return err
	}

	// A registry of our own keeps the example's output to the consumer's
	// metrics plus Go's; prometheus.DefaultRegisterer works the same way.
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector())
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/metrics"
	fmt.Printf("consuming %d records from %s; metrics on %s\n", n, topic, url)

	var failedOnce sync.Map // partition/offset of records that already failed
	handle := func(ctx context.Context, r *kgo.Record) error {
		time.Sleep(work)
		if r.Offset%50 == 7 {
			if _, again := failedOnce.LoadOrStore(fmt.Sprint(r.Partition, "/", r.Offset), true); !again {
				return errors.New("transient")
			}
		}
		return nil
	}
	c, err := parallel.New(handle,
		parallel.ClientOpts(kgo.SeedBrokers(demo.Brokers()...), kgo.ConsumerGroup(topic+"-group"), kgo.ConsumeTopics(topic)),
		parallel.MaxConcurrency(200),
		parallel.Retries(3, 5*time.Millisecond, 50*time.Millisecond),
	)
	if err != nil {
		return err
	}
	defer c.Close()
	col := kprom.NewCollector(c) // the collector lives in its own package: the core has no Prometheus
	reg.MustRegister(col)
	defer reg.Unregister(col)
	if err := c.Run(ctx); err != nil {
		return err
	}
	// Run has returned; the collector stays registered until the deferred Unregister.
	return printScrape(url)
}

// printScrape fetches url and prints the kpar_parallel counters and gauges.
func printScrape(url string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	fmt.Println("final scrape of", url+":")
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "kpar_parallel_") && !strings.Contains(line, "_bucket{") {
			fmt.Println("  " + line)
		}
	}
	return sc.Err()
}
