package results

import (
	"errors"
	"path/filepath"
	"testing"
)

// A Kind's header and reader use its schema and version: a file of the kind
// reads back, one of another kind or of a newer version is refused.
func TestKindReadsItsOwnFilesOnly(t *testing.T) {
	k := Kind{Schema: "kpar.test", Version: 2, File: "t.json"}
	dir := t.TempDir()
	if _, err := Write(dir, k.File, fake{Header: k.Header([]string{"kpar", "t"}), N: 5}); err != nil {
		t.Fatal(err)
	}
	var back fake
	if err := k.Read(filepath.Join(dir, k.File), &back); err != nil || back.N != 5 || back.Schema != k.Schema || back.Version != 2 {
		t.Fatalf("read back %+v, %v", back, err)
	}
	for _, other := range []Kind{{Schema: "kpar.other", Version: 2}, {Schema: "kpar.test", Version: 1}} {
		if err := other.Read(filepath.Join(dir, k.File), &back); !errors.Is(err, ErrSchema) {
			t.Errorf("%s v%d read a kpar.test v2 file: %v, want ErrSchema", other.Schema, other.Version, err)
		}
	}
	if got := k.String(); got != `"kpar.test" version 2` {
		t.Errorf("String() = %s", got)
	}
}
