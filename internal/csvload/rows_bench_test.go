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
// input bytes.
func BenchmarkLoadGeneratedCSV(b *testing.B) {
	data := generated(b, 200_000)
	for _, mode := range benchModes {
		b.Run(mode.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			rows := 0
			b.ReportAllocs()
			cpu := proc.SelfCPU()
			for b.Loop() {
				d, err := Parse(data, "g.csv", mode.opts...)
				if err != nil {
					b.Fatal(err)
				}
				rows += d.Len()
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "records/s")
			// The process's CPU per op: steadier than ns/op on a shared machine.
			b.ReportMetric((proc.SelfCPU()-cpu)*1e9/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkParseRows is 20,000 generated rows parsed into records: one op
// is one record, so ns/op and allocs/op are per record.
func BenchmarkParseRows(b *testing.B) {
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
				d, q := &Dataset{}, *p
				if err := s.parseRows(d, &q, min(20_000, b.N-rows)); err != nil || d.Len() == 0 {
					b.Fatalf("no rows parsed: %v", err)
				}
				rows += d.Len()
			}
		})
	}
}
