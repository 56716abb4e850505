package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenCSVSeedKeepsItsDefaultAndRefusesNegatives(t *testing.T) {
	dir := t.TempDir()
	def, one, two := filepath.Join(dir, "def.csv"), filepath.Join(dir, "one.csv"), filepath.Join(dir, "two.csv")
	for _, args := range [][]string{
		{"gen", "csv", "--rows", "300", "--out", def},
		{"gen", "csv", "--rows", "300", "--seed", "1", "--out", one},
		{"gen", "csv", "--rows", "300", "--seed", "2", "--out", two},
	} {
		if _, err := runKpar(t, args...); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	a, _ := os.ReadFile(def)
	b, _ := os.ReadFile(one)
	c, _ := os.ReadFile(two)
	if len(a) == 0 || !bytes.Equal(a, b) || bytes.Equal(a, c) {
		t.Fatalf("the default seed must be 1 (same bytes as --seed 1, %d and %d bytes) and seed 2 another file", len(a), len(b))
	}
	bad := filepath.Join(dir, "bad.csv")
	if _, err := runKpar(t, "gen", "csv", "--rows", "10", "--seed", "-1", "--out", bad); err == nil || err.Error() != "--seed -1: must be at least 0" {
		t.Fatalf("want the negative seed refused by name, got %v", err)
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Fatalf("a refused seed wrote a file: %v", err)
	}
}

// The broker commands print through cobra's writers, so a caller (a test,
// an embedding program) gets their output.
func TestBrokerCommandsPrintThroughTheCommandsWriters(t *testing.T) {
	t.Setenv("KPAR_HOME", t.TempDir())
	stdout, stderr, err := runKparOutputs(t, "broker", "down")
	if err != nil {
		t.Fatal(err)
	}
	if stdout != "" || !strings.Contains(stderr, "no local broker recorded") {
		t.Fatalf("broker down: stdout %q, stderr %q", stdout, stderr)
	}
}
