package csvload

import (
	"encoding/binary"
	"fmt"
	"os"
	"slices"
	"strings"
	"unicode/utf8"
)

// ValueMode says what a record's value is.
type ValueMode int

const (
	// ValueRaw sends the row's bytes exactly as in the file (no line end).
	ValueRaw ValueMode = iota
	// ValueJSON sends {"column":"field",...} with every field a string.
	ValueJSON
)

// ParseValueMode maps the --value flag to a ValueMode.
func ParseValueMode(s string) (ValueMode, error) {
	switch s {
	case "raw":
		return ValueRaw, nil
	case "json":
		return ValueJSON, nil
	}
	return 0, fmt.Errorf("--value %q: want raw (the row as in the file) or json (an object of the row)", s)
}

// Opt configures Load and Parse.
type Opt interface{ apply(*cfg) }

type cfg struct {
	keyColumn string
	value     ValueMode
	skipBad   bool
	limit     int
}

type optFunc func(*cfg)

func (f optFunc) apply(c *cfg) { f(c) }

// KeyColumn names the header column whose field becomes the record key.
// Empty (the default) means records have no key.
func KeyColumn(name string) Opt { return optFunc(func(c *cfg) { c.keyColumn = name }) }

// Value chooses the record value: the raw row (default) or JSON of it.
func Value(m ValueMode) Opt { return optFunc(func(c *cfg) { c.value = m }) }

// SkipBad counts and skips malformed rows instead of failing on the first.
func SkipBad(on bool) Opt { return optFunc(func(c *cfg) { c.skipBad = on }) }

// Limit stops after n good records (n <= 0: no limit).
func Limit(n int) Opt { return optFunc(func(c *cfg) { c.limit = n }) }

// Dataset is a loaded CSV: one key and one value per good row.
type Dataset struct {
	File      string
	Header    []string
	KeyColumn string // "" when records have no key
	Value     ValueMode
	Keys      [][]byte // nil entries when KeyColumn is ""
	Values    [][]byte
	Bytes     int64 // sum of key and value lengths
	Skipped   int   // malformed rows skipped under SkipBad
	FirstBad  []string
	Lines     int // physical lines read
}

// Len is the number of records.
func (d *Dataset) Len() int { return len(d.Values) }

// Slice returns the half-open record range [lo, hi) of part i of n
// contiguous, near-equal parts.
func (d *Dataset) Slice(i, n int) (lo, hi int) {
	total := d.Len()
	return total * i / n, total * (i + 1) / n
}

// maxFirstBad bounds how many skipped-row messages are kept for the report.
const maxFirstBad = 10

// Load reads the CSV file at path.
func Load(path string, opts ...Opt) (*Dataset, error) {
	// One read into a buffer sized from the file, not io.ReadAll's doublings.
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("input: %w", err)
	}
	return Parse(data, path, opts...)
}

// Parse reads a CSV held in data. Raw values and keys alias data: do not
// modify it.
func Parse(data []byte, name string, opts ...Opt) (*Dataset, error) {
	c := newCfg(opts)
	d, s, p, err := prepare(data, name, c)
	if err != nil {
		return nil, err
	}
	if err := s.parseRows(d, p, c.limit); err != nil {
		return nil, err
	}
	if err := checkRows(d, name); err != nil {
		return nil, err
	}
	return d, nil
}

func newCfg(opts []Opt) (c cfg) {
	for _, o := range opts {
		o.apply(&c)
	}
	return c
}

// prepare reads the header and returns the dataset to fill, what reading a
// row needs to know and the parser just past the header.
func prepare(data []byte, name string, c cfg) (*Dataset, *shape, *parser, error) {
	d, p, keyIdx, err := parseHeader(data, name, c)
	if err != nil {
		return nil, nil, nil, err
	}
	s := &shape{buf: p.buf, file: name, nfields: len(d.Header), keyIdx: keyIdx, value: c.value, skipBad: c.skipBad}
	// JSON keys are escaped once, not per row.
	if c.value == ValueJSON {
		for _, h := range d.Header {
			k := appendJSONString(nil, []byte(h))
			s.jsonKeys = append(s.jsonKeys, append(k, ':'))
			s.jsonLen += len(k) + 1
		}
	}
	return d, s, p, nil
}

func labelOf(name string) string {
	if name == "" {
		return "<input>"
	}
	return name
}

// parseHeader reads the header row and resolves the key column: the part
// of a parse that does not depend on how the data rows are read.
func parseHeader(data []byte, name string, c cfg) (d *Dataset, p *parser, keyIdx int, err error) {
	label := labelOf(name)
	if len(data) == 0 {
		return nil, nil, -1, fmt.Errorf("%s: %w: file is empty (want a header row and at least one data row)", label, ErrSyntax)
	}
	p = newParser(name, data)
	hdr, _, _, ok, err := p.next()
	if err != nil {
		return nil, nil, -1, fmt.Errorf("header: %w", err)
	}
	if !ok {
		return nil, nil, -1, fmt.Errorf("%s: %w: file has no header row (only blank lines or a BOM)", label, ErrSyntax)
	}
	d = &Dataset{File: name, KeyColumn: c.keyColumn, Value: c.value}
	seen := map[string]bool{}
	for _, h := range hdr {
		s := string(h)
		if c.value == ValueJSON && seen[s] {
			return nil, nil, -1, fmt.Errorf("%s:1: %w: column %q appears twice, so --value json would repeat a key", label, ErrSyntax, s)
		}
		seen[s] = true
		d.Header = append(d.Header, s)
	}
	keyIdx = -1
	if c.keyColumn != "" {
		if keyIdx = slices.Index(d.Header, c.keyColumn); keyIdx < 0 {
			return nil, nil, -1, fmt.Errorf("%s:1: --key-column %q is not a column; the header has: %s",
				label, c.keyColumn, strings.Join(d.Header, ", "))
		}
	}
	return d, p, keyIdx, nil
}

// checkRows fails a dataset that kept no data row.
func checkRows(d *Dataset, name string) error {
	if len(d.Values) > 0 {
		return nil
	}
	if d.Skipped > 0 {
		return fmt.Errorf("%s: %w: all %d data rows are malformed; first: %s", labelOf(name), ErrSyntax, d.Skipped, d.FirstBad[0])
	}
	return fmt.Errorf("%s: %w: no data rows after the header", labelOf(name), ErrSyntax)
}

const hexDigits = "0123456789abcdef"

// mayEscape8 is false when none of the 8 bytes in x needs escaping in a
// JSON string (a control byte, '"', '\\' or non-ASCII); true may be a false
// alarm, which only sends those bytes to the byte-at-a-time loop.
func mayEscape8(x uint64) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	q := x ^ (lo * '"')
	bs := x ^ (lo * '\\')
	return ((x-lo*0x20)&^x|(q-lo)&^q|(bs-lo)&^bs|x)&hi != 0
}

// jsonPlain[c] says byte c goes into a JSON string as it is.
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD
// so the output is always valid JSON.
func appendJSONString(b, s []byte) []byte {
	b = append(b, '"')
	// Most fields are plain ASCII: find where that ends with one table
	// lookup a byte, and copy that much at once.
	i := 0
	for i+8 <= len(s) && !mayEscape8(binary.LittleEndian.Uint64(s[i:])) {
		i += 8
	}
	for i < len(s) && jsonPlain[s[i]] {
		i++
	}
	if i == len(s) {
		b = append(b, s...)
		return append(b, '"')
	}
	start := 0
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, "\ufffd"...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
