package kprom_test

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/parallel"
	"github.com/kpar/kpar/parallel/kprom"
)

// Metrics: register the consumer's collector on the registry you serve
// (here a private one; use prometheus.DefaultRegisterer and
// promhttp.Handler() for /metrics) and unregister it when the consumer is
// closed. This runs on kfake, franz-go's in-process Kafka.
func ExampleNewCollector() {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "events"))
	if err != nil {
		panic(err)
	}
	defer cluster.Close()
	seeds := cluster.ListenAddrs()
	prod, _ := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.DefaultProduceTopic("events"))
	for _, v := range []string{"a", "b", "c", "d", "e"} {
		prod.ProduceSync(context.Background(), &kgo.Record{Key: []byte(v), Value: []byte(v)})
	}
	prod.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var n atomic.Int32
	c, err := parallel.New(func(ctx context.Context, r *kgo.Record) error {
		if n.Add(1) == 5 {
			cancel()
		}
		return nil
	}, parallel.ClientOpts(kgo.SeedBrokers(seeds...), kgo.ConsumerGroup("audit"), kgo.ConsumeTopics("events")))
	if err != nil {
		fmt.Println(err)
		return
	}
	reg := prometheus.NewPedanticRegistry()
	col := kprom.NewCollector(c)
	reg.MustRegister(col)
	defer reg.Unregister(col)

	if err := c.Run(ctx); err != nil { // Run has drained every handler when it returns
		fmt.Println("run:", err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		fmt.Println(err)
	}
	for _, mf := range mfs {
		switch mf.GetName() {
		case "kpar_parallel_records_completed_total", "kpar_parallel_records_dead_lettered_total", "kpar_parallel_records_in_flight":
			v := mf.GetMetric()[0]
			fmt.Println(mf.GetName(), v.GetCounter().GetValue()+v.GetGauge().GetValue())
		case "kpar_parallel_commit_seconds":
			fmt.Println(mf.GetName(), "has samples:", mf.GetMetric()[0].GetHistogram().GetSampleCount() > 0)
		}
	}
	// Output:
	// kpar_parallel_commit_seconds has samples: true
	// kpar_parallel_records_completed_total 5
	// kpar_parallel_records_dead_lettered_total 0
	// kpar_parallel_records_in_flight 0
}
