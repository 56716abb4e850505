package cli

import (
	"testing"

	"github.com/kpar/kpar/internal/lab/group"
)

// Every bad flag of `lab group` fails by name, with the valid names where
// there is a list, before any broker is looked up: the broker here does not
// exist, so an error about it would mean the flags were checked too late.
func TestLabGroupBadFlagFailsByNameBeforeTheBroker(t *testing.T) {
	refusedBeforeTheBroker(t, []string{"lab", "group"}, []badFlag{
		{"unknown event", []string{"--events", "join,meteor"}, `--events: unknown event "meteor" (valid: join, leave, kill, restart-static, restart-dynamic)`},
		{"unknown assignor", []string{"--assignors", "eager"}, `--assignors: unknown assignor "eager" (valid: range, roundrobin, sticky, cooperative-sticky, kip848-uniform, kip848-range)`},
		{"unknown parallel assignor", []string{"--parallel", "kip848"}, `--parallel: unknown assignor "kip848"`},
		{"bad cell", []string{"--cell", "join"}, `--cell "join": want event/assignor`},
		{"cell with unknown event", []string{"--cell", "crash/range"}, `--cell: unknown event "crash"`},
		{"no rate", []string{"--rate", "0"}, "--rate 0: must be at least 1"},
		{"event after the stream", []string{"--event-at", "20s"}, "--event-at 20s: must fall inside the stream"},
		{"short session", []string{"--session-timeout", "2s"}, "--session-timeout 2s: must be at least 6s"},
		{"nothing to run", []string{"--assignors", "none", "--parallel", "none"}, "no cell to run"},
		{"unknown settings experiment", []string{"--settings", "reset,bogus"}, `--settings: --experiments: unknown experiment "bogus" (valid: reset, autocommit, isolation, pollinterval)`},
	})
}

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
