package results

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

type fake struct {
	Header
	N int `json:"n"`
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func TestWritePutsDataAndViewsInPlaceAndReadsBack(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	r := fake{Header: NewHeader("kpar.test", 3, []string{"kpar", "x"}), N: 7}
	r.Finish()
	paths, err := Write(dir, "r.json", r, View{Name: "r.md", Bytes: []byte("# r\n")},
		View{Name: "c.svg", Save: func(p string) error { return os.WriteFile(p, []byte("<svg/>"), 0o644) }})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join(dir, "r.json"), filepath.Join(dir, "r.md"), filepath.Join(dir, "c.svg")}; !slices.Equal(paths, want) {
		t.Fatalf("paths %v, want %v", paths, want)
	}
	if got := names(t, dir); !slices.Equal(got, []string{"c.svg", "r.json", "r.md"}) {
		t.Fatalf("dir holds %v: no temp left behind expected", got)
	}
	var back fake
	if err := Read(filepath.Join(dir, "r.json"), "kpar.test", 3, &back); err != nil {
		t.Fatal(err)
	}
	if back.N != 7 || back.Version != 3 || !slices.Equal(back.Command, []string{"kpar", "x"}) {
		t.Fatalf("read back %+v", back)
	}
	if err := Read(filepath.Join(dir, "r.json"), "kpar.test", 2, &back); !errors.Is(err, ErrSchema) {
		t.Fatalf("a newer version than the reader knows: %v, want ErrSchema", err)
	}
	if err := Read(filepath.Join(dir, "r.json"), "kpar.other", 9, &back); !errors.Is(err, ErrSchema) {
		t.Fatalf("another schema: %v, want ErrSchema", err)
	}
}

func TestFailedViewLeavesNothingAndKeepsTheOldRun(t *testing.T) {
	dir := t.TempDir()
	if _, err := Write(dir, "r.json", fake{N: 1}, View{Name: "r.md", Bytes: []byte("old")}); err != nil {
		t.Fatal(err)
	}
	_, err := Write(dir, "r.json", fake{N: 2}, View{Name: "r.md", Bytes: []byte("new")},
		View{Name: "c.png", Save: func(string) error { return errors.New("plot failed") }})
	if err == nil {
		t.Fatal("a failing view must fail the write")
	}
	if got := names(t, dir); !slices.Equal(got, []string{"r.json", "r.md"}) {
		t.Fatalf("dir holds %v after a failed write", got)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "r.md")); string(b) != "old" {
		t.Fatalf("old view replaced by a failed run: %q", b)
	}
}

func TestRepeatedViewNameIsRefused(t *testing.T) {
	dir := t.TempDir()
	if _, err := Write(dir, "r.json", fake{}, View{Name: "r.json"}); err == nil {
		t.Fatal("a view named like the data file must be refused")
	}
	if _, err := Write(dir, "r.json", fake{}, View{Name: "../x"}); err == nil {
		t.Fatal("a view outside dir must be refused")
	}
}

// A header names the machine it was made on, so a reader of several results
// can tell runs on different machines apart; files written before the
// field existed still read.
func TestNewHeaderRecordsTheMachine(t *testing.T) {
	h := NewHeader("kpar.test", 1, nil)
	if h.Machine == nil || h.Machine.Cores < 1 || h.Machine.GoVersion == "" || h.Machine.OS == "" {
		t.Fatalf("machine %+v", h.Machine)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "old.json")
	if err := os.WriteFile(p, []byte(`{"schema":"kpar.test","version":1,"n":3}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var back fake
	if err := Read(p, "kpar.test", 1, &back); err != nil || back.Machine != nil || back.N != 3 {
		t.Fatalf("old file: %v, %+v", err, back)
	}
}

// A build that stamps the revision (the Makefile's -ldflags -X) names it in
// every header, even when the toolchain embedded no VCS data
// (GOFLAGS=-buildvcs=false, which left every result "revision unknown").
func TestStampedRevisionIsTheMachinesKpar(t *testing.T) {
	old := Revision
	t.Cleanup(func() { Revision = old })
	Revision = "0123456789ab+dirty"
	if got := NewHeader("kpar.test", 1, nil).Machine.Kpar; got != "0123456789ab+dirty" {
		t.Fatalf("stamped revision: header says %q", got)
	}
	Revision = ""
	if got := ThisMachine().Kpar; got != buildRevision() {
		t.Fatalf("unstamped: %q, want the build info's %q", got, buildRevision())
	}
}

// The broker a command probed and the fixture mark go into every header
// made after them, and a header is a copy: later changes do not rewrite it.
func TestNewHeaderNamesTheBrokerAndTheFixture(t *testing.T) {
	t.Cleanup(func() { SetBroker(nil) })
	t.Setenv(EnvFixture, "")
	if h := NewHeader("kpar.test", 1, nil); h.Broker != nil || h.Fixture != nil {
		t.Fatalf("nothing set: broker %+v, fixture %+v", h.Broker, h.Fixture)
	}
	SetBroker(&Broker{Version: "4.3.1", Guess: "v4.3"})
	t.Setenv(EnvFixture, "scripts/fixtures.sh")
	h := NewHeader("kpar.test", 1, []string{"kpar", "x"})
	SetBroker(&Broker{Guess: "v9.9"})
	if h.Broker == nil || *h.Broker != (Broker{Version: "4.3.1", Guess: "v4.3"}) {
		t.Fatalf("broker %+v", h.Broker)
	}
	if h.Fixture == nil || h.Fixture.By != "scripts/fixtures.sh" {
		t.Fatalf("fixture %+v", h.Fixture)
	}
	p := filepath.Join(t.TempDir(), "r.json")
	if _, err := Write(filepath.Dir(p), "r.json", fake{Header: h}); err != nil {
		t.Fatal(err)
	}
	var back fake
	if err := Read(p, "kpar.test", 1, &back); err != nil || back.Broker.Version != "4.3.1" || back.Fixture.By != "scripts/fixtures.sh" {
		t.Fatalf("read back: %v, %+v", err, back.Header)
	}
}

// Results keep their own "broker" field (the seeds they used) beside the
// embedded Header: the header's broker version must not be shadowed by it
// in the file (encoding/json drops an embedded field an outer one names).
func TestHeadersKafkaSurvivesAResultsOwnBrokerField(t *testing.T) {
	type result struct {
		Header
		Broker struct {
			Seeds []string `json:"seeds"`
		} `json:"broker"`
	}
	r := result{Header: Header{Schema: "kpar.test", Version: 1, Broker: &Broker{Version: "4.3.1"}}}
	r.Broker.Seeds = []string{"127.0.0.1:9092"}
	p := filepath.Join(t.TempDir(), "r.json")
	if _, err := Write(filepath.Dir(p), "r.json", r); err != nil {
		t.Fatal(err)
	}
	var back result
	if err := Read(p, "kpar.test", 1, &back); err != nil {
		t.Fatal(err)
	}
	if back.Header.Broker == nil || back.Header.Broker.Version != "4.3.1" || len(back.Broker.Seeds) != 1 {
		t.Fatalf("read back: header broker %+v, result's broker %+v", back.Header.Broker, back.Broker)
	}
}

// WriteFile leaves nothing at the path, nor a temporary beside it, when the
// write fails; a complete write is in place, readable by all.
func TestWriteFileIsAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	err := WriteFile(path, func(w io.Writer) error {
		_, _ = w.Write([]byte("half"))
		return errors.New("interrupted")
	})
	if err == nil || !strings.Contains(err.Error(), "--out "+path) {
		t.Fatalf("failed write: %v, want an error naming --out %s", err, path)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("a failed write left %v", ents)
	}
	if err := WriteFile(path, func(w io.Writer) error { _, err := w.Write([]byte("whole")); return err }); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if b, _ := os.ReadFile(path); err != nil || string(b) != "whole" || st.Mode().Perm() != 0o644 {
		t.Fatalf("complete write: %q, %v", b, err)
	}
}
