package labrun

import (
	"slices"

	"github.com/kpar/kpar/internal/doc"
)

// Repeats says which of a lab cell's counts a re-run with the same seed
// reproduces (Exact), which move between re-runs (TimingDependent, by the
// count's JSON name) and what moves them (Why).
type Repeats struct {
	Exact           []string `json:"exact"`
	TimingDependent []string `json:"timing_dependent"`
	Why             string   `json:"why"`
}

// Count renders the count name as a table shows it: starred when it is
// timing-dependent.
func (r Repeats) Count(name string, n int) string {
	if slices.Contains(r.TimingDependent, name) {
		return doc.Int(n) + "*"
	}
	return doc.Int(n)
}
