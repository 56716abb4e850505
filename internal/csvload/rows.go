package csvload

import (
	"bytes"
	"fmt"
)

// shape is what reading a data row needs to know about the file.
type shape struct {
	buf      []byte // without the BOM
	file     string
	nfields  int
	keyIdx   int // -1: no key
	value    ValueMode
	skipBad  bool
	jsonKeys [][]byte // `"column":` per column, for ValueJSON
	jsonLen  int      // sum of len(jsonKeys)
}

// parseRows parses the data rows from p's position into d until limit good
// rows (limit <= 0: no limit). The slices are sized once from the line
// count, and JSON values share an arena sized from the input.
func (s *shape) parseRows(d *Dataset, p *parser, limit int) error {
	lines := bytes.Count(s.buf[p.pos:], []byte{'\n'}) + 1
	est := lines
	if limit > 0 {
		est = min(est, limit)
	}
	d.Values = make([][]byte, 0, est)
	if s.keyIdx >= 0 {
		d.Keys = make([][]byte, 0, est)
	}
	var a arena
	if s.value == ValueJSON {
		// The raw bytes, the column names and quotes: enough unless fields
		// need escaping, and then the arena grows.
		a.size = est*((len(s.buf)-p.pos)/lines+1+s.jsonLen+2*s.nfields+2) + 4096
	}
	for limit <= 0 || len(d.Values) < limit {
		p.skipBlank()
		if p.pos >= len(s.buf) {
			break
		}
		key, val, err := s.row(p, &a)
		if err != nil {
			if !s.skipBad {
				return err
			}
			if d.Skipped++; len(d.FirstBad) < maxFirstBad {
				d.FirstBad = append(d.FirstBad, err.Error())
			}
			continue
		}
		if s.keyIdx >= 0 {
			d.Keys = append(d.Keys, key)
		}
		d.Values = append(d.Values, val)
		d.Bytes += int64(len(key) + len(val))
	}
	d.Lines = p.line
	return nil
}

// row parses the row at p's position into its key and value (ValueJSON:
// an object of the fields); a ragged row is a *RowError like a malformed one.
func (s *shape) row(p *parser, a *arena) (key, val []byte, err error) {
	n, raw, key, copied, line, err := p.scan(s.keyIdx, s.value == ValueJSON)
	if err != nil {
		return nil, nil, err
	}
	if n != s.nfields {
		return nil, nil, s.ragged(line, n)
	}
	if copied { // the key is in scratch, which the next row reuses
		key = a.copy(key)
	}
	if s.value == ValueJSON {
		raw = s.appendJSON(a, p.fields)
	}
	return key, raw, nil
}

func (s *shape) ragged(line, n int) error {
	return &RowError{File: s.file, Line: line, Msg: fmt.Sprintf("row has %d fields, the header has %d", n, s.nfields)}
}

// arena hands out slices of large blocks instead of one allocation per
// value; a block is never moved, so earlier slices stay valid.
type arena struct {
	buf  []byte
	size int // first block size; 0: 64 KiB
}

// room returns an empty slice with at least n bytes of capacity.
func (a *arena) room(n int) []byte {
	if cap(a.buf)-len(a.buf) < n {
		size := a.size
		if size == 0 {
			size = 64 << 10
		}
		a.size = 1 << 20 // later blocks: the estimate was short
		if n > size {
			size = n
		}
		a.buf = make([]byte, 0, size)
	}
	return a.buf[len(a.buf):len(a.buf)]
}

// commit keeps b, which was appended to a slice from room.
func (a *arena) commit(b []byte) []byte {
	if cap(b) == cap(a.buf)-len(a.buf) { // append stayed inside the block
		a.buf = a.buf[:len(a.buf)+len(b)]
	}
	return b[:len(b):len(b)]
}

func (a *arena) copy(f []byte) []byte { return a.commit(append(a.room(len(f)), f...)) }

func (s *shape) appendJSON(a *arena, fields [][]byte) []byte {
	n := 2 + s.jsonLen + len(fields)
	for _, f := range fields {
		n += len(f) + 2
	}
	b := a.room(n + n/8)
	b = append(b, '{')
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, s.jsonKeys[i]...)
		b = appendJSONString(b, f)
	}
	b = append(b, '}')
	return a.commit(b)
}
