package results

import (
	"path/filepath"
	"strings"
)

// Label names path as a result records it: under dir as name/..., name being
// the variable that chose dir ("$KPAR_HOME", "$KPAR_CACHE"), so a result
// names no directory of the machine that ran it (a fixture committed with
// kpar included). A path outside dir is kept as it is.
func Label(path, dir, name string) string {
	if rel, err := filepath.Rel(dir, path); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
		return filepath.Join(name, rel)
	}
	return path
}
