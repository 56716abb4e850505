package report

import (
	"fmt"

	"github.com/kpar/kpar/internal/lab/soak"
	"github.com/kpar/kpar/internal/results"
)

// Version 1 had no recovery span (observed_sec) and measured recovery
// against an uncapped rate: refused, never misread.
var soakKind = kind{schema: soak.Schema, version: 2, current: soak.SchemaVersion, oldest: 2, section: "soak", load: loadSoak}

func loadSoak(path string) (Part, error) {
	var r soak.Result
	if err := results.Read(path, soak.Schema, soak.SchemaVersion, &r); err != nil {
		return Part{}, err
	}
	d := soak.Doc(r)
	p := Part{Doc: &d}
	p.Facts.Seed = fmt.Sprint(r.Seed)
	return p, nil
}
