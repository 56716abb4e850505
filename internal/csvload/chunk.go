package csvload

import (
	"bytes"
	"fmt"
	"runtime"
	"sync"
)

// Parallel parsing. The data rows are cut into one chunk per worker at line
// starts, without knowing whether a cut falls inside a quoted field, and
// every chunk is parsed on its own goroutine as if a row started there. The
// chunks are then joined in file order, and a chunk is only used if the
// chunk before it ended exactly where it began: the parser's whole state
// between rows is its position (line numbers are kept relative to the chunk
// and shifted when joining), so a chunk that begins where the sequential
// parser would be gives exactly the sequential parser's rows and errors. A
// chunk whose guess was wrong (a quoted line break across the cut) is parsed
// again from where the one before really ended. The --records limit and the
// first error are applied while joining, in file order, so both are exactly
// what one sequential pass gives.

// minChunk keeps small inputs on one goroutine: below it the start-up cost
// of a goroutine and of joining is more than what the split saves.
const minChunk = 1 << 20

// shape is what every chunk needs to know about the file.
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

// chunk is the result of parsing the rows that start in [from, stop).
type chunk struct {
	from, stop int
	end        int // parser position after the chunk (a row start or EOF)
	lines      int // line breaks in [from, end)
	keys       [][]byte
	values     [][]byte
	bytes      int64
	skipped    int
	firstBad   []*RowError // Line relative to from (0 = the line at from)
	failed     bool        // stopped at firstBad[0] (not skipBad)
	maxGood    int         // the row limit it was parsed with (<= 0: none)
	// into is the shared slices the chunk's rows were parsed into (see
	// parseSpan); nil when it allocated its own.
	into *rows
}

// rows is one allocation for the records of several chunks, each chunk
// given its own region, so chunks that fill their regions back to back
// join without a copy.
type rows struct{ keys, values [][]byte }

// parseChunk parses rows starting in [from, stop) until maxGood good rows
// (maxGood <= 0: no limit) into slices of its own. from must be a row start
// or blank-line start.
func (s *shape) parseChunk(from, stop, maxGood int) *chunk {
	n := s.rowsAtMost(from, stop)
	if maxGood > 0 {
		n = min(n, maxGood)
	}
	c := &chunk{from: from, stop: stop, maxGood: maxGood, values: make([][]byte, 0, n)}
	if s.keyIdx >= 0 {
		c.keys = make([][]byte, 0, n)
	}
	return s.fill(c)
}

// rowsAtMost bounds the rows that start in [from, stop): one per line
// break, as stop is a line start, plus one when the data ends there
// without a line break.
func (s *shape) rowsAtMost(from, stop int) int {
	stop = max(from, min(stop, len(s.buf)))
	n := bytes.Count(s.buf[from:stop], []byte{'\n'})
	if stop == from || s.buf[stop-1] != '\n' {
		n++
	}
	return n
}

// parseInto parses the rows starting in [from, stop) into the region
// [at, at+n) of into. The region is capped, so a chunk with more rows than
// n (impossible by rowsAtMost) would only move to a slice of its own.
func (s *shape) parseInto(from, stop int, into *rows, at, n int) *chunk {
	c := &chunk{from: from, stop: stop, into: into, values: into.values[at : at : at+n]}
	if into.keys != nil {
		c.keys = into.keys[at : at : at+n]
	}
	return s.fill(c)
}

// fill parses c's rows into its slices, until c.maxGood good rows.
func (s *shape) fill(c *chunk) *chunk {
	from, stop, maxGood := c.from, c.stop, c.maxGood
	p := &parser{buf: s.buf, pos: from, file: s.file}
	est := cap(c.values)
	var a arena
	if s.value == ValueJSON {
		// The raw bytes, the column names and quotes: enough unless fields
		// need escaping, and then the arena grows.
		a.size = (stop - from) + est*(s.jsonLen+2*s.nfields+2) + 4096
	}
	for maxGood <= 0 || len(c.values) < maxGood {
		p.skipBlank()
		if p.pos >= stop || p.pos >= len(s.buf) {
			break
		}
		key, val, err := s.row(p, &a)
		if err != nil {
			if c.bad(err.(*RowError), s.skipBad) {
				break
			}
			continue
		}
		if s.keyIdx >= 0 {
			c.keys = append(c.keys, key)
		}
		c.values = append(c.values, val)
		c.bytes += int64(len(key) + len(val))
	}
	c.end, c.lines = p.pos, p.line
	return c
}

// bad counts a bad row and reports whether parsing stops at it.
func (c *chunk) bad(re *RowError, skipBad bool) bool {
	c.skipped++
	if len(c.firstBad) < maxFirstBad {
		c.firstBad = append(c.firstBad, re)
	}
	c.failed = !skipBad
	return c.failed
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

// cuts returns chunk bounds for the rows in [from, to): from, the cuts, to.
// Each cut is a line start that is not a blank line, so a chunk that ends
// at it and the chunk that begins there agree on the position.
func cuts(buf []byte, from, to, n int) []int {
	out := []int{from}
	for i := 1; i < n; i++ {
		at := from + (to-from)*i/n
		if at <= out[len(out)-1] {
			continue
		}
		k := bytes.IndexByte(buf[at:to], '\n')
		if k < 0 {
			break
		}
		at += k + 1
		for at < to {
			if buf[at] == '\n' {
				at++
			} else if buf[at] == '\r' && at+1 < to && buf[at+1] == '\n' {
				at += 2
			} else {
				break
			}
		}
		if at >= to {
			break
		}
		if at > out[len(out)-1] {
			out = append(out, at)
		}
	}
	return append(out, to)
}

// parseRows parses the data rows from pos (line number line) into d,
// on up to workers goroutines.
func (s *shape) parseRows(d *Dataset, pos, line, workers, limit, chunkMin int) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if chunkMin <= 0 {
		chunkMin = minChunk
	}
	var done []*chunk
	taken := 0
	for pos < len(s.buf) && (limit <= 0 || taken < limit) {
		to := len(s.buf)
		if limit > 0 {
			to = s.until(pos, limit-taken)
		}
		n := min(workers, max(1, (to-pos)/chunkMin))
		for _, c := range s.parseSpan(cuts(s.buf, pos, to, n), limit-taken) {
			if c.from != pos { // the cut fell inside a row: redo from the true start
				c = s.parseChunk(pos, c.stop, limit-taken)
			}
			if limit > 0 && taken+len(c.values) >= limit && c.maxGood != limit-taken {
				// The limit falls in this chunk: stop exactly where one
				// pass would (before any later bad row or blank line).
				c = s.parseChunk(pos, c.stop, limit-taken)
			}
			for _, e := range c.firstBad {
				e.Line += line
			}
			if c.failed {
				return c.firstBad[len(c.firstBad)-1]
			}
			done = append(done, c)
			taken += len(c.values)
			pos, line = c.end, line+c.lines
			if limit > 0 && taken >= limit {
				break
			}
		}
	}
	d.Lines = line
	s.join(d, done)
	return nil
}

// until is where to stop parsing from pos for left more rows: about as
// much as they need (not the whole file), at a line end.
func (s *shape) until(pos, left int) int {
	want := left * s.rowBytes(pos) * 9 / 8
	if want >= len(s.buf)-pos {
		return len(s.buf)
	}
	if k := bytes.IndexByte(s.buf[pos+want:], '\n'); k >= 0 {
		return pos + want + k + 1
	}
	return len(s.buf)
}

// parseSpan parses the chunks between bounds, on a goroutine each when
// there are several; a single chunk stops after maxGood rows.
func (s *shape) parseSpan(bounds []int, maxGood int) []*chunk {
	spec := make([]*chunk, len(bounds)-1)
	if len(spec) == 1 {
		spec[0] = s.parseChunk(bounds[0], bounds[1], maxGood)
		return spec
	}
	// Every chunk's rows go to its own region of one allocation (regions
	// sized by rowsAtMost, counted in parallel first), so join need not
	// copy them: 1M rows are 24 MB of slice headers per column.
	var wg sync.WaitGroup
	ests := make([]int, len(spec))
	for i := range spec {
		wg.Go(func() { ests[i] = s.rowsAtMost(bounds[i], bounds[i+1]) })
	}
	wg.Wait()
	total := 0
	for _, n := range ests {
		total += n
	}
	into := &rows{values: make([][]byte, total)}
	if s.keyIdx >= 0 {
		into.keys = make([][]byte, total)
	}
	at := 0
	for i := range spec {
		from := at
		wg.Go(func() { spec[i] = s.parseInto(bounds[i], bounds[i+1], into, from, ests[i]) })
		at += ests[i]
	}
	wg.Wait()
	return spec
}

// join adds the chunks' rows, counts and first errors to d, in file order.
func (s *shape) join(d *Dataset, done []*chunk) {
	total := 0
	for _, c := range done {
		total += len(c.values)
		d.Bytes += c.bytes
		d.Skipped += c.skipped
		for _, e := range c.firstBad {
			if len(d.FirstBad) < maxFirstBad {
				d.FirstBad = append(d.FirstBad, e.Error())
			}
		}
	}
	if len(done) == 1 {
		d.Values, d.Keys = done[0].values, done[0].keys
		return
	}
	if vals, keys, ok := backToBack(done); ok {
		d.Values, d.Keys = vals, keys
		return
	}
	d.Values = make([][]byte, 0, total)
	if s.keyIdx >= 0 {
		d.Keys = make([][]byte, 0, total)
	}
	for _, c := range done {
		d.Values = append(d.Values, c.values...)
		d.Keys = append(d.Keys, c.keys...)
	}
}

// rowBytes estimates the bytes per row from the 64 KiB after pos.
func (s *shape) rowBytes(pos int) int {
	sample := s.buf[pos:min(len(s.buf), pos+64<<10)]
	nl := bytes.Count(sample, []byte{'\n'})
	if nl == 0 {
		return len(sample) + 1
	}
	return len(sample)/nl + 1
}

// backToBack returns the chunks' rows as one slice when they were parsed
// into one allocation and lie in it back to back, in file order (no chunk
// re-parsed, none short of its region); ok is false otherwise.
func backToBack(done []*chunk) (values, keys [][]byte, ok bool) {
	if len(done) == 0 || done[0].into == nil {
		return nil, nil, false
	}
	into, at := done[0].into, 0
	for _, c := range done {
		if c.into != into || at+len(c.values) > len(into.values) {
			return nil, nil, false
		}
		if len(c.values) > 0 && (&c.values[0] != &into.values[at] || into.keys != nil && &c.keys[0] != &into.keys[at]) {
			return nil, nil, false
		}
		at += len(c.values)
	}
	if into.keys != nil {
		keys = into.keys[:at:at]
	}
	return into.values[:at:at], keys, true
}
