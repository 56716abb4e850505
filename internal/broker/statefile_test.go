package broker

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A state file reads back what was written; a missing one is the caller's
// "not up" error, and one of another version is refused naming the file,
// never read as this version.
func TestStateFileRoundTripsAndRefusesMissingAndOtherVersions(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "state.json")
	notUp := errors.New("not up")
	if _, err := ReadStateFile[State](p, StateVersion, notUp); !errors.Is(err, notUp) {
		t.Fatalf("missing file: %v, want the not-up error", err)
	}
	if err := WriteStateFile(p, &State{Version: StateVersion, ClusterID: "c1"}); err != nil {
		t.Fatal(err)
	}
	s, err := ReadStateFile[State](p, StateVersion, notUp)
	if err != nil || s.ClusterID != "c1" {
		t.Fatalf("read back: %+v %v", s, err)
	}
	if _, err := os.Stat(p + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("the temporary file is left: %v", err)
	}
	if err := WriteStateFile(p, &State{Version: StateVersion + 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadStateFile[State](p, StateVersion, notUp); err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "state version") {
		t.Errorf("another version: %v, want a refusal naming %s", err, p)
	}
}
