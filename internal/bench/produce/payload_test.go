package produce

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// linesOf collects what payloadLines gives for in, read through wrap.
func linesOf(t *testing.T, in []byte, wrap func(io.Reader) io.Reader) []string {
	t.Helper()
	var got []string
	err := payloadLines(wrap(bytes.NewReader(in)), "p.txt")(func(k, v []byte) bool {
		if k != nil {
			t.Fatalf("line %d has a key", len(got))
		}
		got = append(got, string(v))
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// Every line of the file is one value, as kcat -l reads it: lines cut by a
// chunk boundary come out whole, a line longer than a chunk too, and a last
// line without its line end is sent.
func TestPayloadLinesGivesEveryLineWhole(t *testing.T) {
	var want []string
	var in bytes.Buffer
	for i := range 40_000 {
		want = append(want, fmt.Sprintf("row %d %s", i, strings.Repeat("x", i%97)))
	}
	want = append(want, strings.Repeat("long", payloadChunk/2)) // two chunks long
	want = append(want, "after the long one", "last, no line end")
	for _, w := range want {
		in.WriteString(w + "\n")
	}
	in.Truncate(in.Len() - 1)
	for name, wrap := range map[string]func(io.Reader) io.Reader{
		"whole reads": func(r io.Reader) io.Reader { return r },
		"half reads":  iotest.HalfReader,
	} {
		if got := linesOf(t, in.Bytes(), wrap); !slices.Equal(got, want) {
			t.Fatalf("%s: %d lines, want %d", name, len(got), len(want))
		}
	}
}

// A value must stay as it was sent while the client holds it: reading on
// must never write over an earlier line.
func TestPayloadLinesNeverReusesABuffer(t *testing.T) {
	var in bytes.Buffer
	for i := range 3 * payloadChunk / 8 {
		fmt.Fprintf(&in, "%06d\n", i%1_000_000)
	}
	var kept [][]byte
	err := payloadLines(&in, "p.txt")(func(_, v []byte) bool {
		kept = append(kept, v)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range kept {
		if want := fmt.Sprintf("%06d", i%1_000_000); string(v) != want {
			t.Fatalf("value %d is %q after the whole file was read, want %q", i, v, want)
		}
	}
}

// A read error ends the run with the file's name; stopping early is no error.
func TestPayloadLinesErrorNamesTheFileAndStopIsClean(t *testing.T) {
	boom := errors.New("boom")
	err := payloadLines(io.MultiReader(strings.NewReader("a\nb\n"), iotest.ErrReader(boom)), "p.txt")(func(_, _ []byte) bool { return true })
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "p.txt") {
		t.Fatalf("error %v: want boom naming p.txt", err)
	}
	n := 0
	err = payloadLines(strings.NewReader("a\nb\nc\n"), "p.txt")(func(_, _ []byte) bool { n++; return n < 2 })
	if err != nil || n != 2 {
		t.Fatalf("stopped after %d lines with %v, want 2 and nil", n, err)
	}
}
