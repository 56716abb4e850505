package report

import (
	"fmt"

	"github.com/kpar/kpar/internal/lab/groupsettings"
	"github.com/kpar/kpar/internal/results"
)

var groupSettingsKind = kind{schema: groupsettings.Schema, version: 1, current: groupsettings.SchemaVersion, section: "settings", load: loadGroupSettings}

func loadGroupSettings(path string) (Part, error) {
	var r groupsettings.Result
	if err := results.Read(path, groupsettings.Schema, groupsettings.SchemaVersion, &r); err != nil {
		return Part{}, err
	}
	d := groupsettings.Doc(r)
	p := Part{Doc: &d}
	p.Facts.Seed = fmt.Sprint(r.Seed)
	return p, nil
}
