package report

import (
	"fmt"

	"github.com/kpar/kpar/internal/lab/group/settings"
	"github.com/kpar/kpar/internal/results"
)

var groupSettingsKind = kind{schema: settings.Schema, version: 1, current: settings.SchemaVersion, section: "settings", load: loadGroupSettings}

func loadGroupSettings(path string) (Part, error) {
	var r settings.Result
	if err := results.Read(path, settings.Schema, settings.SchemaVersion, &r); err != nil {
		return Part{}, err
	}
	d := settings.Doc(r)
	p := Part{Doc: &d}
	p.Facts.Seed = fmt.Sprint(r.Seed)
	return p, nil
}
