package csvload

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/kpar/kpar/internal/datagen"
)

func TestParseRowsKeysAndRawValues(t *testing.T) {
	cases := []struct {
		name   string
		in     string
		key    string
		keys   []string
		values []string
	}{
		{"lf", "id,name\n1,a\n2,b\n", "id", []string{"1", "2"}, []string{"1,a", "2,b"}},
		{"crlf drops the CR from value and key", "id,name\r\n1,a\r\n2,b\r\n", "name", []string{"a", "b"}, []string{"1,a", "2,b"}},
		{"bom is not part of the first column name", "\xEF\xBB\xBFid,name\n1,a\n", "id", []string{"1"}, []string{"1,a"}},
		{"no final newline", "id,name\n1,a", "id", []string{"1"}, []string{"1,a"}},
		{"quoted key with comma and escaped quote", "k,v\n\"a,\"\"b\"\"\",x\n", "k", []string{`a,"b"`}, []string{`"a,""b""",x`}},
		{"quoted field spanning lines keeps the whole row raw", "k,v\n1,\"line1\nline2\"\n2,z\n", "v", []string{"line1\nline2", "z"}, []string{"1,\"line1\nline2\"", "2,z"}},
		{"blank lines are skipped", "k,v\n\n1,a\r\n\r\n2,b\n\n", "k", []string{"1", "2"}, []string{"1,a", "2,b"}},
		{"empty fields", "a,b,c\n,,\n", "b", []string{""}, []string{",,"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Parse([]byte(tc.in), "t.csv", KeyColumn(tc.key))
			if err != nil {
				t.Fatal(err)
			}
			if got := strs(d.Keys); !equal(got, tc.keys) {
				t.Errorf("keys %q, want %q", got, tc.keys)
			}
			if got := strs(d.Values); !equal(got, tc.values) {
				t.Errorf("values %q, want %q", got, tc.values)
			}
		})
	}
}

func TestJSONValueIsAnObjectOfTheRow(t *testing.T) {
	in := "\xEF\xBB\xBFid,\"na\"\"me\",note\r\n7,\"Mug, \"\"big\"\"\",\"a\r\nb\ttab\"\r\n"
	d, err := Parse([]byte(in), "t.csv", Value(ValueJSON))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal(d.Values[0], &got); err != nil {
		t.Fatalf("value %q is not JSON: %v", d.Values[0], err)
	}
	want := map[string]string{"id": "7", `na"me`: `Mug, "big"`, "note": "a\nb\ttab"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%q = %q, want %q (all: %q)", k, got[k], v, got)
		}
	}
	if d.Keys != nil {
		t.Errorf("keys without --key-column: %q, want none", d.Keys)
	}
}

func TestMalformedInputNamesFileAndLine(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"empty file", "", "t.csv: csv syntax: file is empty"},
		{"header only", "a,b\n", "no data rows"},
		{"ragged row", "a,b\n1,2\n1,2,3\n", "t.csv:3: row has 3 fields, the header has 2"},
		{"short row", "a,b\n1\n", "t.csv:2: row has 1 fields"},
		{"unterminated quote", "a,b\n1,2\n3,\"oops\n4,5\n", "t.csv:3: quoted field 2 never closes"},
		{"bare quote", "a,b\n1,x\"y\n", "t.csv:2: bare \""},
		{"text after closing quote", "a,b\n\"x\"y,1\n", "t.csv:2: text after the closing quote"},
		{"line count survives multi-line fields", "a,b\n1,\"x\ny\"\n1\n", "t.csv:4: row has 1 fields"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in), "t.csv")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("error %v does not wrap ErrSyntax", err)
			}
		})
	}
}

func TestUnknownKeyColumnListsTheHeader(t *testing.T) {
	_, err := Parse([]byte("id,name\n1,a\n"), "t.csv", KeyColumn("customer"))
	if err == nil || !strings.Contains(err.Error(), `"customer" is not a column; the header has: id, name`) {
		t.Fatalf("got %v", err)
	}
}

func TestSkipBadCountsAndKeepsGoodRows(t *testing.T) {
	// A ragged row, a bare quote and a quote that never closes.
	in := "a,b\n1,2\n3\n5,x\"y\n6,7\n\"8,9\n"
	d, err := Parse([]byte(in), "t.csv", SkipBad(true), KeyColumn("a"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strs(d.Keys); !equal(got, []string{"1", "6"}) {
		t.Errorf("keys %q, want [1 6]", got)
	}
	if d.Skipped != 3 || len(d.FirstBad) != 3 || !strings.HasPrefix(d.FirstBad[0], "t.csv:3:") {
		t.Errorf("skipped %d, first bad %q", d.Skipped, d.FirstBad)
	}
	if _, err := Parse([]byte("a,b\n1\n2\n"), "t.csv", SkipBad(true)); err == nil || !strings.Contains(err.Error(), "all 2 data rows are malformed") {
		t.Errorf("all-bad file: got %v", err)
	}
}

func TestLimitAndSlicesCoverEveryRecordOnce(t *testing.T) {
	var b bytes.Buffer
	if err := datagen.Write(&b, datagen.Config{Rows: 1003, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	d, err := Parse(b.Bytes(), "g.csv", Limit(1001))
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 1001 {
		t.Fatalf("len %d, want 1001", d.Len())
	}
	next := 0
	for i := 0; i < 4; i++ {
		lo, hi := d.Slice(i, 4)
		if lo != next || hi < lo {
			t.Fatalf("slice %d = [%d,%d), want to start at %d", i, lo, hi, next)
		}
		next = hi
	}
	if next != 1001 {
		t.Fatalf("slices end at %d, want 1001", next)
	}
}

// FuzzParserAgreesWithEncodingCSV checks fields against the standard
// library on every input either side accepts, and that JSON values are
// always valid JSON.
func FuzzParserAgreesWithEncodingCSV(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n", "a\r\n\"x\"\"y\"\r\n", "a,b\n\"1\n2\",3\n", "a,b\n1,\"2\n", "a\n\n\nb\n", "a,b\n\"x\"y,1\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		// Lone CRs are read differently by design (encoding/csv strips some
		// of them); compare only where both define the same thing.
		if bytes.Contains(bytes.ReplaceAll(in, []byte("\r\n"), nil), []byte("\r")) || bytes.HasPrefix(in, bom) {
			return
		}
		r := csv.NewReader(bytes.NewReader(in))
		want, werr := r.ReadAll()
		p := newParser("f", in)
		var got [][]string
		var gerr error
		for {
			fields, _, _, ok, err := p.next()
			if err != nil {
				gerr = err
				break
			}
			if !ok {
				break
			}
			row := make([]string, len(fields))
			for i, fb := range fields {
				row[i] = string(fb)
			}
			if len(got) > 0 && len(row) != len(got[0]) {
				gerr = errors.New("ragged")
				break
			}
			got = append(got, row)
		}
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("encoding/csv err=%v, ours err=%v on %q", werr, gerr, in)
		}
		if werr != nil {
			return
		}
		if len(got) != len(want) {
			t.Fatalf("%d rows, encoding/csv %d, on %q", len(got), len(want), in)
		}
		for i := range want {
			if !equal(got[i], want[i]) {
				t.Fatalf("row %d = %q, encoding/csv %q, on %q", i, got[i], want[i], in)
			}
		}
		if len(want) >= 2 {
			d, err := Parse(in, "f", Value(ValueJSON))
			if err == nil {
				for _, v := range d.Values {
					if !json.Valid(v) {
						t.Fatalf("invalid JSON value %q from %q", v, in)
					}
				}
			}
		}
	})
}

func strs(bs [][]byte) []string {
	if bs == nil {
		return nil
	}
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = string(b)
	}
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestMayEscape8NeverMissesAByteToEscape puts every byte value at every
// position of a word of plain bytes: a miss would let a quote, a control
// byte or invalid UTF-8 into a JSON value unescaped.
func TestMayEscape8NeverMissesAByteToEscape(t *testing.T) {
	for fill := 0x20; fill < 0x80; fill++ {
		if !jsonPlain[fill] {
			continue
		}
		for c := 0; c < 256; c++ {
			for pos := 0; pos < 8; pos++ {
				w := bytes.Repeat([]byte{byte(fill)}, 8)
				w[pos] = byte(c)
				x := uint64(0)
				for i := 7; i >= 0; i-- {
					x = x<<8 | uint64(w[i])
				}
				if got := mayEscape8(x); !jsonPlain[c] && !got {
					t.Fatalf("mayEscape8(%q) = false, but %#x needs escaping", w, c)
				} else if jsonPlain[c] && got {
					t.Fatalf("mayEscape8(%q) = true on plain bytes", w)
				}
			}
		}
	}
	if got := string(appendJSONString(nil, []byte("0123456789\"ab\x01\xffé"))); got != `"0123456789\"ab\u0001`+"\ufffd"+`é"` {
		t.Errorf("escaped %s", got)
	}
}
