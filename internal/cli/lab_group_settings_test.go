package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A bad flag fails by name before any broker is looked up: the broker here
// does not exist, so an error about it would mean the flags were checked
// too late.
func TestLabGroupSettingsBadFlagFailsByNameBeforeTheBroker(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown experiment", []string{"--experiments", "reset,rebalance"},
			`--experiments: unknown experiment "rebalance" (valid: reset, autocommit, isolation, pollinterval)`},
		{"no experiment", []string{"--experiments", " , "}, "--experiments: none given"},
		{"twice", []string{"--experiments", "reset,reset"}, "--experiments: reset is named twice"},
		{"few records", []string{"--records", "10"}, "--records 10: must be at least 100"},
		{"negative seed", []string{"--seed", "-1"}, "--seed -1: must not be negative"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "results")
			args := append([]string{"--brokers", "127.0.0.1:1", "lab", "group-settings", "--out", out}, c.args...)
			stdout, err := runKpar(t, args...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want an error containing %q, got %v", c.want, err)
			}
			if strings.Contains(err.Error(), "127.0.0.1:1") || stdout != "" {
				t.Fatalf("a bad flag reached the broker or printed: %v, stdout %q", err, stdout)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatalf("a bad flag created --out: %v", err)
			}
		})
	}
	// The same flags with good values get as far as the broker.
	_, err := runKpar(t, "--brokers", "127.0.0.1:1", "lab", "group-settings", "--experiments", "reset", "--records", "100",
		"--out", filepath.Join(t.TempDir(), "results"))
	if err == nil || !strings.Contains(err.Error(), "broker 127.0.0.1:1 does not answer") {
		t.Fatalf("valid flags: want the unreachable broker named, got %v", err)
	}
}
