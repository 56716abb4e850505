package main

import (
	"strings"
	"testing"
)

// The library's exported API differs from parallel/api.txt (the API
// recorded at the last release) only in identifiers named in
// parallel/CHANGELOG.md's "Unreleased" section. Needs no network: the
// package is type-checked from the local build with GOPROXY=off.
func TestLibraryAPIChangesAreInTheChangelog(t *testing.T) {
	cur, err := DumpAll("../../..")
	if err != nil {
		t.Fatal(err)
	}
	// The public sub-packages are covered, after their names.
	for _, want := range []string{"\nNew\tfunc New(", "\nsharegroup.Set\tfunc Set(", "\nsharegroup.AutoOffsetReset\tconst "} {
		if !strings.Contains("\n"+cur, want) {
			t.Errorf("the library's API lacks %q", want[1:])
		}
	}
	if err := Check("../../..", cur); err != nil {
		t.Fatalf("%v\nname each in the changelog's Unreleased section (in backquotes); at a release, record the API with %s", err, updateAdvice)
	}
}

// A removed or changed identifier is reported unless the Unreleased section
// names it (or its type) in backquotes; a mention under an older release
// does not count; an added one is not a change.
func TestUnloggedRemovalOrChangeIsReported(t *testing.T) {
	recorded := "Foo\tfunc Foo()\nStats\ttype Stats struct\nStats.N\tfield int\nBar\tfunc Bar()\n"
	current := "Stats\ttype Stats struct\nStats.N\tfield int64\nBar\tfunc Bar()\nBaz\tfunc Baz()\n"
	changed, added := Diff(recorded, current)
	if len(changed) != 2 || changed[0] != "Foo" || changed[1] != "Stats.N" || len(added) != 1 || added[0] != "Baz" {
		t.Fatalf("Diff: changed %v added %v, want [Foo Stats.N] and [Baz]", changed, added)
	}
	for _, tc := range []struct {
		changelog string
		want      int
	}{
		{"# C\n\n## Unreleased\n\n## 2026-11-30\n- `Foo` and `Stats` changed\n", 2},
		{"# C\n\n## Unreleased\n- `Foo` removed\n\n## 2026-11-30\n", 1},
		{"# C\n\n## Unreleased\n- `Foo` removed; `Stats.N` is an int64\n", 0},
		{"# C\n\n## Unreleased\n- `Foo` removed; `Stats` counts in int64\n", 0},
		{"# C\n\n## Unreleased\n- Foo removed; Stats counts in int64\n", 2},
	} {
		if got := Unmentioned(tc.changelog, changed); len(got) != tc.want {
			t.Errorf("changelog %q: unmentioned %v, want %d", tc.changelog, got, tc.want)
		}
	}
}

// A sub-package's identifier is covered only by a mention with its package's
// name (`sharegroup.Set`, or its type `sharegroup.Partition`): neither the
// package's name alone nor the bare identifier, which would be the root
// package's.
func TestSubPackageChangeNeedsItsQualifiedName(t *testing.T) {
	changed := []string{"sharegroup.Partition.Start", "sharegroup.Set"}
	for _, tc := range []struct {
		changelog string
		want      int
	}{
		{"## Unreleased\n- `sharegroup` changed\n", 2},
		{"## Unreleased\n- `Set` and `Partition` changed\n", 2},
		{"## Unreleased\n- `sharegroup.Set` changed\n", 1},
		{"## Unreleased\n- `sharegroup.Set` and `sharegroup.Partition` changed\n", 0},
	} {
		if got := Unmentioned("# C\n\n"+tc.changelog, changed); len(got) != tc.want {
			t.Errorf("changelog %q: unmentioned %v, want %d", tc.changelog, got, tc.want)
		}
	}
}
