package produce

import (
	"bytes"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/csvload"
	"github.com/kpar/kpar/internal/datagen"
)

// BenchmarkRecordBuild is the producer's per-record work apart from the
// client: a record taken from the pool and filled as run fills it,
// then its delivery report counted as promise counts it (the histogram
// included) and the wrapper put back. One op is one record.
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
	topics := []string{"a", "b"}
	rep := newReports(func(int64) {})
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		br := rep.pool.Get().(*benchRecord)
		k := i % len(sl.values)
		br.Value, br.Key = sl.values[k], sl.keys[k]
		br.Topic = topics[i%len(topics)]
		br.start = time.Now()
		rep.promise(&br.Record, nil)
		i++
	}
	if rep.acked.Load() != int64(i) {
		b.Fatalf("acked %d of %d", rep.acked.Load(), i)
	}
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
