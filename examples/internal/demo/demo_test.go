package demo

import (
	"strings"
	"testing"
	"time"
)

// A load flag an example registered is refused below 1 (work below 0),
// naming the flag; a field the example has no flag for is not checked; the
// defaults pass, so the check cannot pass by refusing everything.
func TestLoadRefusesOnlyItsOwnFlagsOutOfRange(t *testing.T) {
	given := Load{Records: 100, Concurrency: 10, Work: time.Millisecond}
	for _, tc := range []struct {
		name string
		got  Load
		want string // "" = accepted
	}{
		{"defaults", given, ""},
		{"records 0", Load{Records: 0, Concurrency: 10}, "--records must be at least 1"},
		{"concurrency -1", Load{Records: 1, Concurrency: -1}, "--concurrency must be at least 1"},
		{"work negative", Load{Records: 1, Concurrency: 1, Work: -time.Second}, "--work must not be negative"},
		{"no keys flag", Load{Records: 1, Concurrency: 1, Keys: 0}, ""},
	} {
		err := tc.got.check(given)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
