package cli

import (
	"testing"

	"github.com/kpar/kpar/internal/lab/group"
)

func TestLabGroupFullAndAllSelectTheWholeMatrix(t *testing.T) {
	for _, f := range []*labGroupFlags{
		{Full: true, EventsFlag: "join", AssignorsFlag: "range", ParFlag: "none"},
		{EventsFlag: "all", AssignorsFlag: "all", ParFlag: "all"},
	} {
		f.Config = group.DefaultConfig()
		cfg, err := f.config()
		if err != nil {
			t.Fatal(err)
		}
		if n := len(cfg.Cells()); n != 60 {
			t.Errorf("%+v: %d cells, want 60 (5 events x 6 assignors x plain and parallel)", f, n)
		}
	}
}
