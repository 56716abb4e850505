package strategy

import "testing"

// A lib-* strategy with @<duration> is the library with that commit
// interval; anything else with an @ is no strategy, so a typo in
// --strategies fails validation instead of running the default.
func TestLibraryVariantsNameACommitIntervalOfALibraryStrategyOnly(t *testing.T) {
	for _, name := range []string{"lib-key@250ms", "lib-partition@1s", "lib-unordered@0", "lib-key@0s"} {
		if _, err := Get(name); err != nil {
			t.Errorf("Get(%q): %v", name, err)
		}
	}
	for _, name := range []string{"lib-key@", "lib-key@fast", "lib-key@-1s", "commit-before@1s", "kpar-share@1s", "pc-key@1s"} {
		if _, err := Get(name); err == nil {
			t.Errorf("Get(%q) accepted a commit interval on something that is not a lib-* strategy, or a bad interval", name)
		}
	}
}
