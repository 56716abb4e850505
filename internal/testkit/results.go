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
