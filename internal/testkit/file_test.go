package testkit

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFileMakesItsFolders(t *testing.T) {
	dir := t.TempDir()
	p := WriteFile(t, dir, "a/b/c.txt", "body")
	b, err := os.ReadFile(p)
	if err != nil || string(b) != "body" || p != filepath.Join(dir, "a", "b", "c.txt") {
		t.Fatalf("%s: %q, %v", p, b, err)
	}
}
