package produce

import (
	"bytes"
	"testing"

	"github.com/kpar/kpar/internal/csvload"
	"github.com/kpar/kpar/internal/datagen"
	"github.com/kpar/kpar/internal/proc"
	"github.com/twmb/franz-go/pkg/kgo"
)

// recordBenchBatch is how many delivery reports the promise-goroutine case
// hands over at once, as kgo hands the promise goroutine a batch's records.
const recordBenchBatch = 256

// BenchmarkRecordBuild is the producer's per-record work apart from the
// client: a record filled and stamped as run does, then its delivery
// report counted as promise counts it (the histogram included) and the
// wrapper handed back. One op is one record. one-goroutine does both on
// the benchmark's goroutine; promise-goroutine counts the reports on a
// second goroutine in batches, as kgo's promise goroutine does, so the
// wrappers cross goroutines as in a real run.
func BenchmarkRecordBuild(b *testing.B) {
	var buf bytes.Buffer
	if err := datagen.Write(&buf, datagen.Config{Rows: 10_000, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	d, err := csvload.Parse(buf.Bytes(), "g.csv", csvload.KeyColumn("customer_id"))
	if err != nil {
		b.Fatal(err)
	}
	sl := slice{keys: d.Keys, values: d.Values}
	s := Settings{Topics: []string{"a", "b"}, Partitioner: "uniform-bytes"}
	b.Run("one-goroutine", func(b *testing.B) {
		rep := newReports(func(int64) {}, &wireCounter{})
		b.ReportAllocs()
		defer reportCPU(b, proc.SelfCPU())
		i := 0
		for b.Loop() {
			if i%recordBenchBatch == 0 { // a response read
				rep.wire.mark()
			}
			rep.promise(buildRecord(rep, sl, i%len(sl.values), s), nil)
			i++
		}
		if rep.acked.Load() != int64(i) {
			b.Fatalf("acked %d of %d", rep.acked.Load(), i)
		}
	})
	b.Run("promise-goroutine", func(b *testing.B) {
		rep := newReports(func(int64) {}, &wireCounter{})
		batches, free := make(chan []*kgo.Record, 64), make(chan []*kgo.Record, 64)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for batch := range batches {
				rep.wire.mark() // the response that acknowledged the batch
				for _, r := range batch {
					rep.promise(r, nil)
				}
				select {
				case free <- batch[:0]:
				default:
				}
			}
		}()
		b.ReportAllocs()
		defer reportCPU(b, proc.SelfCPU())
		i, batch := 0, make([]*kgo.Record, 0, recordBenchBatch)
		for b.Loop() {
			if batch = append(batch, buildRecord(rep, sl, i%len(sl.values), s)); len(batch) == recordBenchBatch {
				batches <- batch
				select {
				case batch = <-free:
				default:
					batch = make([]*kgo.Record, 0, recordBenchBatch)
				}
			}
			i++
		}
		batches <- batch
		close(batches)
		<-done
		if rep.acked.Load() != int64(i) {
			b.Fatalf("acked %d of %d", rep.acked.Load(), i)
		}
	})
}

// reportCPU adds the process's CPU time per op since cpu: on a shared
// machine, where ns/op counts the time other processes hold the cores, it
// is the steadier figure of the work done.
func reportCPU(b *testing.B, cpu float64) {
	b.ReportMetric((proc.SelfCPU()-cpu)*1e9/float64(b.N), "cpu-ns/op")
}

// buildRecord is record i of sl (keyed) as run builds it.
func buildRecord(rep *reports, sl slice, i int, s Settings) *kgo.Record {
	return &rep.next(sl.keys[i], sl.values[i], i, s, nil).Record
}

// BenchmarkSized builds the 1 KB values of a record-size step from the
// 10,000 rows of the dataset; one op is the whole dataset, ns/record and
// allocs beside it.
func BenchmarkSized(b *testing.B) {
	var buf bytes.Buffer
	if err := datagen.Write(&buf, datagen.Config{Rows: 10_000, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	d, err := csvload.Parse(buf.Bytes(), "g.csv")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if s := sized(d, 1024); s.Len() != d.Len() {
			b.Fatalf("%d values of %d", s.Len(), d.Len())
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*d.Len()), "ns/record")
}

// BenchmarkPayloadLines reads a payload file of 100,000 generated rows as
// the anchor worker does (payloadLines); one op is the whole file,
// ns/record and allocs beside it.
func BenchmarkPayloadLines(b *testing.B) {
	var buf bytes.Buffer
	if err := datagen.Write(&buf, datagen.Config{Rows: 100_000, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	file := buf.Bytes()[bytes.IndexByte(buf.Bytes(), '\n')+1:] // the rows, without the header
	b.ReportAllocs()
	defer reportCPU(b, proc.SelfCPU())
	n := 0
	for b.Loop() {
		n = 0
		if err := payloadLines(bytes.NewReader(file), "p.txt")(func(_, _ []byte) bool { n++; return true }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
}
