package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// The flags' boundary: good values get as far as the broker (the refusals
// are in TestEveryCommandNamesABadFlagBeforeAnyBrokerLookup).
func TestLabGroupSettingsGoodFlagsGetAsFarAsTheBroker(t *testing.T) {
	_, err := runKpar(t, "--brokers", "127.0.0.1:1", "lab", "group-settings", "--experiments", "reset", "--records", "100",
		"--out", filepath.Join(t.TempDir(), "results"))
	if err == nil || !strings.Contains(err.Error(), "broker 127.0.0.1:1 does not answer") {
		t.Fatalf("valid flags: want the unreachable broker named, got %v", err)
	}
}
