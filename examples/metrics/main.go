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
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/parallel"
	"github.com/kpar/kpar/parallel/kprom"
)

func main() {
	var (
		brokers  = flag.String("brokers", "127.0.0.1:9092", "comma-separated seed brokers")
		listen   = flag.String("listen", "127.0.0.1:2112", "address to serve /metrics on")
		records  = flag.Int("records", 50000, "records to produce")
		work     = flag.Duration("work", 5*time.Millisecond, "simulated I/O per record")
		duration = flag.Duration("duration", 0, "stop after this long (0: until Ctrl-C)")
		keep     = flag.Bool("keep", false, "keep the topic at exit")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	if err := run(ctx, strings.Split(*brokers, ","), *listen, *records, *work, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "metrics:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, seeds []string, listen string, n int, work time.Duration, keep bool) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	topic := fmt.Sprintf("kpar-example-metrics-%d", time.Now().UnixNano())
	if _, err := adm.CreateTopic(ctx, 6, -1, nil, topic); err != nil {
		return fmt.Errorf("create topic: %w", err)
	}
	if !keep {
		defer adm.DeleteTopics(context.Background(), topic)
	}
	rs := make([]*kgo.Record, n)
	for i := range rs {
		rs[i] = &kgo.Record{Topic: topic, Key: []byte("k" + strconv.Itoa(i%500)), Value: []byte(strconv.Itoa(i))}
	}
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		return fmt.Errorf("produce: %w", err)
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
		parallel.ClientOpts(kgo.SeedBrokers(seeds...), kgo.ConsumerGroup(topic+"-group"), kgo.ConsumeTopics(topic)),
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
