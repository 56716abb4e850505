package compare

import (
	"errors"
	"strings"
	"testing"

	"github.com/kpar/kpar/internal/testkit"
)

const goSrc = `package x

// loop is counted whole.
func loop() {
	// a comment: not code

	for {
		break
	}
}

type pool struct {
	n int
}

func (p *pool) close() { p.n = 0 }

func setup() {
	// compare:loc begin lib
	a := 1
	// compare:loc end
	_ = a
	// compare:loc begin lib
	b := 2

	_ = b
	// compare:loc end
}
`

const javaSrc = `class H {
    void run() {
        Props p = new Props();
        p.put("a", 1); // inline comments count as code
        // a comment
        Proc pc = Proc.create(p);
        int unrelated = 0;
        pc.subscribe(t);
        pc.poll(ctx -> {
            work();
        });
    }
}
`

func TestCountLOCCountsMarkedDeclaredAndAnchoredCode(t *testing.T) {
	dir := t.TempDir()
	testkit.WriteFile(t, dir, "x/x.go", goSrc)
	testkit.WriteFile(t, dir, "H.java", javaSrc)
	got, err := CountLOC(dir, []LOCSpec{
		{"markers", "", []Region{{File: "x/x.go", Marker: "lib"}}},
		{"decls", "", []Region{{File: "x/x.go", Decls: []string{"loop", "pool", "pool.close"}}}},
		{"anchors", "", []Region{{File: "H.java", From: "Props p =", To: "Proc pc ="}, {File: "H.java", From: "pc.subscribe(", To: "pc.poll("}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// markers: a := 1; b := 2; _ = b (the line between pairs is out).
	// decls: loop 5 lines of code (func, for, break, two braces), pool 3, close 1.
	// anchors: 3 of the first range (the comment is out), 2 of the second.
	want := map[string]int{"markers": 3, "decls": 9, "anchors": 5}
	for _, l := range got {
		if l.Lines != want[l.Approach] {
			t.Errorf("%s: %d lines (regions %v), want %d", l.Approach, l.Lines, l.Regions, want[l.Approach])
		}
	}
	if r := got[0].Regions; len(r) != 2 || r[0] != "x/x.go:20-20" || r[1] != "x/x.go:24-26" {
		t.Errorf("marker regions %v, want x/x.go:20-20 and 24-26", r)
	}
}

func TestCountLOCFailsOnAMissingRegion(t *testing.T) {
	dir := t.TempDir()
	testkit.WriteFile(t, dir, "x/x.go", goSrc)
	testkit.WriteFile(t, dir, "H.java", javaSrc)
	testkit.WriteFile(t, dir, "open.go", "package x\n// compare:loc begin lib\nvar a = 1\n")
	cases := []struct {
		rg   Region
		want string
	}{
		{Region{File: "x/x.go", Marker: "other"}, `no "// compare:loc begin other"`},
		{Region{File: "open.go", Marker: "lib"}, `has no "// compare:loc end"`},
		{Region{File: "x/x.go", Decls: []string{"loop", "gone"}}, "no declaration gone in x/x.go"},
		{Region{File: "H.java", From: "nothing like this", To: "x"}, `no line "nothing like this" in H.java`},
		{Region{File: "H.java", From: "pc.subscribe(", To: "pc.close("}, `no line "pc.close(" after "pc.subscribe("`},
	}
	for _, tc := range cases {
		_, err := CountLOC(dir, []LOCSpec{{"a", "", []Region{tc.rg}}})
		if !errors.Is(err, ErrLOCRegion) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want ErrLOCRegion naming %q", tc.rg, err, tc.want)
		}
	}
	if _, err := CountLOC(dir, []LOCSpec{{"a", "", []Region{{File: "missing.go", Marker: "lib"}}}}); err == nil {
		t.Error("a missing file counted")
	}
}

// The repository's own regions are all there and count some code: the
// table's row cannot silently turn into zeros when a file is edited.
func TestTheRepositorysRegionsAreFound(t *testing.T) {
	root, err := FindModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	got, err := CountLOC(root, LOCSpecs)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range got {
		if l.Lines < 3 {
			t.Errorf("%s: %d lines from %v", l.Approach, l.Lines, l.Regions)
		}
	}
}
