// Package csvload turns a CSV file into Kafka record keys and values fast
// enough that reading is never what a producer bench measures.
//
// It reads RFC 4180 CSV: a header row, quoted fields (with "" escapes and
// embedded newlines), LF or CRLF line ends and an optional UTF-8 BOM. The key
// is the column named by KeyColumn; the value is either the raw row bytes as
// they appear in the file or a JSON object of the row. Every malformed row is
// reported with file:line, or counted and skipped with SkipBad.
//
// The whole input is held in memory; raw values and unescaped keys are
// sub-slices of it, and JSON values share a few large blocks, so loading
// costs one read plus one scan, with no per-row allocation.
//
// Speed (BenchmarkLoadGeneratedCSV, 200,000 rows of ~120 bytes): one scan on
// one core read raw rows at 9.5-11.1M records/s on an idle 2-core machine,
// against about 2.6M for the best producer step on the local broker; JSON
// values are the one mode where reading can still matter. Loading happens
// before any producer's clock starts.
package csvload

import (
	"bytes"
	"errors"
	"fmt"
)

// ErrSyntax is wrapped by every error about the CSV's content.
var ErrSyntax = errors.New("csv syntax")

// RowError is a malformed row: where it starts and what is wrong.
type RowError struct {
	File string
	Line int // 1-based line of the problem
	Msg  string
}

func (e *RowError) Error() string { return fmt.Sprintf("%s:%d: %s", labelOf(e.File), e.Line, e.Msg) }

func (e *RowError) Unwrap() error { return ErrSyntax }

// parser scans rows out of an in-memory buffer. Fields are sub-slices of the
// buffer when they need no unescaping; quoted fields with "" escapes or CRLF
// inside are copied into scratch.
type parser struct {
	buf     []byte
	pos     int
	line    int // 1-based line number of buf[pos]
	file    string
	fields  [][]byte
	scratch []byte
}

var bom = []byte{0xEF, 0xBB, 0xBF}

func newParser(file string, data []byte) *parser {
	data = bytes.TrimPrefix(data, bom)
	return &parser{buf: data, line: 1, file: file}
}

// next returns the next non-empty row's fields, its raw bytes (without the
// line terminator) and the line it starts on. ok is false at end of input.
// On a syntax error pos is left at the start of the following line so the
// caller may skip the row and go on.
func (p *parser) next() (fields [][]byte, raw []byte, line int, ok bool, err error) {
	p.skipBlank()
	if p.pos >= len(p.buf) {
		return nil, nil, p.line, false, nil
	}
	_, raw, _, _, line, err = p.scan(-1, true)
	if err != nil {
		return nil, nil, line, true, err
	}
	return p.fields, raw, line, true, nil
}

// skipBlank moves past empty lines: they are not rows (encoding/csv agrees).
func (p *parser) skipBlank() {
	buf := p.buf
	for p.pos < len(buf) {
		switch {
		case buf[p.pos] == '\n':
			p.pos++
			p.line++
			continue
		case buf[p.pos] == '\r' && p.pos+1 < len(buf) && buf[p.pos+1] == '\n':
			p.pos += 2
			p.line++
			continue
		}
		return
	}
}

// scan parses the row at pos (not blank, not EOF): it counts the row's
// fields and picks out field keyIdx (none when keyIdx < 0); with all it also
// keeps every field in p.fields. Without all, a raw value costs a few
// vectorised searches and no per-field work. copied says the key is in
// scratch (it had "" escapes or CRLF) and must be copied before the next row.
func (p *parser) scan(keyIdx int, all bool) (n int, raw, key []byte, copied bool, line int, err error) {
	buf := p.buf
	start, startLine := p.pos, p.line
	p.fields, p.scratch = p.fields[:0], p.scratch[:0]
	lineEnd := p.lineEnd(start)
	i := start
	q := indexIn(buf, i, lineEnd, '"')
	for {
		if i < len(buf) && buf[i] == '"' {
			f, ni, cp, e := p.quoted(i, startLine, n+1)
			if e != nil {
				return 0, nil, nil, false, startLine, e
			}
			if n == keyIdx {
				key, copied = f, cp
			}
			if all {
				p.fields = append(p.fields, f)
			}
			n++
			i = ni
			if i > lineEnd {
				lineEnd = p.lineEnd(i)
			}
			if i < len(buf) && buf[i] == ',' {
				i++
				q = indexIn(buf, i, lineEnd, '"')
				continue
			}
			break // at '\n' or EOF
		}
		// q > i: the fields up to the quote are unquoted; else the rest of
		// the line is.
		end := lineEnd
		if q >= 0 {
			if buf[q-1] != ',' {
				line := p.line
				field := n + bytes.Count(buf[i:q], comma) + 1
				p.skipLine(q, line)
				return 0, nil, nil, false, startLine, p.errf(line, "bare \" in unquoted field %d (quote the whole field and double inner quotes)", field)
			}
			end = q - 1
		} else if end > i && buf[end-1] == '\r' {
			end--
		}
		run := buf[i:end]
		c := bytes.Count(run, comma) + 1
		if keyIdx >= n && keyIdx < n+c {
			key = nthField(run, keyIdx-n)
		}
		if all {
			p.fields = splitRun(p.fields, run)
		}
		n += c
		if q >= 0 {
			i = q
			continue
		}
		i = lineEnd
		break
	}
	return n, p.endRow(start, i), key, copied, startLine, nil
}

var comma = []byte{','}

// endRow moves pos past the row that started at start and ends at i (a '\n'
// or EOF), and returns the row's raw bytes without its line terminator.
func (p *parser) endRow(start, i int) []byte {
	rawEnd := i
	if rawEnd > start && p.buf[rawEnd-1] == '\r' {
		rawEnd--
	}
	if i < len(p.buf) { // the '\n'
		i++
		p.line++
	}
	p.pos = i
	return p.buf[start:rawEnd:rawEnd]
}

// nthField is field k (0-based) of a run of unquoted fields.
func nthField(run []byte, k int) []byte {
	for ; k > 0; k-- {
		run = run[bytes.IndexByte(run, ',')+1:]
	}
	if j := bytes.IndexByte(run, ','); j >= 0 {
		run = run[:j]
	}
	return run[:len(run):len(run)]
}

// splitRun appends the fields of a run of unquoted fields.
func splitRun(fields [][]byte, run []byte) [][]byte {
	for {
		k := bytes.IndexByte(run, ',')
		if k < 0 {
			return append(fields, run[:len(run):len(run)])
		}
		fields = append(fields, run[:k:k])
		run = run[k+1:]
	}
}

// indexIn is the index of the first c in buf[from:to], or -1.
func indexIn(buf []byte, from, to int, c byte) int {
	if k := bytes.IndexByte(buf[from:to], c); k >= 0 {
		return from + k
	}
	return -1
}

// quoted parses quoted field number field (1-based) whose opening quote is
// at i. It returns the field, the index just after it (at ',', '\n' or EOF)
// and whether the field is in scratch rather than in buf.
func (p *parser) quoted(i, startLine, field int) ([]byte, int, bool, error) {
	buf := p.buf
	lineAtOpen := p.line
	j := i + 1
	fieldStart := j
	copied := false
	var scratchStart int
	for {
		k := bytes.IndexByte(buf[j:], '"')
		if k < 0 {
			// Unterminated: the quote swallowed the rest of the file. Skip
			// only the line where the row started.
			p.skipLine(i, lineAtOpen)
			return nil, 0, false, p.errf(startLine, "quoted field %d never closes (missing \")", field)
		}
		seg := buf[j : j+k]
		nl := bytes.Count(seg, []byte{'\n'})
		crlf := nl > 0 && bytes.Contains(seg, []byte("\r\n"))
		p.line += nl
		if crlf && !copied {
			copied, scratchStart = true, len(p.scratch)
			p.scratch = append(p.scratch, buf[fieldStart:j]...)
		}
		if copied {
			if crlf {
				// encoding/csv reads CRLF inside quotes as LF; so do we.
				p.scratch = append(p.scratch, bytes.ReplaceAll(seg, []byte("\r\n"), []byte("\n"))...)
			} else {
				p.scratch = append(p.scratch, seg...)
			}
		}
		q := j + k // closing or escaping quote
		if q+1 < len(buf) && buf[q+1] == '"' {
			if !copied {
				copied, scratchStart = true, len(p.scratch)
				p.scratch = append(p.scratch, buf[fieldStart:q]...)
			}
			p.scratch = append(p.scratch, '"')
			j = q + 2
			continue
		}
		after := q + 1
		if after < len(buf) && buf[after] == '\r' && after+1 < len(buf) && buf[after+1] == '\n' {
			after++
		} else if after < len(buf) && buf[after] == '\r' && after+1 == len(buf) {
			after++
		}
		if after < len(buf) && buf[after] != ',' && buf[after] != '\n' {
			line := p.line
			p.skipLine(after, line)
			return nil, 0, false, p.errf(line, "text after the closing quote of field %d (double the quote to escape it)", field)
		}
		if copied {
			return p.scratch[scratchStart:len(p.scratch):len(p.scratch)], after, true, nil
		}
		return buf[fieldStart:q:q], after, false, nil
	}
}

// skipLine moves pos to just after the line that holds from.
func (p *parser) skipLine(from, line int) {
	k := bytes.IndexByte(p.buf[from:], '\n')
	if k < 0 {
		p.pos = len(p.buf)
		p.line = line
		return
	}
	p.pos = from + k + 1
	p.line = line + 1
}

func (p *parser) errf(line int, format string, args ...any) error {
	return &RowError{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// lineEnd is the index of the first '\n' at or after i, or len(buf).
func (p *parser) lineEnd(i int) int {
	if k := bytes.IndexByte(p.buf[i:], '\n'); k >= 0 {
		return i + k
	}
	return len(p.buf)
}
