package results

import "fmt"

// Kind is one kind of result, stated once by the package that measures it:
// the schema every file of it names, the version this kpar writes (it
// changes whenever a field changes meaning or disappears; adding a field
// does not) and the data file's name under --out.
type Kind struct {
	Schema  string
	Version int
	File    string
}

// Header starts a header of this kind for the run command reproduces.
func (k Kind) Header(command []string) Header { return NewHeader(k.Schema, k.Version, command) }

// Read loads the data file at path into v after checking that it is of this
// kind at a version this kpar reads (1..k.Version).
func (k Kind) Read(path string, v any) error { return Read(path, k.Schema, k.Version, v) }

// String names the kind as the commands' help does: "kpar.lab.group" version 1.
func (k Kind) String() string { return fmt.Sprintf("%q version %d", k.Schema, k.Version) }
