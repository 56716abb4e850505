package results

import "testing"

// A path under the directory reads by the variable that names it; one beside
// it (a common prefix only) or outside it stays as it is.
func TestLabelNamesAPathUnderTheDirectoryByItsVariable(t *testing.T) {
	for path, want := range map[string]string{
		"/somewhere/kpar/lab-soak":           "$KPAR_HOME/lab-soak",
		"/somewhere/kpar/kafka-4.4.0/libs/*": "$KPAR_HOME/kafka-4.4.0/libs/*",
		"/elsewhere/lab-soak":                "/elsewhere/lab-soak",
		"/somewhere/kpar-other":              "/somewhere/kpar-other",
		"/somewhere":                         "/somewhere",
	} {
		if got := Label(path, "/somewhere/kpar", "$KPAR_HOME"); got != want {
			t.Errorf("Label(%q) = %q, want %q", path, got, want)
		}
	}
}
