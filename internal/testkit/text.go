package testkit

import (
	"strings"
	"testing"
)

// Contains marks the test failed, and goes on, for each of wants that text
// lacks; what names the text in the message.
func Contains(t testing.TB, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, text)
		}
	}
}

// Lacks marks the test failed, and goes on, for each of gone that text
// holds; what names the text in the message.
func Lacks(t testing.TB, what, text string, gone ...string) {
	t.Helper()
	for _, g := range gone {
		if strings.Contains(text, g) {
			t.Errorf("%s says %q:\n%s", what, g, text)
		}
	}
}
