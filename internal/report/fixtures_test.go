package report

import (
	"io/fs"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Every results file committed under a testdata directory anywhere in the
// repository is a fixture and says so: the mark, the command, kpar's
// revision and the machine that produced it. scripts/fixtures.sh writes
// them all; a file copied in from an ordinary run fails here.
func TestCommittedResultsSayTheyAreFixtures(t *testing.T) {
	root := filepath.Join("..", "..")
	tracked := map[string]bool{}
	if out, err := exec.Command("git", "-C", root, "ls-files", "*.json").Output(); err == nil {
		for _, f := range strings.Fields(string(out)) {
			tracked[filepath.Clean(filepath.Join(root, f))] = true
		}
	}
	n := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "results" || d.Name() == "bin" || strings.HasPrefix(d.Name(), ".") && p != root) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".json") || !strings.Contains(filepath.ToSlash(p), "/testdata/") {
			return nil
		}
		if len(tracked) > 0 && !tracked[filepath.Clean(p)] {
			return nil
		}
		h, err := readHeader(p)
		if err != nil {
			return nil // not a results file
		}
		n++
		switch {
		case h.Fixture == nil || h.Fixture.By != "scripts/fixtures.sh":
			t.Errorf("%s: no fixture mark naming scripts/fixtures.sh (regenerate it with that script)", p)
		case len(h.Command) == 0:
			t.Errorf("%s: no command", p)
		case h.Machine == nil || h.Machine.Kpar == "" || h.Machine.Hostname == "":
			t.Errorf("%s: the machine or kpar's revision is not recorded: %+v", p, h.Machine)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no committed results found under any testdata directory: the walk is broken")
	}
}
