package testkit

import (
	"strings"
	"testing"
)

// ValidateRefuses checks that Validate accepts good() and good() changed by
// each of accept (the boundary, so that the table cannot pass by refusing
// everything), and refuses good() changed by each edit of refusals with an
// error containing the edit's key (the flag it names), in a subtest each.
func ValidateRefuses[C interface{ Validate() error }](t *testing.T, good func() C, refusals map[string]func(*C), accept ...func(*C)) {
	t.Helper()
	if err := good().Validate(); err != nil {
		t.Errorf("defaults rejected: %v", err)
	}
	for i, edit := range accept {
		c := good()
		edit(&c)
		if err := c.Validate(); err != nil {
			t.Errorf("accepted values #%d rejected: %v", i+1, err)
		}
	}
	for want, edit := range refusals {
		t.Run(want, func(t *testing.T) {
			c := good()
			edit(&c)
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Validate = %v, want an error naming %q", err, want)
			}
		})
	}
}
