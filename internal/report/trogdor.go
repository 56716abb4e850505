package report

import (
	"fmt"

	"github.com/kpar/kpar/internal/results"
	"github.com/kpar/kpar/internal/trogdor"
)

// The distributed sweep on Trogdor agents belongs with producer scaling:
// its chart draws the agents' curve beside the in-process kpar clients'.
// Version 1 files are refused: their one calibration producer has no place
// in version 2's per-step in-process runs (trogdor.SchemaVersion's note).
var trogdorKind = kind{schema: trogdor.Schema, version: 2, current: trogdor.SchemaVersion, oldest: 2, section: "produce", load: loadTrogdor}

func loadTrogdor(path string) (Part, error) {
	var r trogdor.Result
	if err := results.Read(path, trogdor.Schema, trogdor.SchemaVersion, &r); err != nil {
		return Part{}, err
	}
	d := trogdor.Doc(r)
	p := Part{Doc: &d}
	p.Facts.Seed = fmt.Sprint(r.Seed)
	p.Facts.addVersion("Trogdor", r.TrogdorVersion)
	return p, nil
}
