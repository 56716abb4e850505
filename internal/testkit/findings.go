package testkit

import (
	"strings"

	"github.com/kpar/kpar/internal/doc"
	"github.com/kpar/kpar/internal/render"
)

// Findings is every finding of d as the renderers write it, one a line: what
// a test of a document's sentences checks with Contains and Lacks.
func Findings(d doc.Doc) string {
	var out []string
	for _, f := range d.Findings() {
		out = append(out, render.Finding(f))
	}
	return strings.Join(out, "\n")
}
