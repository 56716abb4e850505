package testkit

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kpar/kpar/internal/results"
)

// WriteAndRead writes data with its views into a new directory, as a
// command does, and reads the data file back into back (schema and version
// as the package declares them). It returns the names of the files written,
// sorted.
func WriteAndRead(t testing.TB, dataFile, schema string, version int, data, back any, views ...results.View) []string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "out")
	if _, err := results.Write(dir, dataFile, data, views...); err != nil {
		t.Fatal(err)
	}
	if err := results.Read(filepath.Join(dir, dataFile), schema, version, back); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// WriteViews writes every view into a new directory and fails the test when
// one fails or comes out empty. It returns the views' names in order.
func WriteViews(t testing.TB, views ...results.View) []string {
	t.Helper()
	dir := t.TempDir()
	names := make([]string, 0, len(views))
	for _, v := range views {
		p := filepath.Join(dir, v.Name)
		if err := v.WriteFile(p); err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		if st, err := os.Stat(p); err != nil || st.Size() == 0 {
			t.Fatalf("%s: empty or missing (%v)", v.Name, err)
		}
		names = append(names, v.Name)
	}
	return names
}
