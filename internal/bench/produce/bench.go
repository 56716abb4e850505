package produce

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kpar/kpar/internal/csvload"
	"github.com/kpar/kpar/internal/kafka"
	"github.com/kpar/kpar/internal/proc"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// bench runs sweep steps against one cluster with one dataset.
type bench struct {
	seeds      []string
	clientOpts []kgo.Opt // TLS, SASL
	data       *csvload.Dataset
	sized      map[int]*csvload.Dataset // data at each swept record size
	// settle is how long end offsets must stay put to count as final:
	// longer than a follower's fetch wait (replica.fetch.wait.max.ms,
	// 500 ms) when topics have replicas.
	settle    time.Duration
	brokerCPU BrokerCPU   // nil: the broker's CPU is unknown
	progress  func(int64) // told how many delivery reports arrived, in chunks (nil: nobody)
	// worker starts one worker process (see RunWorker), which loads src
	// itself, so it reads the same records as this process.
	worker proc.Starter
	src    Source
	admCl  *kgo.Client
	adm    *kadm.Client
}

// newBench makes a bench on seeds over data; worker may be nil (no
// process mode).
func newBench(seeds []string, clientOpts []kgo.Opt, data *csvload.Dataset, worker proc.Starter, src Source, brokerCPU BrokerCPU, progress func(int64)) (*bench, error) {
	b := &bench{seeds: seeds, clientOpts: clientOpts, data: data, sized: map[int]*csvload.Dataset{}, settle: 100 * time.Millisecond,
		brokerCPU: brokerCPU, progress: progress, worker: worker, src: src}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(seeds...), kgo.DialTimeout(dialTimeout)}, clientOpts...)...)
	if err != nil {
		return nil, err
	}
	b.admCl, b.adm = cl, kadm.NewClient(cl)
	return b, nil
}

// Close releases the admin client.
func (b *bench) Close() { b.admCl.Close() }

// dataset is the input at record size size (0: as loaded), made once.
func (b *bench) dataset(size int) *csvload.Dataset {
	if size <= 0 {
		return b.data
	}
	if b.sized[size] == nil {
		b.sized[size] = sized(b.data, size)
	}
	return b.sized[size]
}

// EnsureTopics creates the topics that do not exist with partitions
// partitions and replication factor rf, and returns every topic's
// partition count, which may differ for topics that already existed.
func (b *bench) EnsureTopics(ctx context.Context, topics []string, partitions, rf int) (map[string]int, error) {
	specs := make([]kafka.Topic, len(topics))
	for i, t := range topics {
		specs[i] = kafka.Topic{Name: t, Partitions: partitions, RF: rf}
	}
	return kafka.Create(ctx, b.adm, specs, kafka.Existing(), kafka.Wait(0))
}

// endOffsets sums the end offsets of topics once they held still for
// b.settle (kafka.Settle: under acks=0 the broker may still be appending,
// and with replicas the high watermark waits for the followers), waiting
// at most ~6s before it takes them as they are.
func (b *bench) endOffsets(ctx context.Context, topics []string) (int64, error) {
	ends, err := kafka.Settle(ctx, b.adm, topics, b.settle, 6*time.Second)
	if errors.Is(err, kafka.ErrUnsettled) {
		err = nil
	}
	if err != nil {
		err = fmt.Errorf("%w (broker %s)", err, strings.Join(b.seeds, ","))
	}
	return ends.Sum(), err
}

// point is one sweep point request.
type point struct {
	Settings   Settings
	Partitions map[string]int // per topic, for the manual partitioner
	Producers  int
	Processes  bool // one OS process per producer
	Limit      int  // use only the first Limit records (0: all)
	RecordSize int  // value bytes (0: the rows as they are)
}

// Step runs one sweep point once.
func (b *bench) Step(ctx context.Context, r point) (Step, error) {
	n := b.data.Len()
	if r.Limit > 0 && r.Limit < n {
		n = r.Limit
	}
	if n < r.Producers {
		return Step{}, fmt.Errorf("%d records cannot feed %d producers", n, r.Producers)
	}
	before, err := b.endOffsets(ctx, r.Settings.Topics)
	if err != nil {
		return Step{}, err
	}
	win := &window{brokerCPU: b.brokerCPU}
	run, mode := b.inProcess, "in-process"
	if r.Processes {
		run, mode = b.workers, "processes"
	}
	samples, wall, err := run(ctx, r, n, win)
	if err != nil {
		return Step{}, err
	}
	// The bench's CPU: the workers' own, summed, or this process's.
	st := aggregate(r.Producers, mode, samples, wall)
	win.start.into(&st, win.end)
	if !r.Processes {
		st.BenchCPUSeconds = win.end.self - win.start.self
	}
	after, err := b.endOffsets(ctx, r.Settings.Topics)
	if err != nil {
		return Step{}, err
	}
	st.ReachedTopic = after - before
	st.RepeatRecordsPerSec = []float64{st.RecordsPerSec}
	return st, nil
}

// Repeat runs r repeat times and returns the run with the median records/s,
// carrying every repeat's rate.
func (b *bench) Repeat(ctx context.Context, r point, repeat int) (Step, error) {
	steps := make([]Step, max(1, repeat))
	rates := make([]float64, len(steps))
	for i := range steps {
		st, err := b.Step(ctx, r)
		if err != nil {
			return Step{}, err
		}
		steps[i], rates[i] = st, st.RecordsPerSec
	}
	med := medianBy(steps, func(s Step) float64 { return s.RecordsPerSec })
	med.RepeatRecordsPerSec = rates
	return med, nil
}

// medianBy is the median of xs by key, the lower one of an even count; it
// sorts xs.
func medianBy[T any](xs []T, key func(T) float64) T {
	sort.SliceStable(xs, func(i, j int) bool { return key(xs[i]) < key(xs[j]) })
	return xs[(len(xs)-1)/2]
}

// part is producer i's contiguous slice of parts of the first n records.
func part(data *csvload.Dataset, n, i, parts int) slice {
	lo, hi := n*i/parts, n*(i+1)/parts
	sl := slice{values: data.Values[lo:hi]}
	if data.Keys != nil {
		sl.keys = data.Keys[lo:hi]
	}
	return sl
}

// inProcess runs r.Producers clients in this process, each on its own
// contiguous slice of the first n records.
func (b *bench) inProcess(ctx context.Context, r point, n int, win *window) ([]Sample, time.Duration, error) {
	ps := make([]*producer, r.Producers)
	defer func() {
		for _, p := range ps {
			if p != nil {
				p.close()
			}
		}
	}()
	for i := range ps {
		p, err := newProducer(b.seeds, r.Settings, b.clientOpts...)
		if err != nil {
			return nil, 0, err
		}
		ps[i] = p
	}
	samples := make([]Sample, r.Producers)
	data := b.dataset(r.RecordSize)
	var wg sync.WaitGroup
	win.begin()
	start := time.Now()
	for i, p := range ps {
		wg.Go(func() {
			// A slice of the loaded dataset never fails to give its records.
			samples[i], _ = p.run(ctx, i, part(data, n, i, r.Producers).records, r.Settings, r.Partitions, b.progress)
		})
	}
	wg.Wait()
	wall := time.Since(start)
	win.stop()
	if r.Settings.NoFlush {
		for i, p := range ps {
			p.close()
			ps[i] = nil
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	return samples, wall, nil
}

// window takes readings around exactly the measured interval (not client
// start-up, worker loading or end-offset polling), so CPU seconds divided
// by the step's elapsed time are cores actually busy.
type window struct {
	brokerCPU  BrokerCPU
	start, end reading
}

func (w *window) begin() { w.start = read(w.brokerCPU) }

func (w *window) stop() { w.end = read(w.brokerCPU) }
