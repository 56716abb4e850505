package csvload

import (
	"bytes"
	"testing"

	"github.com/kpar/kpar/internal/datagen"
)

// BenchmarkParseChunk is one chunk of the generated dataset (20,000 rows of
// about 120 bytes) parsed into records on one goroutine, as each worker of
// Parse does: one op is one record, so ns/op and allocs/op are per record.
func BenchmarkParseChunk(b *testing.B) {
	var buf bytes.Buffer
	if err := datagen.Write(&buf, datagen.Config{Rows: 20_000, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	for _, mode := range []struct {
		name string
		opts []Opt
	}{
		{"raw", nil},
		{"raw-keyed", []Opt{KeyColumn("customer_id")}},
		{"json-keyed", []Opt{KeyColumn("customer_id"), Value(ValueJSON)}},
	} {
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
