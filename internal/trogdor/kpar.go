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
)

var (
	acks   = map[string]kgo.Acks{"0": kgo.NoAck(), "1": kgo.LeaderAck(), "all": kgo.AllISRAcks()}
	codecs = map[string]kgo.CompressionCodec{"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(),
		"snappy": kgo.SnappyCompression(), "lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression()}
)

// kgoOpts are the settings as franz-go options, matching ProducerConf: the
// same acks, idempotence, linger, batch size, compression and requests in
// flight; null keys go through franz-go's default partitioner
// (UniformBytes, KIP-794), as they go through Java's built-in one.
func (s Settings) kgoOpts() []kgo.Opt {
	o := []kgo.Opt{kgo.RequiredAcks(acks[s.Acks]), kgo.ProducerBatchCompression(codecs[s.Compression]),
		kgo.ProducerLinger(s.Linger), kgo.ProducerBatchMaxBytes(int32(s.BatchBytes))}
	if !s.Idempotence {
		o = append(o, kgo.DisableIdempotentWrite(), kgo.MaxProduceRequestsInflightPerBroker(s.MaxInFlight))
	}
	return o
}

// runKpar is the calibration: one franz-go producer in this process sends
// cfg.Records random values of the same size to the same topic, at the
// same per-agent rate cap, timed from client creation to close as
// Trogdor's worker is.
func runKpar(ctx context.Context, adm *kadm.Client, cfg Config) (KparRun, error) {
	before, err := endOffsets(ctx, adm, cfg.Topic)
	if err != nil {
		return KparRun{}, err
	}
	s := cfg.Settings
	// Made before the clock starts: generating them is not the producer's work.
	pool := randomValues(cfg.Seed, s.RecordBytes)
	lat := make([]float64, 0, cfg.Records)
	var mu sync.Mutex
	var firstErr error
	start := time.Now()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(cfg.Brokers...), kgo.DefaultProduceTopic(cfg.Topic)}, s.kgoOpts()...)...)
	if err != nil {
		return KparRun{}, err
	}
	// Trogdor's throttle: a quota per 100 ms period.
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
	ms := time.Since(start).Milliseconds()
	if err := ctx.Err(); err != nil {
		return KparRun{}, err
	}
	if firstErr != nil {
		return KparRun{}, fmt.Errorf("calibration producer: %w", firstErr)
	}
	after, err := endOffsets(ctx, adm, cfg.Topic)
	if err != nil {
		return KparRun{}, err
	}
	acked := int64(len(lat))
	k := KparRun{Records: acked, Written: after - before, Ms: ms, RecordsPerSec: rate(acked, ms)}
	k.MBPerSec = k.RecordsPerSec * float64(s.RecordBytes) / 1e6
	slices.Sort(lat)
	var sum float64
	for _, v := range lat {
		sum += v
	}
	k.AvgLatencyMs = sum / float64(max(1, acked))
	k.P50LatencyMs, k.P95LatencyMs, k.P99LatencyMs = pct(lat, 0.50), pct(lat, 0.95), pct(lat, 0.99)
	return k, nil
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

// pct is the nearest-rank percentile of sorted v.
func pct(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	i := int(p*float64(len(v))+0.5) - 1
	return v[min(max(i, 0), len(v)-1)]
}
