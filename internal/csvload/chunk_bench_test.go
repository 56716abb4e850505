package csvload

import (
	"bytes"
	"testing"

	"github.com/kpar/kpar/internal/datagen"
	"github.com/kpar/kpar/internal/proc"
)

// generated is the dataset `kpar gen csv` writes: rows of about 120 bytes.
func generated(b *testing.B, rows int) []byte {
	var buf bytes.Buffer
	if err := datagen.Write(&buf, datagen.Config{Rows: rows, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

var benchModes = []struct {
	name string
	opts []Opt
}{
	{"raw", nil},
	{"raw-keyed", []Opt{KeyColumn("customer_id")}},
	{"json", []Opt{Value(ValueJSON)}},
	{"json-keyed", []Opt{KeyColumn("customer_id"), Value(ValueJSON)}},
}

// BenchmarkLoadGeneratedCSV is the reader alone on 200,000 generated rows.
// Its records/s must be several times the producers' best rate; MB/s counts
// input bytes. all-cores is what kpar does; 1-worker shows the per-core
// speed apart from the split.
func BenchmarkLoadGeneratedCSV(b *testing.B) {
	data := generated(b, 200_000)
	for _, mode := range benchModes {
		for _, w := range []struct {
			name string
			n    int
		}{{"all-cores", 0}, {"1-worker", 1}} {
			b.Run(mode.name+"/"+w.name, func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				rows := 0
				opts := append(mode.opts[:len(mode.opts):len(mode.opts)], withWorkers(w.n))
				b.ReportAllocs()
				cpu := proc.SelfCPU()
				for b.Loop() {
					d, err := Parse(data, "g.csv", opts...)
					if err != nil {
						b.Fatal(err)
					}
					rows += d.Len()
				}
				b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "records/s")
				// The process's CPU per op: steadier than ns/op on a shared
				// machine, and the all-cores figure counts every worker.
				b.ReportMetric((proc.SelfCPU()-cpu)*1e9/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// BenchmarkParseChunk is one chunk of 20,000 generated rows parsed into
// records on one goroutine, as each worker of Parse does: one op is one
// record, so ns/op and allocs/op are per record.
func BenchmarkParseChunk(b *testing.B) {
	data := generated(b, 20_000)
	for _, mode := range benchModes {
		b.Run(mode.name, func(b *testing.B) {
			_, s, p, err := prepare(data, "g.csv", newCfg(mode.opts))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(s.buf)-p.pos) / 20_000)
			rows := 0
			for rows < b.N {
				ch := s.parseChunk(p.pos, len(s.buf), min(20_000, b.N-rows))
				if len(ch.values) == 0 {
					b.Fatal("no rows parsed")
				}
				rows += len(ch.values)
			}
		})
	}
}
