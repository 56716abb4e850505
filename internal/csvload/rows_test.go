package csvload

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kpar/kpar/internal/datagen"
)

// referenceParse is a row-by-row reader: every row through parser.next (which the fuzz test holds to
// encoding/csv), keys and JSON built per row. Parse must equal it for any
// input, options and number of workers.
func referenceParse(data []byte, name string, opts ...Opt) (*Dataset, error) {
	c := newCfg(opts)
	// The header is shared with Parse; what is compared is how rows are read.
	d, p, keyIdx, err := parseHeader(data, name, c)
	if err != nil {
		return nil, err
	}
	hdr := d.Header
	bad := func(e error) error {
		if !c.skipBad {
			return e
		}
		d.Skipped++
		if len(d.FirstBad) < maxFirstBad {
			d.FirstBad = append(d.FirstBad, e.Error())
		}
		return nil
	}
	for c.limit <= 0 || len(d.Values) < c.limit {
		fields, raw, line, ok, err := p.next()
		if err != nil {
			if err = bad(err); err != nil {
				return nil, err
			}
			continue
		}
		if !ok {
			break
		}
		if len(fields) != len(hdr) {
			e := &RowError{File: name, Line: line, Msg: fmt.Sprintf("row has %d fields, the header has %d", len(fields), len(hdr))}
			if err := bad(e); err != nil {
				return nil, err
			}
			continue
		}
		var key []byte
		if keyIdx >= 0 {
			key = append([]byte{}, fields[keyIdx]...)
			d.Keys = append(d.Keys, key)
		}
		val := append([]byte{}, raw...)
		if c.value == ValueJSON {
			val = []byte{'{'}
			for i, f := range fields {
				if i > 0 {
					val = append(val, ',')
				}
				val = appendJSONString(val, []byte(d.Header[i]))
				val = append(val, ':')
				val = appendJSONString(val, f)
			}
			val = append(val, '}')
		}
		d.Values = append(d.Values, val)
		d.Bytes += int64(len(key) + len(val))
	}
	d.Lines = p.line
	if err := checkRows(d, name); err != nil {
		return nil, err
	}
	return d, nil
}

// sameResult reports how got differs from want ("" when it does not).
func sameResult(got *Dataset, gerr error, want *Dataset, werr error) string {
	if (gerr == nil) != (werr == nil) || (gerr != nil && gerr.Error() != werr.Error()) {
		return fmt.Sprintf("error %v, want %v", gerr, werr)
	}
	if werr != nil {
		return ""
	}
	switch {
	case !equal(got.Header, want.Header):
		return fmt.Sprintf("header %q, want %q", got.Header, want.Header)
	case (got.Keys == nil) != (want.Keys == nil):
		return fmt.Sprintf("keys nil=%v, want nil=%v", got.Keys == nil, want.Keys == nil)
	case !equal(strs(got.Keys), strs(want.Keys)):
		return fmt.Sprintf("%d keys %q, want %d %q", len(got.Keys), clip(got.Keys), len(want.Keys), clip(want.Keys))
	case !equal(strs(got.Values), strs(want.Values)):
		return fmt.Sprintf("%d values %q, want %d %q", len(got.Values), clip(got.Values), len(want.Values), clip(want.Values))
	case got.Bytes != want.Bytes:
		return fmt.Sprintf("bytes %d, want %d", got.Bytes, want.Bytes)
	case got.Skipped != want.Skipped || !equal(got.FirstBad, want.FirstBad):
		return fmt.Sprintf("skipped %d %q, want %d %q", got.Skipped, got.FirstBad, want.Skipped, want.FirstBad)
	case got.Lines != want.Lines:
		return fmt.Sprintf("lines %d, want %d", got.Lines, want.Lines)
	}
	return ""
}

func clip(bs [][]byte) []string {
	s := strs(bs)
	if len(s) > 8 {
		s = s[:8]
	}
	return s
}

// messyCSV is a CSV with everything a row reader can trip on:
// quoted fields with commas, "" escapes and line breaks (LF and CRLF),
// blank lines, CRLF rows, and (when bad) ragged rows, bare quotes, text
// after a closing quote and a quote that never closes.
func messyCSV(rng *rand.Rand, rows int, bad bool) []byte {
	var b bytes.Buffer
	if rng.IntN(3) == 0 {
		b.Write(bom)
	}
	b.WriteString("id,name,note,n\n")
	field := func() string {
		switch rng.IntN(9) {
		case 0:
			return `"a,b"`
		case 1:
			return `"say ""hi"""`
		case 2:
			return "\"two\nlines\""
		case 3:
			return "\"crlf\r\ninside\""
		case 4:
			return ""
		case 5:
			return "\"\n\n\""
		default:
			return fmt.Sprintf("v%d", rng.IntN(1000))
		}
	}
	for i := 0; i < rows; i++ {
		if bad && rng.IntN(12) == 0 {
			switch rng.IntN(4) {
			case 0:
				fmt.Fprintf(&b, "%d,only two\n", i)
			case 1:
				fmt.Fprintf(&b, "%d,x\"y,z,1\n", i)
			case 2:
				fmt.Fprintf(&b, "%d,\"q\"tail,z,1\n", i)
			case 3:
				fmt.Fprintf(&b, "%d,a,b,c,extra\r\n", i)
			}
			continue
		}
		fmt.Fprintf(&b, "%d,%s,%s,%s", i, field(), field(), field())
		switch rng.IntN(6) {
		case 0:
			b.WriteString("\r\n")
		case 1:
			b.WriteString("\n\n")
		case 2:
			b.WriteString("\r\n\r\n\n")
		default:
			b.WriteString("\n")
		}
	}
	if bad && rng.IntN(3) == 0 {
		b.WriteString("9999,\"never closes,x,y\nlast,row,here,1\n")
	}
	if rng.IntN(2) == 0 {
		b.Truncate(b.Len() - 1) // no final newline
	}
	return b.Bytes()
}

// TestParseEqualsTheRowByRowReader checks keys, values, errors, skipped
// rows, limits and line counts of varied inputs against the row-by-row
// reader.
func TestParseEqualsTheRowByRowReader(t *testing.T) {
	var gen bytes.Buffer
	if err := datagen.Write(&gen, datagen.Config{Rows: 3000, Seed: 5, CRLF: true}); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	type input struct {
		name string
		data []byte
		key  string
	}
	inputs := []input{{"generated crlf", gen.Bytes(), "customer_id"}}
	for i := 0; i < 40; i++ {
		inputs = append(inputs, input{fmt.Sprintf("messy %d", i), messyCSV(rng, 5+rng.IntN(300), i%2 == 1), "note"})
	}
	checked := 0
	for _, in := range inputs {
		for _, value := range []ValueMode{ValueRaw, ValueJSON} {
			for _, key := range []string{"", in.key} {
				for _, skip := range []bool{false, true} {
					for _, limit := range []int{0, 1, 7, 100, 2999} {
						opts := []Opt{KeyColumn(key), Value(value), SkipBad(skip), Limit(limit)}
						want, werr := referenceParse(in.data, "t.csv", opts...)
						got, gerr := Parse(in.data, "t.csv", opts...)
						if diff := sameResult(got, gerr, want, werr); diff != "" {
							t.Fatalf("%s value=%v key=%q skip=%v limit=%d: %s", in.name, value, key, skip, limit, diff)
						}
						checked++
					}
				}
			}
		}
	}
	t.Logf("%d parses agreed", checked)
}

// TestErrorIsTheFirstInFileOrder puts a bad row late in the file and one
// earlier: the earlier one, with its true line, wins.
func TestErrorIsTheFirstInFileOrder(t *testing.T) {
	var b strings.Builder
	b.WriteString("a,b\n")
	for i := 0; i < 1000; i++ {
		switch i {
		case 300:
			b.WriteString("x,\"two\nlines\"\n") // a good row over two lines
		case 400:
			b.WriteString("ragged\n") // line 403
		case 900:
			b.WriteString("1,x\"y\n")
		default:
			fmt.Fprintf(&b, "%d,v\n", i)
		}
	}
	_, err := Parse([]byte(b.String()), "t.csv")
	if err == nil || err.Error() != "t.csv:403: row has 1 fields, the header has 2" {
		t.Fatalf("got %v, want the ragged row at t.csv:403", err)
	}
	d, err := Parse([]byte(b.String()), "t.csv", SkipBad(true))
	if err != nil {
		t.Fatal(err)
	}
	if d.Skipped != 2 || d.FirstBad[1] != "t.csv:903: bare \" in unquoted field 2 (quote the whole field and double inner quotes)" {
		t.Fatalf("skipped %d %q", d.Skipped, d.FirstBad)
	}
	// Under a limit that ends before the bad row there is no error.
	d, err = Parse([]byte(b.String()), "t.csv", Limit(400))
	if err != nil || d.Len() != 400 || d.Lines != 403 {
		t.Fatalf("limit 400: %v, %d records, %d lines", err, d.Len(), d.Lines)
	}
}

// FuzzParseEqualsTheRowByRowReader holds Parse to the row-by-row reader on
// any input and options.
func FuzzParseEqualsTheRowByRowReader(f *testing.F) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 8; i++ {
		f.Add(messyCSV(rng, 20, i%2 == 0), uint8(i), uint8(3))
	}
	f.Add([]byte("a,b\n1,\"x\ny\"\n2,z\n"), uint8(0), uint8(1))
	f.Fuzz(func(t *testing.T, in []byte, flags, limit uint8) {
		opts := []Opt{SkipBad(flags&1 != 0), Limit(int(limit % 16))}
		if flags&2 != 0 {
			opts = append(opts, Value(ValueJSON))
		}
		if flags&4 != 0 {
			// The first column, whatever it is called.
			p := newParser("", in)
			if hdr, _, _, ok, err := p.next(); ok && err == nil && len(hdr) > 0 {
				opts = append(opts, KeyColumn(string(hdr[0])))
			}
		}
		want, werr := referenceParse(in, "f.csv", opts...)
		got, gerr := Parse(in, "f.csv", opts...)
		if diff := sameResult(got, gerr, want, werr); diff != "" {
			t.Fatalf("flags=%d limit=%d on %q: %s", flags, limit%16, in, diff)
		}
	})
}
