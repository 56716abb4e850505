package report

import (
	"fmt"

	"github.com/kpar/kpar/internal/doc"
	"github.com/kpar/kpar/internal/lab/group"
	"github.com/kpar/kpar/internal/lab/groupsettings"
	"github.com/kpar/kpar/internal/results"
)

var (
	labGroupKind = kind{schema: group.Schema, version: 1, current: group.SchemaVersion, section: "group",
		load: seeded(group.Schema, group.SchemaVersion, group.Doc, func(r group.Result) int64 { return r.Seed })}
	groupSettingsKind = kind{schema: groupsettings.Schema, version: 1, current: groupsettings.SchemaVersion, section: "settings",
		load: seeded(groupsettings.Schema, groupsettings.SchemaVersion, groupsettings.Doc, func(r groupsettings.Result) int64 { return r.Seed })}
)

// seeded loads a result of schema and version into its document, with the
// seed it ran from.
func seeded[R any](schema string, version int, toDoc func(R) doc.Doc, seed func(R) int64) func(string) (Part, error) {
	return func(path string) (Part, error) {
		var r R
		if err := results.Read(path, schema, version, &r); err != nil {
			return Part{}, err
		}
		d := toDoc(r)
		p := Part{Doc: &d}
		p.Facts.Seed = fmt.Sprint(seed(r))
		return p, nil
	}
}
