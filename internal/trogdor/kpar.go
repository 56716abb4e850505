package trogdor

import (
	"context"
	"fmt"
	"math/rand"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/clock"
	"github.com/kpar/kpar/internal/kafka"
)

// kgoOpts are the settings as franz-go options, matching ProducerConf: the
// same acks, idempotence, linger, batch size, compression and requests in
// flight; null keys go through franz-go's default partitioner
// (UniformBytes, KIP-794), as they go through Java's built-in one.
func (s Settings) kgoOpts() []kgo.Opt {
	o := []kgo.Opt{kgo.RequiredAcks(kafka.Acks[s.Acks]), kgo.ProducerBatchCompression(kafka.Codecs[s.Compression]),
		kgo.ProducerLinger(s.Linger), kgo.ProducerBatchMaxBytes(int32(s.BatchBytes))}
	if !s.Idempotence {
		o = append(o, kgo.DisableIdempotentWrite(), kgo.MaxProduceRequestsInflightPerBroker(s.MaxInFlight))
	}
	return o
}

// runKpar is the in-process side of an n-agent produce step: n franz-go
// producers in this process, each its own client sending cfg.Records
// random values of the same size to the same topic at the same per-agent
// rate cap, timed from the first client's creation to the last one's
// close, as Trogdor's worker is. With n = 1 it is the calibration.
func runKpar(ctx context.Context, adm *kadm.Client, cfg Config, n int) (KparRun, error) {
	before, err := endOffsets(ctx, adm, cfg.Topic)
	if err != nil {
		return KparRun{}, err
	}
	// Made before the clock starts: generating them is not the producer's work.
	pool := randomValues(cfg.Seed, cfg.Settings.RecordBytes)
	var mu sync.Mutex
	lat := make([]float64, 0, int64(n)*cfg.Records)
	ms, err := inProcess(ctx, n, func(ctx context.Context, _ int) error {
		l, err := produceOne(ctx, cfg, pool)
		mu.Lock()
		defer mu.Unlock()
		lat = append(lat, l...)
		return err
	})
	if cerr := ctx.Err(); cerr != nil {
		return KparRun{}, cerr
	}
	if err != nil {
		return KparRun{}, fmt.Errorf("in-process producer: %w", err)
	}
	after, err := endOffsets(ctx, adm, cfg.Topic)
	if err != nil {
		return KparRun{}, err
	}
	k := newKparRun(n, int64(len(lat)), ms, cfg.Settings.RecordBytes)
	k.Written = after - before
	slices.Sort(lat)
	var sum float64
	for _, v := range lat {
		sum += v
	}
	k.Latency = &Latency{AvgMs: sum / float64(max(1, k.Records)), P50Ms: clock.Percentile(lat, 0.50),
		P95Ms: clock.Percentile(lat, 0.95), P99Ms: clock.Percentile(lat, 0.99)}
	return k, nil
}

// produceOne is one in-process producer: its own client, cfg.Records
// records, Trogdor's throttle (a quota per 100 ms period); it returns each
// acknowledged record's latency in ms.
func produceOne(ctx context.Context, cfg Config, pool [][]byte) ([]float64, error) {
	s := cfg.Settings
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(cfg.Brokers...), kgo.DefaultProduceTopic(cfg.Topic)}, s.kgoOpts()...)...)
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	var firstErr error
	lat := make([]float64, 0, cfg.Records)
	tick, perTick := time.NewTicker(100*time.Millisecond), max(1, int64(s.Rate)/10)
	defer tick.Stop()
	for i := int64(0); i < cfg.Records; i++ {
		if s.Rate > 0 && i > 0 && i%perTick == 0 {
			select {
			case <-tick.C:
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		sent := time.Now()
		cl.Produce(ctx, &kgo.Record{Value: pool[i%int64(len(pool))]}, func(_ *kgo.Record, err error) {
			d := float64(time.Since(sent).Microseconds()) / 1000
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				lat = append(lat, d)
			} else if firstErr == nil {
				firstErr = err
			}
		})
	}
	_ = cl.Flush(ctx)
	cl.Close()
	return lat, firstErr
}

// inProcess runs f(0), ..., f(n-1) at once, one in-process client each,
// and returns the ms from the first start to the last return and the first
// error, which ends the others' context.
func inProcess(ctx context.Context, n int, f func(ctx context.Context, i int) error) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, n)
	start := time.Now()
	for i := range n {
		go func() { errs <- f(ctx, i) }()
	}
	var first error
	for range n {
		if err := <-errs; err != nil && first == nil {
			first = err
			cancel()
		}
	}
	return time.Since(start).Milliseconds(), first
}

// newKparRun is n in-process clients' figures for records in ms.
func newKparRun(n int, records, ms int64, recordBytes int) KparRun {
	k := KparRun{Clients: n, Records: records, Ms: ms, RecordsPerSec: rate(records, ms)}
	k.MBPerSec = k.RecordsPerSec * float64(recordBytes) / 1e6
	return k
}

// randomValues is a pool of 1024 random values of size bytes from seed.
func randomValues(seed int64, size int) [][]byte {
	rng := rand.New(rand.NewSource(seed))
	pool := make([][]byte, 1024)
	for i := range pool {
		pool[i] = make([]byte, size)
		rng.Read(pool[i])
	}
	return pool
}
