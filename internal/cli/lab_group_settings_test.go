package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// A bad flag fails by name before any broker is looked up: the broker here
// does not exist, so an error about it would mean the flags were checked
// too late.
func TestLabGroupSettingsBadFlagFailsByNameBeforeTheBroker(t *testing.T) {
	refusedBeforeTheBroker(t, []string{"lab", "group-settings"}, []badFlag{
		{"unknown experiment", []string{"--experiments", "reset,rebalance"},
			`--experiments: unknown experiment "rebalance" (valid: reset, autocommit, isolation, pollinterval)`},
		{"no experiment", []string{"--experiments", " , "}, "--experiments: none given"},
		{"twice", []string{"--experiments", "reset,reset"}, "--experiments: reset is named twice"},
		{"few records", []string{"--records", "10"}, "--records 10: must be at least 100"},
		{"negative seed", []string{"--seed", "-1"}, "--seed -1: must not be negative"},
	})
	// The same flags with good values get as far as the broker.
	_, err := runKpar(t, "--brokers", "127.0.0.1:1", "lab", "group-settings", "--experiments", "reset", "--records", "100",
		"--out", filepath.Join(t.TempDir(), "results"))
	if err == nil || !strings.Contains(err.Error(), "broker 127.0.0.1:1 does not answer") {
		t.Fatalf("valid flags: want the unreachable broker named, got %v", err)
	}
}
