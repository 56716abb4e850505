package report

import (
	"fmt"

	"github.com/kpar/kpar/internal/lab/group"
)

var labGroupKind = kind{schema: group.Schema, version: 1, current: group.SchemaVersion, section: "group", load: loadLabGroup}

func loadLabGroup(path string) (Part, error) {
	r, err := group.Read(path)
	if err != nil {
		return Part{}, err
	}
	d := group.Doc(r)
	p := Part{Doc: &d}
	p.Facts.Seed = fmt.Sprint(r.Seed)
	return p, nil
}
